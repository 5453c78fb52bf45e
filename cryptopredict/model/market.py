"""One price series for the bands: log closes and one-bar returns (none across a gap), with
window statistics per weekly slot (profile, deseasonalized variance) and the quantiles of past
h-step moves. Warm-up: an origin with fewer than `MIN_RETURNS` returns takes the first ones'
volatility; with fewer than `MIN_MOVES` moves, normal quantiles of the year's volatility.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
from pandas.api.indexers import BaseIndexer
from scipy.special import ndtri  # the normal's quantiles: scipy.stats takes seconds to import

from cryptopredict.artifact.schema import LEVELS
from cryptopredict.standard_error import tails

HOUR = 3600
DAY = 24 * HOUR
WEEK = 7 * DAY
YEAR_DAYS = 365
MIN_RETURNS = 24  # returns an origin needs before its own volatility is used
MIN_MOVES = 30  # h-step returns the empirical band needs before its quantiles are used
PROFILE_PRIOR = 4  # observations of the mean shrinking each slot of the profile
EWMA_CHUNK = 4096  # origins whose weighted variance is computed at once
# A normal return's mean absolute value is sqrt(2 / pi) of its standard deviation.
ABSOLUTE_TO_VARIANCE = np.pi / 2
DAY_HOURS = 24
TAUS = tuple(sorted(p for level in LEVELS for p in tails(level)))


class Market:
    def __init__(self, seconds: np.ndarray, log_price: np.ndarray, interval: int) -> None:
        self.t = np.asarray(seconds, dtype=np.int64)
        self.log_price = np.asarray(log_price, dtype=np.float64)
        self.interval = int(interval)
        self.slots = WEEK // interval if WEEK % interval == 0 and interval < WEEK else 1
        self.slot = (self.t // interval) % self.slots
        returns = np.diff(self.log_price, prepend=np.nan)
        step = np.diff(self.t, prepend=self.t[0] - 2 * interval)
        returns[step != interval] = np.nan  # across a gap: not one bar's move
        self.returns = returns
        self._slot_pos = [np.flatnonzero(self.slot == slot) for slot in range(self.slots)]
        self._read(np.abs(returns))

    def read_ranges(self, ranges: np.ndarray) -> None:
        """`ranged`: each bar's move read as its log range's Parkinson volatility (bands')."""
        self.ranged = copy.copy(self)._read(ranges / np.sqrt(4 * np.log(2)))

    def _read(self, moves: np.ndarray) -> Market:
        """The window statistics of each bar's move's size, `moves` (none across a gap)."""
        self.sizes = np.where(np.isfinite(self.returns), moves, np.nan)
        valid = np.isfinite(self.sizes)
        self._known = np.concatenate([[0], np.cumsum(valid)])  # valid returns before position
        squares, sizes = np.where(valid, self.sizes**2, 0.0), np.where(valid, self.sizes, 0.0)
        # Per slot (`_slot_pos`, its bars' positions): running sums of |r|, r^2 and counts.
        columns = np.column_stack([sizes, squares, valid])
        self._running = [
            np.vstack([[0.0] * 3, columns[where].cumsum(axis=0)]) for where in self._slot_pos
        ]
        first = np.flatnonzero(valid)[:MIN_RETURNS]
        self.warmup_variance = float(np.mean(self.sizes[first] ** 2)) if len(first) else 1e-4
        self._quantiles: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}  # each view its own
        self.har_fits: dict[tuple, tuple[np.ndarray, float]] = {}  # `har.Har`'s, by week and lead
        self.ranged = self
        return self

    def position(self, seconds: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.t, np.asarray(seconds, dtype=np.int64), "right") - 1

    def _slot_sums(self, start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, ...]:
        """Per query and slot: sums of |r|, r^2 and counts over (start, end]."""
        sums = np.zeros((3, len(end), self.slots))
        for slot, (where, running) in enumerate(zip(self._slot_pos, self._running, strict=True)):
            hi = np.searchsorted(where, end, "right")
            lo = np.searchsorted(where, start, "right")
            sums[:, :, slot] = (running[hi] - running[lo]).T
        return tuple(sums)

    def _window_start(self, pos: np.ndarray, days: float) -> np.ndarray:
        return self.position(self.t[pos] - int(days * DAY))

    def profile(self, pos: np.ndarray, *, factored: bool = False) -> np.ndarray:
        """Each origin's volatility profile over weekly slots (mean 1) from the past year;
        `factored` (hourly bars): the hour of day's times the day of week's."""
        sizes, _, counts = self._slot_sums(self._window_start(pos, YEAR_DAYS), pos)
        overall = sizes.sum(axis=1, keepdims=True) / np.maximum(
            counts.sum(axis=1, keepdims=True), 1
        )
        shrunk = (sizes + PROFILE_PRIOR * overall) / (counts + PROFILE_PRIOR)
        profile = (shrunk / np.where(overall > 0, overall, 1.0)) ** 2
        profile[counts.sum(axis=1) < MIN_RETURNS] = 1.0
        if factored and self.slots == 7 * DAY_HOURS:
            # Slot 0 is midnight UTC (the weekly cycle starts at the epoch, a Thursday's).
            spread = np.sqrt(profile).reshape(len(pos), 7, DAY_HOURS)
            hour, day = spread.mean(axis=1, keepdims=True), spread.mean(axis=2, keepdims=True)
            profile = (hour * day / spread.mean(axis=(1, 2), keepdims=True)).reshape(profile.shape)
            profile = profile**2
        return profile / profile.mean(axis=1, keepdims=True)

    def variance(
        self, pos: np.ndarray, days: float, profile: np.ndarray | None, *, robust: bool = False
    ) -> np.ndarray:
        """The deseasonalized mean squared return over the `days` before each origin;
        `robust`: the mean absolute return squared, times pi / 2."""
        sizes, squares, counts = self._slot_sums(self._window_start(pos, days), pos)
        total = counts.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            if robust:
                weights = 1.0 if profile is None else 1.0 / np.sqrt(profile)
                value = ((sizes * weights).sum(axis=1) / total) ** 2 * ABSOLUTE_TO_VARIANCE
            else:
                weights = 1.0 if profile is None else 1.0 / profile
                value = (squares * weights).sum(axis=1) / total
        warm = self._known[pos + 1] >= MIN_RETURNS
        return np.where(warm, value, self.warmup_variance)

    def ewma_variance(
        self,
        pos: np.ndarray,
        half_life: float,
        profile: np.ndarray | None,
        *,
        robust: bool = False,
    ) -> np.ndarray:
        """The deseasonalized squared returns of the week up to each origin weighted by
        0.5 ** (age in bars / `half_life`); `robust` as in `variance`."""
        ages = np.arange(max(self.slots, MIN_RETURNS))
        decay = 0.5 ** (ages / half_life)
        out = np.empty(len(pos))
        for first in range(0, len(pos), EWMA_CHUNK):
            rows = slice(first, first + EWMA_CHUNK)
            at = pos[rows, None] - ages[None, :]
            returns = self.sizes[np.maximum(at, 0)]
            seen = (at >= 0) & np.isfinite(returns)
            squares = np.where(seen, returns, 0.0) ** 2
            if profile is not None:
                squares /= np.take_along_axis(profile[rows], self.slot[np.maximum(at, 0)], axis=1)
            values = np.sqrt(squares) if robust else squares
            weights = decay * seen
            with np.errstate(invalid="ignore"):
                out[rows] = (values * weights).sum(axis=1) / weights.sum(axis=1)
            if robust:
                out[rows] = out[rows] ** 2 * ABSOLUTE_TO_VARIANCE
        warm = self._known[pos + 1] >= MIN_RETURNS
        return np.where(warm & np.isfinite(out), out, self.warmup_variance)

    def moves(self, hours: int) -> np.ndarray:
        """The log return over the next `hours` from each bar (NaN across a gap)."""
        steps = hours * HOUR // self.interval
        at = np.minimum(np.arange(len(self.t)) + steps, len(self.t) - 1)
        whole = self.t[at] == self.t + hours * HOUR  # every bar between is there
        return np.where(whole, self.log_price[at] - self.log_price, np.nan)

    def return_quantiles(
        self, hours: int, pos: np.ndarray, known_by: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Quantiles at TAUS and the median of the year's `hours`-step log returns before each
        origin known by `known_by` (origins in time order)."""
        pos, known_by = np.asarray(pos), np.asarray(known_by)
        if np.array_equal(known_by, self.t[pos]):
            every = np.arange(len(self.t))
            quantiles, medians = self._cached_quantiles(hours, every, self.t)
            return quantiles[pos], medians[pos]
        return self._cached_quantiles(hours, pos, known_by)

    def _cached_quantiles(
        self, hours: int, pos: np.ndarray, known_by: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        key = (hours, pos.tobytes(), known_by.tobytes())
        if key not in self._quantiles:
            moves = self.moves(hours)
            reach = self.position(self.t - hours * HOUR)  # the latest start known at each bar
            cutoff = np.minimum(self.position(known_by), pos)
            lo = self._window_start(pos, YEAR_DAYS) + 1
            quantiles, medians, counts = sliding_quantiles(moves, lo, reach[cutoff] + 1)
            cold = counts < MIN_MOVES
            steps = hours * HOUR / self.interval
            spread = np.sqrt(self.variance(pos[cold], YEAR_DAYS, None) * steps)
            quantiles[cold] = spread[:, None] * ndtri(TAUS)[None, :]
            medians[cold] = 0.0
            self._quantiles[key] = (quantiles, medians)
        return self._quantiles[key]


def sliding_quantiles(
    values: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Quantiles at TAUS, medians and counts of the finite `values[lo[i]:hi[i]]` (ends never
    moving back), by pandas' rolling quantiles."""
    stop = np.maximum.accumulate(np.asarray(hi, dtype=np.int64))
    first = np.minimum(np.maximum.accumulate(np.asarray(lo, dtype=np.int64)), stop)
    # One window per row of the series: the origins' first, then empty ones at the end.
    rows = max(len(values), len(first))
    start = np.full(rows, stop[-1] if len(stop) else 0, dtype=np.int64)
    end = start.copy()
    start[: len(first)], end[: len(stop)] = first, stop
    series = pd.Series(np.concatenate([values, np.full(rows - len(values), np.nan)]))
    windows = _Windows(start=start, end=end)
    rolling = series.rolling(windows, min_periods=1)
    quantiles = np.column_stack(
        [rolling.quantile(tau).to_numpy()[: len(first)] for tau in (*TAUS, 0.5)]
    )
    counts = series.rolling(windows, min_periods=0).count().to_numpy()[: len(first)]
    return quantiles[:, :-1], quantiles[:, -1].copy(), counts.astype(np.int64)


class _Windows(BaseIndexer):
    def get_window_bounds(
        self,
        num_values: int = 0,
        min_periods: int | None = None,
        center: bool | None = None,
        closed: str | None = None,
        step: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        return self.start, self.end
