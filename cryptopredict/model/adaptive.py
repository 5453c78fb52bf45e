"""The band's adaptive step: an online conformal update of its scale from its own misses
(adaptive conformal inference, Gibbs and Candes 2021, on the band's log scale as Angelopoulos,
Candes and Tibshirani 2023 track a quantile).

At each calibrated horizon h whose step g is above 0 (`BandSpec.adapt_for`), the band's offsets
at an origin are its calibrated offsets times exp(g * S), S the sum, over the band's earlier
forecasts h ahead whose outcome was known by the origin (h after theirs), of (1 if the 80% band
missed the outcome, else 0) less 0.2. A band missing more than one time in five widens, one
missing less narrows, and over any stretch its misses average 20% up to (the largest |S|
reached) / (forecasts): the long-run coverage guarantee holds however the market drifts. Each
forecast is judged by the band as it was served (the calibrated offsets at h, scaled by the
state at its own origin), so the state at any time follows from the history alone: the
hindcast, the backtest and the grid's last origin each take the state known at their origin.
A band that keeps its state per width bin (`BandSpec.adapt_binned`, up to a day) sums S over
the earlier forecasts of the origin's own bin alone, so each bin widens and narrows on its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cryptopredict.artifact.schema import DEFAULT_LEVEL

MISS_RATE = 1 - DEFAULT_LEVEL / 100  # the 80% band's misses the update aims at


@dataclass(frozen=True)
class Adaptive:
    """Per calibrated horizon: when each forecast's outcome was known (ascending) and the
    step times the running sum of (missed - MISS_RATE) up to each."""

    known_at: list[np.ndarray]
    scaled_sums: list[np.ndarray]  # (one longer than known_at: 0 before the first) x bins

    def log_scale(self, at: np.ndarray, bins: np.ndarray | None = None) -> np.ndarray:
        """The log scale at times `at` (down), per calibrated horizon (across), of each one's
        width bin (`bins`, as `at` x horizons; None: the first)."""
        which = np.zeros((len(at), len(self.known_at)), dtype=np.int64) if bins is None else bins
        return np.stack(
            [
                sums[np.searchsorted(known, at, "right"), which[:, k]]
                for k, (known, sums) in enumerate(zip(self.known_at, self.scaled_sums, strict=True))
            ],
            axis=1,
        )


def tracked(
    times: np.ndarray,
    hours: tuple[int, ...],
    *,
    steps: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    errors: dict[int, np.ndarray],
    bins: np.ndarray | None = None,
) -> Adaptive:
    """The update run over the forecasts from origins at `times` (ascending), each calibrated
    horizon of `hours` with its step (0: none): the 80% band's log offsets there before
    scaling (`lower`, `upper`: origins x horizons) against the log errors of the point forecast
    (NaN while unknown: no update)."""
    known_at, scaled_sums = [], []
    which = np.zeros((len(times), len(hours)), dtype=np.int64) if bins is None else bins
    for k, h in enumerate(hours):
        known = times + h * 3600
        sums = np.zeros((len(times) + 1, int(which.max(initial=0)) + 1))
        if steps[k] > 0:
            sums = steps[k] * _misses_less_rate(
                np.searchsorted(known, times, "right"),
                steps[k],
                lower=lower[:, k],
                upper=upper[:, k],
                errors=errors[h],
                bins=which[:, k],
            )
        known_at.append(known)
        scaled_sums.append(sums)
    return Adaptive(known_at, scaled_sums)


def _misses_less_rate(
    known: np.ndarray,
    step: float,
    *,
    lower: np.ndarray,
    upper: np.ndarray,
    errors: np.ndarray,
    bins: np.ndarray,
) -> np.ndarray:
    """Per width bin, the running sum of (missed - MISS_RATE) over the forecasts in it, each
    forecast judged by its band scaled by its bin's state its origin knew (`known[j]`
    outcomes known at origin j)."""
    sums = np.zeros((len(errors) + 1, int(bins.max(initial=0)) + 1))
    running = np.zeros(sums.shape[1])
    for j, error in enumerate(errors.tolist()):
        b = bins[j]
        if not math.isnan(error):  # known
            scale = math.exp(step * sums[known[j], b])
            missed = error < lower[j] * scale or error > upper[j] * scale
            running[b] += float(missed) - MISS_RATE
        sums[j + 1] = running
    return sums
