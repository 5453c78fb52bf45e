"""A graceful stop: `serve` runs Waitress's own loop (`server.run()`) until SIGTERM or SIGINT,
then drains it.

On the signal the server stops listening, once the connections already waiting in its listen
queue are taken in; every request received is answered, with `Connection: close`; an idle
kept-alive connection is closed once it has stayed idle for a moment (a request its client
sent just before it learnt of the stop is answered); the loop returns once no connection is
left, or after `DRAIN_SECONDS`, when the connections still busy are cut.

While it serves, nothing of this runs. The signal handler only wakes the loop (`Connections.
wake`), so the drain starts at a safe point between two turns of the loop, and its steps run
there too. How each step touches Waitress is `connections.py`'s business.
"""

from __future__ import annotations

import logging
import signal
import time
from types import FrameType

from cryptopredict.api.connections import Connections, Server

DRAIN_SECONDS = 4.0

log = logging.getLogger("api")


def serve(server: Server, connections: Connections) -> None:
    """Run `server` until SIGTERM or SIGINT, then drain it."""
    drain = Drain(connections)
    signal.signal(signal.SIGTERM, drain.request)
    signal.signal(signal.SIGINT, drain.request)
    server.run()  # returns once the drain has emptied the socket map
    drain.close()
    log.info("stopped")


class Drain:
    """When to start the drain and when it is over, on `connections`' loop."""

    def __init__(self, connections: Connections) -> None:
        self.connections = connections
        self.signal: str | None = None
        self.deadline = 0.0
        self.finished = False
        self.triggers: list = []
        connections.on_wake = self._woken
        connections.on_tick = self._check

    def request(self, signum: int, _frame: FrameType | None) -> None:
        """The signal handler: note the signal and wake the loop (nothing else is safe here)."""
        if self.signal is None:
            self.signal = signal.Signals(signum).name
            self.connections.wake()

    def close(self) -> None:
        """After the loop: stop the request threads, then close the triggers they pull."""
        self.connections.stop_threads(self.triggers)

    def _woken(self) -> None:
        if self.finished:
            busy = self.connections.busy()
            if busy:
                log.warning(
                    "closing %d connections still busy after %.0f s", len(busy), DRAIN_SECONDS
                )
            self.triggers = self.connections.stop()
        elif not self.deadline:
            log.info("%s: finishing the requests in flight, then stopping", self.signal)
            self.deadline = time.monotonic() + DRAIN_SECONDS
            self.connections.drain()

    def _check(self, now: float) -> None:
        """Before each wait of the loop, while draining: wake it to stop once no connection is
        left or time is up."""
        over = not self.connections.channels or now >= self.deadline
        if self.deadline and not self.finished and over:
            self.finished = True
            self.connections.wake()
