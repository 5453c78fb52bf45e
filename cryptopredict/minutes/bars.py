"""What the market feed stores: checked closed minute bars, each asset's latest price, and how
the feed's polls went."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

MINUTE = 60  # seconds


class MalformedBarError(ValueError):
    pass


@dataclass(frozen=True)
class MinuteBar:
    asset: str  # slug, e.g. "btc-usd"
    ts: int  # open time, epoch seconds, a whole minute
    open: float
    high: float
    low: float
    close: float
    volume: float  # base volume
    vwap: float  # quote volume / base volume; the typical price when nothing traded
    source: str  # "binance", "alpaca" or "replay"
    shift: int = 0  # seconds a replay moved the open time from when the minute traded

    def __post_init__(self) -> None:
        prices = (self.open, self.high, self.low, self.close, self.vwap)
        problems = []
        if self.ts % MINUTE:
            problems.append(f"open time {self.ts} is not a whole minute")
        if not all(math.isfinite(value) and value > 0 for value in prices):
            problems.append(f"prices must be finite and positive, got {prices}")
        elif not self.low <= min(self.open, self.close) <= max(self.open, self.close) <= self.high:
            problems.append(
                f"low {self.low} <= open {self.open}, close {self.close} <= high {self.high} fails"
            )
        if not (math.isfinite(self.volume) and self.volume >= 0):
            problems.append(f"volume must be finite and not negative, got {self.volume}")
        if problems:
            raise MalformedBarError(f"{self.asset} bar: " + "; ".join(problems))

    @classmethod
    def build(
        cls,
        asset: str,
        ts: int,
        *ohlcv: float,
        quote_volume: float | None,
        source: str,
        shift: int = 0,
    ) -> MinuteBar:
        """A bar whose VWAP is quote over base volume, or without them the typical price."""
        open_, high, low, close, volume = ohlcv
        if quote_volume is not None and volume > 0:
            # Rounding in the exchange's decimal strings can put it a hair outside the range.
            vwap = min(max(quote_volume / volume, low), high)
        else:
            vwap = (high + low + close) / 3
        return cls(asset, ts, open_, high, low, close, volume, vwap, source, shift)


@dataclass(frozen=True)
class Quote:
    asset: str  # slug
    source: str  # the exchange
    at: int  # epoch seconds it is the price at
    price: float


@dataclass(frozen=True)
class FeedStatus:
    sources: tuple[str, ...]  # the exchanges it polls, in the order it tries them
    last_success: int | None = None  # epoch seconds
    last_error: str | None = None
    last_error_at: int | None = None
    failing_since: int | None = None  # None while the last poll succeeded

    def stopped(self, failing_after: float, now: float) -> bool:
        """No poll recorded, failed or not, for longer than `failing_after` seconds since the
        last success: the feed's process (or thread) has stopped."""
        return self.failing_since is None and now - (self.last_success or now) > failing_after


def stamp(ts: int) -> str:
    """ISO UTC minutes, for logs."""
    return time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime(ts))
