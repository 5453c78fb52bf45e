"""The backtest's plan: which bars Prophet is refitted at, which ones bands are scored at, and
where validation ends and evaluation starts.

Both sets of origins lie on grids fixed to the epoch, so adding bars only adds origins and cached
fits stay valid:

- **refits**, every `Plan.step` (7 days 7 hours: every weekday and hour in turn), from
  `min_training` after the first bar to the last bar;
- **band origins**, every `Plan.band_step` (7 hours), from `BAND_WARMUP` after the first bar.

Origins whose whole horizon played out before the evaluation span (the last two years by
default, at most the later half of a short history) are *validation* origins, where the damping
and the band are chosen; the figures reported come from the *evaluation* origins. No validation
outcome is known only inside the evaluation span (`Plan.boundary`).
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
SERVED = "prophet"
HOUR = 3600
BAND_WARMUP = pd.Timedelta(days=30)  # band origins start this long after the first bar
REFIT_SLACK = pd.Timedelta(days=2)  # each refit predicts this far past the next one's horizon


def seconds_of(delta: pd.Timedelta) -> int:
    return int(delta / pd.Timedelta(seconds=1))


@dataclass(frozen=True)
class Plan:
    horizon: pd.Timedelta = pd.Timedelta(days=30)
    # A week and seven hours: refits fall on every weekday and hour of the day in turn.
    step: pd.Timedelta = pd.Timedelta(days=7, hours=7)
    evaluation_span: pd.Timedelta = pd.Timedelta(days=730)
    min_training: pd.Timedelta = pd.Timedelta(days=365)
    band_step: pd.Timedelta = pd.Timedelta(hours=7)
    max_origins: int | None = None  # keep only the most recent scored refits (short runs)
    # The damping is chosen on the most recent this many validation refits: a year of them,
    # every weekday and hour in turn, enough to rank the taus, so a history of eight years
    # costs the choice no more Prophet fits than one of two.
    damping_refits: int = 52

    def refit_times(self, seconds: np.ndarray) -> tuple[np.ndarray, int]:
        """Bar times Prophet is refitted at, oldest first, and how many of the first ones are
        scored (their whole horizon had played out by the last bar)."""
        first = seconds[0] + seconds_of(self.min_training)
        times = _grid(seconds, first, seconds[-1], seconds_of(self.step))
        scored = int(np.sum(times <= seconds[-1] - seconds_of(self.horizon)))
        if self.max_origins is not None and scored > self.max_origins:
            times, scored = times[scored - self.max_origins :], self.max_origins
        return times, scored

    def origins(self, ds: pd.Series) -> list[pd.Timestamp]:
        """The scored refit origins as timestamps, oldest first."""
        times, scored = self.refit_times(epoch_seconds(ds))
        return [pd.Timestamp(int(t), unit="s") for t in times[:scored]]

    def band_times(self, seconds: np.ndarray) -> np.ndarray:
        first = seconds[0] + seconds_of(BAND_WARMUP)
        return _grid(seconds, first, seconds[-1], max(seconds_of(self.band_step), 1))

    def evaluation_start(self, seconds: np.ndarray) -> int:
        """The first evaluation origin: the evaluation span before the last scored origin, but
        never before the middle of the band origins' history (a short history is shared
        evenly between validation, outcomes included, and evaluation)."""
        horizon = seconds_of(self.horizon)
        last_scored = int(seconds[-1]) - horizon
        band_start = int(seconds[0]) + seconds_of(BAND_WARMUP)
        even = (last_scored + band_start + horizon) // 2
        return max(last_scored - seconds_of(self.evaluation_span), even)

    def validation_start(self, seconds: np.ndarray) -> int:
        """The first validation origin: `min_training` after the first bar, or on a short
        history the middle of what precedes the validation outcomes' end."""
        band_start = int(seconds[0]) + seconds_of(BAND_WARMUP)
        half = (self.validation_end(seconds) - band_start) // 2
        return min(int(seconds[0]) + seconds_of(self.min_training), band_start + max(half, 0))

    def validation_end(self, seconds: np.ndarray) -> int:
        """The last validation origin: its whole horizon has played out by the first evaluation
        origin, so no validation outcome is known only inside the evaluation span."""
        return self.evaluation_start(seconds) - seconds_of(self.horizon) - 1

    def boundary(self, seconds: np.ndarray) -> SpanBoundary:
        """The dates the manifest records: validation outcomes end before evaluation starts."""
        return SpanBoundary(
            first_validation_origin=utc_datetime(self.validation_start(seconds)),
            last_validation_outcome=utc_datetime(
                self.validation_end(seconds) + seconds_of(self.horizon)
            ),
            first_evaluation_origin=utc_datetime(self.evaluation_start(seconds)),
        )


def _grid(seconds: np.ndarray, first: int, last: int, step: int) -> np.ndarray:
    """Every multiple of `step` in [first, last], snapped to the last bar at or before it."""
    points = np.arange(-(-first // step) * step, last + 1, step, dtype=np.int64)
    at = np.searchsorted(seconds, points, "right") - 1
    return np.unique(seconds[at[at >= 0]])


def epoch_seconds(ds: pd.Series) -> np.ndarray:
    return pd.to_datetime(ds).to_numpy().astype("datetime64[s]").astype(np.int64)


def horizon_label(hours: int) -> str:
    for label, horizon in HORIZONS.items():
        if horizon == pd.Timedelta(hours=hours):
            return label
    return f"{hours}h"
