"""An asset's bars ready to aggregate into candles at any whole multiple of their interval, by
the domain core (`cryptopredict.candles`): an artifact's history, or live minutes."""

from __future__ import annotations

import math

import numpy as np

from cryptopredict.api.errors import OutOfRangeError, TooManyPointsError
from cryptopredict.api.query import multiple_of
from cryptopredict.api.serving.utc import iso_utc, show_epoch
from cryptopredict.artifact.arrays import BarHistory
from cryptopredict.artifact.history import StoredBars
from cryptopredict.candles import Candles, Interval, aggregate


class CandleSource:
    """Bars at one interval, ready to aggregate: an artifact's history, or live minutes."""

    def __init__(self, history: StoredBars | BarHistory, stored: Interval, symbol: str) -> None:
        self.stored = stored
        self.symbol = symbol
        self.history = history
        self.first_bar = int(self.history.ds[0])
        self.last_bar = int(self.history.ds[-1])

    def interval(self, wanted: Interval) -> Interval:
        """`wanted`; UnsupportedIntervalError unless it is a multiple of the stored interval."""
        return multiple_of("interval", wanted, self.stored)

    def check(self, start: float, end: float, *, end_given: bool = True) -> None:
        """OutOfRangeError unless `start` to `end` holds a bar; `end_given`: whether the
        request named `end` (else it is the last bar, and the error says so)."""
        if start > end and not end_given:
            raise OutOfRangeError(
                f"start {show_epoch(start)} is after the last bar of the {self.symbol} history "
                f"({iso_utc(self.last_bar)}); it runs from {iso_utc(self.first_bar)}"
            )
        if start > end:
            raise OutOfRangeError(f"start {show_epoch(start)} is after end {show_epoch(end)}")
        if start > self.last_bar or end < self.first_bar:
            raise OutOfRangeError(
                f"{show_epoch(start)} to {show_epoch(end)} holds no bar; the {self.symbol} "
                f"history runs from {iso_utc(self.first_bar)} to {iso_utc(self.last_bar)}"
            )

    def slots(self, interval: Interval, start: float, end: float) -> tuple[int, int]:
        """Open times of the first and last candle that opens in `[start, end]` and holds
        history (the first after the last when none does)."""
        first = max(interval.open_time(start, math.ceil), interval.open_time(self.first_bar))
        last = min(interval.open_time(end), interval.open_time(self.last_bar))
        return first, last

    def aggregate(self, interval: Interval, first: int, last: int) -> Candles:
        """The candles opening from `first` to `last` (open times), each with all its bars."""
        lo, hi = np.searchsorted(self.history.ds, [first, last + interval.seconds])
        return aggregate(self.history.rows(int(lo), int(hi)), self.stored, interval)


def check_count(
    first: int, last: int, interval: Interval, *, start: float, end: float, max_points: int
) -> None:
    """TooManyPointsError when more than `max_points` candles open from `first` to `last`."""
    count = max(0, (last - first) // interval.seconds + 1)
    if count > max_points:
        raise TooManyPointsError(
            f"{show_epoch(start)} to {show_epoch(end)} holds {count} {interval} candles; at most "
            f"{max_points} per request, so narrow the range or widen the interval"
        )
