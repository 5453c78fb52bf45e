"""One asset's forecast, read from its artifact's stored grid: at any instant, and over a range.

Every method takes and gives instants (`instants`): the forecast at instant t is the price at t,
the close of the bar that ends at t; the grid's rows, labelled by the open time of the bar whose
close they forecast, are read through `instants.opening`. The forecast answers from the first
stored bar's close to the data's end (`data_end`, the last bar's close) + the horizon. The
grid's knots sit at the data's interval (`step`) over the hindcast's last 90 days and the
forecast's first 30, two per origin before, a day apart after
(`cryptopredict.artifact.arrays.StoredGrid`); the answers keep the data's interval throughout,
on the regular axis `first + index * step`, and values between knots are interpolated
linearly. Up to the data's end each point is a hindcast (what the pipeline said before that
instant, from an earlier origin), after it the forecast made when the data ended; each holds a
band at every level of `LEVELS`. A range is read at the data's interval or at a coarser
`every`, a whole multiple of it. Every answer is a few reads of memory-mapped arrays: no model
runs here.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

import numpy as np

from cryptopredict.api.errors import OutOfRangeError, TooManyPointsError
from cryptopredict.api.serving.instants import closing, opening
from cryptopredict.api.serving.utc import iso_utc, show_epoch
from cryptopredict.artifact.arrays import band_column
from cryptopredict.artifact.read import Artifact
from cryptopredict.artifact.schema import LEVELS
from cryptopredict.candles import Interval

DAY = 86_400


@dataclass(frozen=True)
class Point:
    prediction: float
    low: float
    high: float
    data_until: int  # the instant the data the answer had seen ended (its origin bar's close)


@dataclass(frozen=True)
class Points:
    ds: np.ndarray  # int64 epoch seconds: instants
    values: np.ndarray  # (len(ds), 3): prediction, low, high
    actual: np.ndarray  # the price at each instant (a bar's close), else NaN


class Forecast:
    """The grid of one artifact; instants are answered from the first bar's close (`first`) to
    `end`: the grid's end, or `max_horizon_days` past the data's end if that comes first."""

    def __init__(self, artifact: Artifact, *, max_horizon_days: float) -> None:
        grid = self.grid = artifact.grid_file
        self.step = step = grid.step
        self.first = closing(grid.first, step)
        self.grid_end = closing(grid.last, step)
        self.interval = Interval.parse(artifact.manifest.interval)  # checked by open_artifact
        self.interval_width = artifact.manifest.interval_width
        self.history = artifact.history
        self.last_bar = self.history.last_bar  # its open time
        self.data_end = closing(self.last_bar, step)
        self.last_close = self.history.last_close
        # The band's settings were chosen on outcomes up to here (None: trained without a
        # backtest, so on none): hindcast points up to it are not out of sample for that choice.
        boundary = artifact.manifest.backtest_boundary
        self.band_chosen_until = (
            None
            if boundary is None
            else closing(int(boundary.last_validation_outcome.timestamp()), step)
        )
        self.end = min(self.grid_end, self.data_end + round(max_horizon_days * DAY))
        self.columns = {
            level: (band_column(level, "lower"), band_column(level, "upper")) for level in LEVELS
        }
        # Memoryviews of the mapped arrays: indexing one returns a Python number in a tenth of
        # the time numpy takes, which matters on the request path.
        self._time = grid.time.data
        self._yhat = grid.yhat.data
        self._band = grid.band.reshape(-1).data
        self._lead = grid.lead.data
        self._width = grid.band.shape[1]
        self._knots = grid.knots

    def ds_of(self, index: np.ndarray) -> np.ndarray:
        return self.first + self.step * np.asarray(index, dtype=np.int64)

    def check(self, name: str, epoch: float) -> None:
        """OutOfRangeError unless the instant `epoch` lies between `first` and `end`."""
        if epoch < self.first:
            raise OutOfRangeError(
                f"{name} {show_epoch(epoch)} is before the history; {self.valid_range()}"
            )
        if epoch > self.end:
            raise OutOfRangeError(
                f"{name} {show_epoch(epoch)} is too far ahead; {self.valid_range()}"
            )

    def valid_range(self) -> str:
        return f"valid dates run from {iso_utc(self.first)} to {iso_utc(self.end)}"

    def at(self, epoch: float, level: int) -> Point:
        """The forecast and the `level`% band at a checked instant `epoch`, interpolated between
        the two knots around it; its data's end is the later of theirs (never after `epoch`)."""
        label = opening(epoch, self.step)
        knot = min(bisect.bisect_right(self._time, label), self._knots) - 1
        low, high = self.columns[level]
        yhat, lower, upper, origin = self._knot(knot, low, high)
        time: int = self._time[knot]
        if label == time or knot + 1 >= self._knots:  # on a knot (the last one included)
            return Point(yhat, lower, upper, closing(origin, self.step))
        fraction = (label - time) / (self._time[knot + 1] - time)
        yhat_after, lower_after, upper_after, origin_after = self._knot(knot + 1, low, high)
        return Point(
            yhat + (yhat_after - yhat) * fraction,
            lower + (lower_after - lower) * fraction,
            upper + (upper_after - upper) * fraction,
            closing(max(origin, origin_after), self.step),
        )

    def _knot(self, knot: int, low: int, high: int) -> tuple[float, float, float, int]:
        """The forecast, the `low` and `high` bounds and the origin (a bar's open time) at
        `knot`."""
        yhat: float = self._yhat[knot]
        row = knot * self._width
        return (
            yhat,
            yhat * math.exp(self._band[row + low]),
            yhat * math.exp(self._band[row + high]),
            self._time[knot] - self._lead[knot],
        )

    def in_history(self, epoch: float) -> bool:
        return self.first <= epoch <= self.data_end

    def band_chosen_later_at(self, epoch: float) -> bool:
        """As `band_chosen_later`, at one instant."""
        until = self.band_chosen_until
        return until is not None and epoch <= min(until, self.data_end)

    def band_chosen_later(self, ds: np.ndarray) -> np.ndarray:
        """Per instant: a hindcast no later than the last outcome the band's settings were
        chosen on, so chosen with hindsight of it."""
        if self.band_chosen_until is None:
            return np.zeros(len(ds), dtype=bool)
        return (ds <= self.band_chosen_until) & (ds <= self.data_end)

    def actual_at(self, epoch: float) -> float | None:
        """The price at a checked instant `epoch` inside the history: the close of the bar that
        ends then, interpolated between two bars' closes between them.

        None in a gap (a bar missing from the history on either side).
        """
        label = opening(epoch, self.step)
        history = self.history
        opened = history.first_bar + math.floor((label - history.first_bar) / self.step) * self.step
        before = history.close_at(opened) if opened <= history.last_bar else None
        if before is None or label == opened:
            return before
        following = history.close_at(opened + self.step) if opened < history.last_bar else None
        if following is None:
            return None
        return before + (following - before) * (label - opened) / self.step

    def count(self, start: float, end: float) -> int:
        """How many points of the axis lie in `[start, end]`."""
        return max(0, self._last_index(end) - self._first_index(start) + 1)

    def series(
        self, start: float, end: float, max_points: int, level: int, every: Interval | None = None
    ) -> Points:
        """Every instant of the axis in `[start, end]` (both checked) with its `level`% band, at
        most `max_points` of them; with `every` (a whole multiple of the grid's interval), only
        the instants that open an `every` bar: every day's 00:00 UTC for `1d`, as candles of
        that width open."""
        if every is None:
            first, count, stride = self._first_index(start), self.count(start, end), 1
        else:
            opens = every.open_time(start, math.ceil)
            first = self._first_index(opens)
            count = max(0, (every.open_time(end) - opens) // every.seconds + 1)
            stride = every.seconds // self.step
        if count > max_points:
            raise TooManyPointsError(
                f"{iso_utc(start)} to {iso_utc(end)} holds {count} points "
                f"{every or self.interval} apart; at most {max_points} per request, so narrow "
                "the range or ask for a coarser step"
            )
        ds = self.ds_of(first + stride * np.arange(count))
        return Points(ds, self.values_at(ds, level), self._actual(ds))

    def values_at(self, ds: np.ndarray, level: int) -> np.ndarray:
        """Prediction, low and high at each of the instants `ds` (checked: answered),
        interpolated between the knots around it, as `at` gives them one at a time."""
        return self.grid.values_at(opening(np.asarray(ds), self.step), level)

    def band_ratios(self, leads: np.ndarray, level: int) -> np.ndarray:
        """The `level`% band's bounds `leads` seconds (each up to `end - data_end`) after the
        data's end, as ratios to the point forecast there: the band the model issued for that
        lead. Below one bar, the first bar's, its log distances shrunk as sqrt(lead)."""
        step = self.step
        values = self.values_at(self.data_end + np.maximum(leads, step), level)
        logs = np.log(values[:, 1:] / values[:, :1])
        shrink = np.sqrt(np.clip(np.asarray(leads) / step, 0.0, 1.0))
        return np.exp(logs * shrink[:, None])

    def _first_index(self, epoch: float) -> int:
        return math.ceil((epoch - self.first) / self.step)

    def _last_index(self, epoch: float) -> int:
        return math.floor((epoch - self.first) / self.step)

    def _actual(self, ds: np.ndarray) -> np.ndarray:
        """The price at each of the instants `ds` where a bar closes then, else NaN."""
        return self.history.closes_at(opening(ds, self.step))
