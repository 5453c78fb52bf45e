"""The backtest's plan: which bars Prophet is refitted at, which ones bands are scored at, and
where validation ends and evaluation starts.

Both sets of origins lie on grids fixed to the epoch, so adding bars only adds origins and cached
fits stay valid:

- **refits**, every `Plan.step` (7 days 7 hours: every weekday and hour in turn), from
  `min_training` after the first bar to the last bar;
- **band origins**, every `Plan.band_step` (7 hours), from `BAND_WARMUP` after the first bar.

Origins older than the evaluation span (the last two years by default) are *validation*
origins, where the damping and the band are chosen; the figures reported come from the
*evaluation* origins.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

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
    max_origins: int | None = None  # keep only the most recent scored refits (quick runs)

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
        return int(seconds[-1] - seconds_of(self.horizon) - seconds_of(self.evaluation_span))

    def validation_start(self, seconds: np.ndarray) -> int:
        return int(seconds[0] + seconds_of(self.min_training))

    def fitted(self, seconds: np.ndarray) -> Plan:
        """This plan for a history of bars at `seconds`. When the history is too short to keep
        a validation span of at least a quarter of the evaluation span before it (two years
        of bars against the default two-year evaluation span), what follows the minimum
        training is split in half between validation and evaluation, so that the damping and
        the band are still chosen on origins they are not reported on."""
        span = int(seconds[-1] - seconds[0]) - seconds_of(self.min_training + self.horizon)
        wanted = seconds_of(self.evaluation_span)
        if span - wanted >= wanted // 4:
            return self
        return replace(self, evaluation_span=pd.Timedelta(seconds=max(span // 2, 0)))


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
