"""Shared pieces of the market feed's tests: a clock the test moves, a feed wired to local
servers, and ways to watch the database."""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from pathlib import Path

from cryptopredict.assets import configured_assets
from cryptopredict.collect.exchanges import Binance
from cryptopredict.collect.feed import Backoff, Exchange, Feed, MinuteWriter
from cryptopredict.minutes.bars import MINUTE, MinuteBar
from cryptopredict.minutes.store import MinuteStore, StoreError

ROOT = Path(__file__).resolve().parents[2]
BTC, ETH = configured_assets("btc-usd,eth-usd")


class Clock:
    """The feed's clock (and the fake exchange's), moved by the test."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def feed_for(
    url: str,
    clock: Clock,
    exchanges: list[Exchange],
    assets=(BTC,),
    *,
    priced=None,
    timeout: float = 5.0,
) -> Feed:
    """A feed of `assets` into `url`, on `clock`, its backoff short."""
    store = MinuteStore.open(url, timeout=timeout)
    writer = MinuteWriter(store, 30.0, clock=clock)
    return Feed(
        exchanges,
        writer,
        list(assets),
        priced or (lambda: list(assets)),
        backoff=Backoff(first=0.05, cap=0.4),
    )


def binance(fake) -> Binance:
    return Binance(fake.url, timeout=5.0)


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


def newest(url: str, asset: str = "btc-usd") -> int | None:
    try:
        with MinuteStore.open(url, create=False) as store:
            window = store.windows(asset).get(asset)
            return None if window is None else window.last
    except StoreError:  # not created yet, or down
        return None


def ohlcv(bars) -> list[tuple]:
    return [(b.ts, b.open, b.high, b.low, b.close, b.volume) for b in bars]


def collector_env(fake, database_url: str, **extra: str) -> dict[str, str]:
    """The environment of `python -m cryptopredict.collect` against the fake exchange."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "LATEST_PRICES": f"binance={fake.url}",
        "ASSETS": "btc-usd",
        "PYTHONPATH": str(ROOT),
        **extra,
    }


COLLECTOR = [sys.executable, "-m", "cryptopredict.collect"]
