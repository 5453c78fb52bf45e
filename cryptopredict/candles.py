"""Bar intervals and candles with numpy alone, shared by training and serving. An interval is a
whole number of minutes, hours, days or weeks (`1m`, `4h`, `1d`, `1w`); its bars open at its
multiples from the epoch (weeks: on Monday 00:00 UTC). A candle's open is its first bar's, its
high the max, low the min, close the last, volume the sum, VWAP the volume-weighted mean (the
plain mean when nothing traded); `complete` when every bar of its period is there.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from cryptopredict.artifact.arrays import BarHistory
from cryptopredict.artifact.schema import INTERVAL_PATTERN, UNIT_SECONDS

WEEK_ORIGIN = 4 * 86_400  # 1970-01-05, the first Monday after the epoch (a Thursday)
_FORM = re.compile(INTERVAL_PATTERN, re.ASCII)


class IntervalError(ValueError):
    pass


@dataclass(frozen=True)
class Interval:
    amount: int
    unit: str  # m, h, d or w

    @classmethod
    def parse(cls, text: str | Interval) -> Interval:
        if isinstance(text, Interval):
            return text
        label = text.strip().lower()
        if not _FORM.fullmatch(label):
            raise IntervalError(
                f"{text[:16]!r} is not an interval; use a whole number and a unit m, h, d or w, "
                "e.g. 1h, 4h, 1d or 1w"
            )
        return cls(int(label[:-1]), label[-1])

    @property
    def label(self) -> str:
        return f"{self.amount}{self.unit}"

    @property
    def seconds(self) -> int:
        return self.amount * UNIT_SECONDS[self.unit]

    @property
    def delta(self) -> timedelta:
        return timedelta(seconds=self.seconds)

    @property
    def origin(self) -> int:
        """An instant (epoch seconds) that bars of this interval open at."""
        return WEEK_ORIGIN if self.unit == "w" else 0

    def is_multiple_of(self, base: Interval) -> bool:
        return self.seconds % base.seconds == 0

    def open_times(self, ds: np.ndarray) -> np.ndarray:
        """The open time of the bar of this interval holding each of `ds` (int64 epoch seconds)."""
        return self.origin + (ds - self.origin) // self.seconds * self.seconds

    def open_time(self, epoch: float, rounding: Callable[[float], int] = math.floor) -> int:
        """The open time of the bar holding `epoch` (rounding up: of the first at or after it)."""
        return self.origin + rounding((epoch - self.origin) / self.seconds) * self.seconds

    def __str__(self) -> str:
        return self.label


def span_name(hours: int) -> str:
    """A span of whole hours as its horizons are named: `1d` for 24, `36h` for 36."""
    return f"{hours // 24}d" if hours % 24 == 0 else f"{hours}h"


@dataclass(frozen=True, eq=False, kw_only=True)
class Candles(BarHistory):
    """Bars of a wider interval, each with whether every bar of its period is there."""

    complete: np.ndarray


def aggregate(
    bars: BarHistory, base: Interval, target: Interval, *, whole: np.ndarray | None = None
) -> Candles:
    """`target` candles of `base` bars; IntervalError unless `target` is a whole multiple of
    `base`. `whole`: per bar, whether it is a complete candle of finer bars itself."""
    if not target.is_multiple_of(base):
        finer = "finer than" if target.seconds < base.seconds else "no multiple of"
        raise IntervalError(
            f"interval {target} is {finer} the {base} bars; use a whole multiple of {base}"
        )
    opens = target.open_times(bars.ds)
    if not len(opens):
        none = {name: np.empty(0) for name in BarHistory.names()[1:]}  # but `ds`
        return Candles(ds=opens, **none, complete=np.empty(0, dtype=bool))
    starts = np.flatnonzero(np.r_[True, opens[1:] != opens[:-1]])
    ends = np.append(starts[1:], len(opens))
    counts = ends - starts
    # The VWAP: the volume-weighted mean of the bars' (the plain mean where nothing traded), the
    # weights the volumes over the candle's largest, so no product underflows (raw subnormal
    # volumes gave a VWAP below the bar's low).
    largest = np.maximum.reduceat(bars.volume, starts)
    traded = largest > 0
    weight = bars.volume / np.repeat(np.where(traded, largest, 1.0), counts)
    mean = np.add.reduceat(bars.vwap, starts) / counts
    weighted = np.add.reduceat(bars.vwap * weight, starts)
    total = np.add.reduceat(weight, starts)
    return Candles(
        ds=opens[starts],
        open=bars.open[starts],
        high=np.maximum.reduceat(bars.high, starts),
        low=np.minimum.reduceat(bars.low, starts),
        close=bars.close[ends - 1],
        volume=np.add.reduceat(bars.volume, starts),
        vwap=np.divide(weighted, total, out=mean, where=traded),
        complete=(counts == target.seconds // base.seconds)
        & (True if whole is None else np.logical_and.reduceat(whole, starts)),
    )


# The candles an artifact keeps of the whole history (`artifact.history.TABLES`).
KEPT = {"week": Interval(1, "w"), "day": Interval(1, "d")}


def kept_candles(bars: BarHistory, base: Interval) -> dict[str, tuple[Candles, np.ndarray]]:
    """The day and week candles an artifact keeps of `base` bars (none for bars that do not
    divide a day), each with how many bars it holds."""
    day = KEPT["day"].seconds
    if base.seconds >= day or day % base.seconds:
        return {}
    kept = {}
    for name, period in KEPT.items():
        _, counts = np.unique(period.open_times(np.asarray(bars.ds)), return_counts=True)
        kept[name] = (aggregate(bars, base, period), counts)
    return kept
