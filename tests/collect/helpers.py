"""Shared pieces of the collector's tests: a clock the test moves, a collector wired to local
servers, and ways to watch the database and the logs."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import sys
import time
from pathlib import Path

from cryptopredict.assets import configured_assets
from cryptopredict.collect.collector import Backoff, BinanceCollector
from cryptopredict.collect.writer import MinuteWriter
from cryptopredict.config import CollectorSettings
from cryptopredict.minutes.bars import MINUTE, MinuteBar
from cryptopredict.minutes.store import MinuteStore, StoreError

ROOT = Path(__file__).resolve().parents[2]
BTC, ETH = configured_assets("btc-usd,eth-usd")


class Clock:
    """The collector's clock, moved by the test (or by the fake exchange's script, so that the
    exchange's present and the collector's agree)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def running(self, bar: MinuteBar, seconds: float = 30.0):
        """A script step: the clock moves into `bar`'s minute."""

        def step() -> None:
            self.now = bar.ts + seconds

        return step


class Sleeps:
    """An injected sleep that records each wait and returns at once; it cancels the run after
    `limit` waits."""

    def __init__(self, limit: int | None = None) -> None:
        self.waits: list[float] = []
        self.limit = limit

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.limit is not None and len(self.waits) >= self.limit:
            raise asyncio.CancelledError
        await asyncio.sleep(0)


def run_to_the_end(collector: BinanceCollector, timeout: float = 30.0) -> None:
    """Run `collector` until it stops by itself (a `Sleeps` cancels it); fails on a timeout."""

    async def main() -> None:
        await asyncio.wait_for(collector.run(), timeout)

    with contextlib.suppress(asyncio.CancelledError):
        asyncio.run(main())


def collector_for(
    url: str,
    fake,
    clock: Clock,
    assets=(BTC,),
    *,
    timeout: float = 5.0,
    **kwargs,
) -> tuple[BinanceCollector, MinuteWriter]:
    settings = CollectorSettings(
        database_url=url, binance_ws_url=fake.ws_url, binance_api_url=fake.api_url
    )
    store = MinuteStore.open(url, timeout=timeout)
    writer = MinuteWriter(store, settings.minute_retention_days, clock=clock)
    kwargs.setdefault("backoff", Backoff(first=0.05, cap=0.4))
    return BinanceCollector(list(assets), writer, settings, **kwargs), writer


def shifted_to(bars: list[MinuteBar], last_open: int, source: str = "binance") -> list[MinuteBar]:
    """Real minutes moved, whole minutes and prices untouched, so that the last opens at
    `last_open`; labelled as the exchange's."""
    offset = last_open - bars[-1].ts
    return [dataclasses.replace(bar, ts=bar.ts + offset, source=source) for bar in bars]


def minutes_ago(count: int) -> int:
    """Open time of the minute `count` minutes before the one running now."""
    return (int(time.time()) // MINUTE - count) * MINUTE


def stored(url: str, asset: str = "btc-usd") -> list[tuple]:
    with MinuteStore.open(url, create=False) as store:
        return store.bars(asset, 0, 2**40)


def count(url: str, asset: str = "btc-usd") -> int:
    """How many minutes of `asset` are stored; 0 while the database cannot be read."""
    try:
        with MinuteStore.open(url, create=False) as store:
            window = store.window(asset)
    except StoreError:  # not created yet, or down
        return 0
    return 0 if window is None else window.count


def newest(url: str, asset: str = "btc-usd") -> int | None:
    try:
        with MinuteStore.open(url, create=False) as store:
            return store.last_minute(asset)
    except StoreError:  # not created yet, or down
        return None


def ohlcv(bars) -> list[tuple]:
    return [(b.ts, b.open, b.high, b.low, b.close, b.volume) for b in bars]


def wait_for(condition, timeout=30.0, what="the condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def collector_env(fake, database_url: str, **extra: str) -> dict[str, str]:
    """The environment of `python -m cryptopredict.collect` against the fake exchange."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "BINANCE_WS_URL": fake.ws_url,
        "BINANCE_API_URL": fake.api_url,
        "ASSETS": "btc-usd",
        "PYTHONPATH": str(ROOT),
        **extra,
    }


COLLECTOR = [sys.executable, "-m", "cryptopredict.collect"]
