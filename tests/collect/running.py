"""Drive the collector's asyncio loop from a synchronous test."""

from __future__ import annotations

import asyncio
import contextlib
import time


def run_until(collector, condition, timeout=20.0) -> None:
    """Run `collector` until `condition()` holds (re-raising its error if it stops), then
    cancel it."""

    async def main():
        task = asyncio.ensure_future(collector.run())
        deadline = time.monotonic() + timeout
        try:
            while not condition():
                if task.done():
                    task.result()
                assert time.monotonic() < deadline, "timed out"
                await asyncio.sleep(0.05)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    asyncio.run(main())
