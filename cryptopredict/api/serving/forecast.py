"""One asset's forecast, read from its artifact's grid: at any instant, and over a range.

The grid reaches from the first stored bar to the last bar + the horizon, at the data's
interval: its points sit on the regular axis `first + index * step`, and values between two
points are interpolated linearly. Up to the last bar each point is a hindcast (what the pipeline
said before that bar, from an earlier origin), after it the forecast made at the last bar; each
holds a band at every level of `LEVELS`. A range is read at the grid's own spacing or at a coarser
`every`, a whole multiple of it. Every answer is a few array reads: no model runs here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cryptopredict.api.errors import OutOfRangeError, TooManyPointsError
from cryptopredict.api.serving.utc import iso_utc, show_epoch
from cryptopredict.artifact import LEVELS, Artifact, ArtifactError
from cryptopredict.candles import Interval, IntervalError

DAY = 86_400


@dataclass(frozen=True)
class Point:
    prediction: float
    low: float
    high: float
    origin: int  # the time of the last bar the answer had seen


@dataclass(frozen=True)
class Points:
    ds: np.ndarray  # int64 epoch seconds
    values: np.ndarray  # (len(ds), 3): prediction, low, high
    actual: np.ndarray  # close where a bar exists at ds, else NaN


class Forecast:
    """The grid of one artifact; dates are answered from the first grid point to `end`: the
    grid's end, or `max_horizon_days` past the last bar if that comes first."""

    def __init__(self, artifact: Artifact, *, max_horizon_days: float) -> None:
        grid = artifact.grid
        self.first = int(grid.ds[0])
        self.step = int(grid.ds[1] - grid.ds[0])
        if not np.all(np.diff(grid.ds) == self.step):
            raise ArtifactError(f"{artifact.path}: the grid is not evenly spaced")
        self.grid_end = int(grid.ds[-1])
        try:
            self.interval = Interval.parse(artifact.manifest.interval)
        except IntervalError as error:
            raise ArtifactError(f"{artifact.path}: the manifest's interval: {error}") from None
        if self.interval.seconds != self.step:
            raise ArtifactError(
                f"{artifact.path}: the grid's points are {self.step} s apart, not the "
                f"manifest's {self.interval}"
            )
        self.size = len(grid.ds)
        self.yhat, self.origin = grid.yhat, grid.origin
        self.bands = {level: (grid.lower(level), grid.upper(level)) for level in LEVELS}
        self.interval_width = artifact.manifest.interval_width
        history_ds = artifact.history.ds
        self.close = artifact.history.close
        self.last_bar = int(history_ds[-1])
        self.end = min(self.grid_end, self.last_bar + round(max_horizon_days * DAY))
        # The history bar at each grid index (-1 where a bar is missing): the close at any
        # instant is then two array reads away.
        offsets = history_ds - self.first
        on_grid = (offsets >= 0) & (offsets % self.step == 0) & (history_ds <= self.grid_end)
        self.bar_at = np.full(len(grid.ds), -1, dtype=np.int32)
        self.bar_at[offsets[on_grid] // self.step] = np.flatnonzero(on_grid)
        # Memoryviews of the same memory: indexing one returns a float in a tenth of the time
        # numpy takes, which matters on the request path.
        self._yhat = np.ascontiguousarray(self.yhat).data
        self._origin = np.ascontiguousarray(self.origin).data
        self._bands = {
            level: (np.ascontiguousarray(low).data, np.ascontiguousarray(high).data)
            for level, (low, high) in self.bands.items()
        }
        self._bar_at = self.bar_at.data
        self._close = np.ascontiguousarray(self.close).data

    def ds_of(self, index: np.ndarray) -> np.ndarray:
        return self.first + self.step * np.asarray(index, dtype=np.int64)

    def check(self, name: str, epoch: float) -> None:
        """OutOfRangeError unless `epoch` lies between the first grid point and `end`."""
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
        """The forecast and the `level`% band at a checked `epoch`, interpolated between the two
        points around it; its origin is the later of theirs (never after `epoch`)."""
        position = (epoch - self.first) / self.step
        index = int(position)
        fraction = position - index
        low, high = self._bands[level]
        if fraction == 0 or index + 1 >= self.size:  # on a grid point (the last one included)
            return Point(self._yhat[index], low[index], high[index], self._origin[index])
        y0, y1 = self._yhat[index : index + 2]
        l0, l1 = low[index : index + 2]
        h0, h1 = high[index : index + 2]
        return Point(
            y0 + (y1 - y0) * fraction,
            l0 + (l1 - l0) * fraction,
            h0 + (h1 - h0) * fraction,
            max(self._origin[index : index + 2]),
        )

    def in_history(self, epoch: float) -> bool:
        return self.first <= epoch <= self.last_bar

    def actual_at(self, epoch: float) -> float | None:
        """The close at a checked `epoch` inside the history, interpolated between two bars.

        None in a gap (a bar missing from the history on either side).
        """
        position = (epoch - self.first) / self.step
        index = int(position)
        fraction = position - index
        bar = self._bar_at[index]
        if bar < 0:
            return None
        before: float = self._close[bar]
        if fraction == 0:
            return before
        following = self._bar_at[index + 1] if index + 1 < len(self._bar_at) else -1
        if following < 0:
            return None
        return before + (self._close[following] - before) * fraction

    def count(self, start: float, end: float) -> int:
        """How many grid points lie in `[start, end]`."""
        return max(0, self._last_index(end) - self._first_index(start) + 1)

    def series(
        self, start: float, end: float, max_points: int, level: int, every: Interval | None = None
    ) -> Points:
        """Every point in `[start, end]` (both checked) with its `level`% band, at most
        `max_points` of them; with `every` (a whole multiple of the grid's interval), only the
        points that open an `every` bar: every day's 00:00 UTC for `1d`, as candles of that
        width open."""
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
        index = first + stride * np.arange(count)
        low, high = self.bands[level]
        return Points(
            self.ds_of(index),
            np.column_stack([column[index] for column in (self.yhat, low, high)]),
            self._actual(index),
        )

    def _first_index(self, epoch: float) -> int:
        return math.ceil((epoch - self.first) / self.step)

    def _last_index(self, epoch: float) -> int:
        return math.floor((epoch - self.first) / self.step)

    def _actual(self, index: np.ndarray) -> np.ndarray:
        bars = self.bar_at[index]
        actual = np.full(len(index), np.nan)
        found = np.flatnonzero(bars >= 0)
        actual[found] = self.close[bars[found]]
        return actual
