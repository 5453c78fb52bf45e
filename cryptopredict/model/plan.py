"""The backtest's plan: refit origins every `Plan.step` (7 days 7 hours) from `min_training`
after the first bar, band origins every `band_step` (7 hours) from `BAND_WARMUP`, both on grids
fixed to the epoch (more bars only add origins); origins whose horizon played out before the
evaluation span are *validation* origins, the later ones *evaluation* origins.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cryptopredict.artifact.schema import SpanBoundary
from cryptopredict.utc import utc_datetime

HORIZONS = {
    "1h": pd.Timedelta(hours=1),
    "1d": pd.Timedelta(days=1),
    "7d": pd.Timedelta(days=7),
    "30d": pd.Timedelta(days=30),
}
HORIZON_HOURS = {label: int(h / pd.Timedelta(hours=1)) for label, h in HORIZONS.items()}
SERVED = "prophet"
HOUR = 3600
BAND_WARMUP = pd.Timedelta(days=30)  # band origins start this long after the first bar
REFIT_SLACK = pd.Timedelta(days=2)  # each refit predicts this far past the next one's horizon
# The panel's final test: a pair's newest origins, from this long before its last scored one; its
# evaluation origins end a horizon before it, and no step of the panel chooses on it.
FINAL_TEST = pd.Timedelta(days=183)
SPLITS = ("validation", "evaluation", "final test")  # `Plan.splits`'


def seconds_of(delta: pd.Timedelta) -> int:
    return int(delta / pd.Timedelta(seconds=1))


@dataclass(frozen=True)
class Plan:
    horizon: pd.Timedelta = pd.Timedelta(days=30)
    step: pd.Timedelta = pd.Timedelta(days=7, hours=7)
    evaluation_span: pd.Timedelta = pd.Timedelta(days=730)
    min_training: pd.Timedelta = pd.Timedelta(days=365)
    band_step: pd.Timedelta = pd.Timedelta(hours=7)
    max_origins: int | None = None  # keep only the most recent scored refits (short runs)

    def refit_times(self, seconds: np.ndarray) -> tuple[np.ndarray, int]:
        """Refit times, oldest first, and how many of the first are scored (horizon played out)."""
        first = seconds[0] + seconds_of(self.min_training)
        times = _grid(seconds, first, seconds[-1], seconds_of(self.step))
        scored = int(np.sum(times <= seconds[-1] - seconds_of(self.horizon)))
        if self.max_origins is not None and scored > self.max_origins:
            times, scored = times[scored - self.max_origins :], self.max_origins
        return times, scored

    def band_times(self, seconds: np.ndarray) -> np.ndarray:
        first = seconds[0] + seconds_of(BAND_WARMUP)
        return _grid(seconds, first, seconds[-1], max(seconds_of(self.band_step), 1))

    def evaluation_start(self, seconds: np.ndarray) -> int:
        """The evaluation span before the last scored origin, at most half a short history."""
        horizon = seconds_of(self.horizon)
        last_scored = int(seconds[-1]) - horizon
        band_start = int(seconds[0]) + seconds_of(BAND_WARMUP)
        even = (last_scored + band_start + horizon) // 2
        return max(last_scored - seconds_of(self.evaluation_span), even)

    def validation_start(self, seconds: np.ndarray) -> int:
        """`min_training` after the first bar, on a short history halfway to `validation_end`."""
        band_start = int(seconds[0]) + seconds_of(BAND_WARMUP)
        half = (self.validation_end(seconds) - band_start) // 2
        return min(int(seconds[0]) + seconds_of(self.min_training), band_start + max(half, 0))

    def validation_end(self, seconds: np.ndarray) -> int:
        """The last origin whose horizon played out before the first evaluation origin."""
        return self.evaluation_start(seconds) - seconds_of(self.horizon) - 1

    def final_start(self, seconds: np.ndarray) -> int:
        """The first final test origin: `FINAL_TEST` before the last one a horizon plays out."""
        return int(seconds[-1]) - seconds_of(self.horizon) - seconds_of(FINAL_TEST)

    def splits(self, times: np.ndarray, seconds: np.ndarray) -> tuple[np.ndarray, ...]:
        """Whether each origin of `times` is in each of `SPLITS`, as the panel splits them (its
        horizon played out or not): the evaluation origins end a horizon before the final test."""
        final = self.final_start(seconds)
        return (
            (times >= self.validation_start(seconds)) & (times <= self.validation_end(seconds)),
            (times >= self.evaluation_start(seconds)) & (times + seconds_of(self.horizon) < final),
            times >= final,
        )

    def boundary(self, seconds: np.ndarray) -> SpanBoundary:
        return SpanBoundary(
            first_validation_origin=utc_datetime(self.validation_start(seconds)),
            last_validation_outcome=utc_datetime(
                self.validation_end(seconds) + seconds_of(self.horizon)
            ),
            first_evaluation_origin=utc_datetime(self.evaluation_start(seconds)),
        )


def _grid(seconds: np.ndarray, first: int, last: int, step: int) -> np.ndarray:
    """Every multiple of `step` in [first, last], snapped to the bar at or before it."""
    points = np.arange(-(-first // step) * step, last + 1, step, dtype=np.int64)
    at = np.searchsorted(seconds, points, "right") - 1
    return np.unique(seconds[at[at >= 0]])


def epoch_seconds(ds: pd.Series) -> np.ndarray:
    """Naive-UTC or tz-aware timestamps as int64 epoch seconds."""
    stamps = pd.to_datetime(ds, utc=True).dt.tz_convert(None)
    return stamps.to_numpy().astype("datetime64[s]").astype(np.int64)


def horizon_label(hours: int) -> str:
    return next((label for label, h in HORIZON_HOURS.items() if h == hours), f"{hours}h")
