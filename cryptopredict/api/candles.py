"""Candles from an artifact's history, with numpy alone: OHLCV and VWAP at any interval that is
a whole multiple of the stored one.

A candle holds the bars from its open time up to the next candle's: open = first, high = max,
low = min, close = last, volume = sum, VWAP = sum(bar VWAP * volume) / sum(volume), or the plain
mean of the bar VWAPs when nothing traded. It is `complete` when every bar of its period is
there. Open times are multiples of the interval counted from 1970-01-01 00:00 UTC (so `1d` is
the UTC day and `4h` starts at 00:00, 04:00, ...), except weeks (`w`), which open on Monday
00:00 UTC, as exchanges count weeks and as training's candles do (pandas' `W-MON` with
`closed="left", label="left"`). Empty periods (gaps in the history) give no candle.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from cryptopredict.api.errors import BadRequestError, UnsupportedIntervalError
from cryptopredict.artifact import HISTORY_ARRAYS, Artifact, ArtifactError

UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}
WEEK_ORIGIN = 4 * 86_400  # 1970-01-05, the first Monday after the epoch
DEFAULT_COUNT = 90  # candles answered when no `start` is given
PATTERN = r"^[1-9][0-9]{0,5}[mhdw]$"
_FORM = re.compile(PATTERN, re.ASCII)


@dataclass(frozen=True)
class Interval:
    label: str
    seconds: int
    origin: int  # an instant candles open at


def parse_interval(text: str) -> Interval:
    """`1h`, `4h`, `1d`, `1w`...; BadRequestError says what a malformed one should look like."""
    label = text.strip().lower()
    if not _FORM.match(label):
        raise BadRequestError(
            f"interval={text[:16]!r} is not an interval; use a whole number and a unit m, h, d "
            "or w, e.g. 1h, 4h, 1d or 1w"
        )
    unit = label[-1]
    return Interval(label, int(label[:-1]) * UNIT_SECONDS[unit], WEEK_ORIGIN if unit == "w" else 0)


@dataclass(frozen=True)
class Candles:
    ds: np.ndarray  # open time of each candle, epoch seconds
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    vwap: np.ndarray
    complete: np.ndarray  # bool


class CandleSource:
    """One artifact's history, ready to aggregate."""

    def __init__(self, artifact: Artifact) -> None:
        try:
            self.stored = parse_interval(str(artifact.manifest["interval"]))
        except BadRequestError as error:
            raise ArtifactError(f"{artifact.path}: the manifest's interval: {error}") from None
        self.history = artifact.history
        self.first_bar = int(self.history["ds"][0])
        self.last_bar = int(self.history["ds"][-1])

    def interval(self, text: str) -> Interval:
        """The parsed `text`; UnsupportedIntervalError unless it is a multiple of the stored one."""
        wanted = parse_interval(text)
        if wanted.seconds % self.stored.seconds:
            finer = "finer than" if wanted.seconds < self.stored.seconds else "no multiple of"
            raise UnsupportedIntervalError(
                f"interval {wanted.label} is {finer} the stored {self.stored.label} bars; use a "
                f"whole multiple of {self.stored.label}"
            )
        return wanted

    def slots(self, interval: Interval, start: float, end: float) -> tuple[int, int]:
        """Open times of the first and last candle that opens in `[start, end]` and holds
        history (the first after the last when none does)."""
        first = max(open_time(interval, start, math.ceil), open_time(interval, self.first_bar))
        last = min(open_time(interval, end), open_time(interval, self.last_bar))
        return first, last

    def aggregate(self, interval: Interval, first: int, last: int) -> Candles:
        """The candles opening from `first` to `last` (open times), each with all its bars."""
        lo, hi = np.searchsorted(self.history["ds"], [first, last + interval.seconds])
        bars = {name: self.history[name][lo:hi] for name in HISTORY_ARRAYS}
        if not len(bars["ds"]):
            return Candles(*[bars[name] for name in HISTORY_ARRAYS], np.empty(0, dtype=bool))
        opens = _open_times(interval, bars["ds"])
        starts = np.flatnonzero(np.r_[True, opens[1:] != opens[:-1]])
        ends = np.append(starts[1:], len(opens))
        counts = ends - starts
        volume = np.add.reduceat(bars["volume"], starts)
        notional = np.add.reduceat(bars["vwap"] * bars["volume"], starts)
        traded = volume > 0
        mean = np.add.reduceat(bars["vwap"], starts) / counts
        return Candles(
            ds=opens[starts],
            open=bars["open"][starts],
            high=np.maximum.reduceat(bars["high"], starts),
            low=np.minimum.reduceat(bars["low"], starts),
            close=bars["close"][ends - 1],
            volume=volume,
            vwap=np.where(traded, notional / np.where(traded, volume, 1.0), mean),
            complete=counts == interval.seconds // self.stored.seconds,
        )


def _open_times(interval: Interval, ds: np.ndarray) -> np.ndarray:
    return interval.origin + (ds - interval.origin) // interval.seconds * interval.seconds


def open_time(
    interval: Interval, epoch: float, rounding: Callable[[float], int] = math.floor
) -> int:
    """The open time of the candle holding `epoch` (rounding up: of the first at or after it)."""
    steps = rounding((epoch - interval.origin) / interval.seconds)
    return interval.origin + steps * interval.seconds
