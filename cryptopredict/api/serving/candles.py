"""An asset's bars (live minutes, or an artifact's history) ready to aggregate into candles at any
whole multiple of their interval (`cryptopredict.candles`)."""

from __future__ import annotations

import math

from cryptopredict.api.errors import OutOfRangeError, TooManyPointsError, UnsupportedIntervalError
from cryptopredict.api.types.market import DEFAULT_COUNT
from cryptopredict.artifact.history import StoredBars
from cryptopredict.candles import Candles, Interval, aggregate
from cryptopredict.utc import iso_utc, show_epoch

DAY = Interval(1, "d")


def multiple_of(name: str, wanted: Interval, base: Interval) -> Interval:
    if not wanted.is_multiple_of(base):
        finer = "finer than" if wanted.seconds < base.seconds else "no multiple of"
        raise UnsupportedIntervalError(
            f"{name} {wanted} is {finer} the stored {base} bars; use a whole multiple of {base}"
        )
    return wanted


class CandleSource:
    """An asset's bars at one interval (`the {symbol} {kind}`), ready to aggregate."""

    kind = "history"

    def __init__(self, stored: Interval, symbol: str, first_bar: int, last_bar: int) -> None:
        self.stored, self.symbol = stored, symbol
        self.first_bar, self.last_bar = first_bar, last_bar

    def interval(self, wanted: Interval) -> Interval:
        return multiple_of("interval", wanted, self.stored)

    def default_count(self, interval: Interval) -> int:
        return DEFAULT_COUNT

    def check(self, start: float, end: float, *, end_given: bool = True) -> None:
        """OutOfRangeError unless `start` to `end` holds a bar (`end_given`: asked for)."""
        if start > end and not end_given:
            raise OutOfRangeError(
                f"start {show_epoch(start)} is after the last bar of the {self.symbol} "
                f"{self.kind} ({iso_utc(self.last_bar)}); it runs from {iso_utc(self.first_bar)}"
            )
        if start > end:
            raise OutOfRangeError(f"start {show_epoch(start)} is after end {show_epoch(end)}")
        if start > self.last_bar or end < self.first_bar:
            raise OutOfRangeError(
                f"{show_epoch(start)} to {show_epoch(end)} holds no bar; the {self.symbol} "
                f"{self.kind} runs from {iso_utc(self.first_bar)} to {iso_utc(self.last_bar)}"
            )

    def slots(
        self, interval: Interval, start: float, end: float, max_points: int
    ) -> tuple[int, int]:
        """Open times of the first and last candle opening in `[start, end]` with history, at
        most `max_points` candles."""
        first = max(interval.open_time(start, math.ceil), interval.open_time(self.first_bar))
        last = min(interval.open_time(end), interval.open_time(self.last_bar))
        count = max(0, (last - first) // interval.seconds + 1)
        if count > max_points:
            raise TooManyPointsError(
                f"{show_epoch(start)} to {show_epoch(end)} holds {count} {interval} candles; at "
                f"most {max_points} per request, so narrow the range or widen the interval"
            )
        return first, last

    def aggregate(self, interval: Interval, first: int, last: int) -> Candles:
        raise NotImplementedError


class StoredCandles(CandleSource):
    """An artifact's history: whole days or weeks from its daily or weekly candles, finer ones
    from its bars over the days it keeps them whole."""

    def __init__(self, history: StoredBars, stored: Interval, symbol: str) -> None:
        super().__init__(stored, symbol, history.first_bar, history.last_bar)
        self.bars = history

    def aggregate(self, interval: Interval, first: int, last: int) -> Candles:
        bars, stop = self.bars, last + interval.seconds
        serving = (
            table for table in bars.tables if table.serves(interval.seconds, interval.origin)
        )
        table = next(serving, None)
        if table is not None:
            candles, whole = table.rows(first, stop, bars.step)
            period = Interval(table.seconds // DAY.seconds, "d")
            return aggregate(candles, period, interval, whole=whole)
        if max(first, self.first_bar) < bars.whole_from:
            raise OutOfRangeError(
                f"{interval} candles of {self.symbol} open from {iso_utc(bars.whole_from)}: the "
                "artifact keeps the bars whole for the last days only; candles of whole days "
                f"(1d, 1w) cover the history from {iso_utc(self.first_bar)}"
            )
        return aggregate(bars.rows(first, stop), self.stored, interval)
