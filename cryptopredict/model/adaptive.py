"""The band's adaptive step: an online conformal update of its scale from its own misses
(Gibbs and Candes 2021, on the log scale). At a calibrated horizon h with step g > 0, the offsets
at an origin are the calibrated ones times exp(g * S), S the sum over the band's earlier
forecasts h ahead known by then of (missed - 0.2), each judged by the band as served; with
`adapt_binned`, S sums over the origin's own width bin. Misses average 20% in the long run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cryptopredict.artifact.schema import DEFAULT_LEVEL

MISS_RATE = 1 - DEFAULT_LEVEL / 100  # the 80% band's misses the update aims at


@dataclass(frozen=True)
class Adaptive:
    """Per calibrated horizon: when each outcome was known, and step times S up to each."""

    known_at: list[np.ndarray]
    scaled_sums: list[np.ndarray]  # (one longer than known_at: 0 before the first) x bins

    def log_scale(self, at: np.ndarray, bins: np.ndarray | None = None) -> np.ndarray:
        """The log scale at times `at` (down) per horizon (across), in `bins` (None: the first)."""
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
    """The update over the origins `times`: the 80% band's unscaled log offsets (origins x
    horizons) against the point forecast's log errors (NaN: unknown)."""
    known_at, scaled_sums = [], []
    which = np.zeros((len(times), len(hours)), dtype=np.int64) if bins is None else bins
    for k, h in enumerate(hours):
        known = times + h * 3600
        sums = np.zeros((len(times) + 1, int(which.max(initial=0)) + 1))
        if steps[k] > 0:  # S per width bin, each forecast judged by the state its origin knew
            seen = np.searchsorted(known, times, "right")
            bins_k, low, high = which[:, k], lower[:, k], upper[:, k]
            running = np.zeros(sums.shape[1])
            for j, error in enumerate(errors[h].tolist()):
                b = bins_k[j]
                if not math.isnan(error):  # known
                    scale = math.exp(steps[k] * sums[seen[j], b])
                    missed = error < low[j] * scale or error > high[j] * scale
                    running[b] += float(missed) - MISS_RATE
                sums[j + 1] = running
            sums = steps[k] * sums
        known_at.append(known)
        scaled_sums.append(sums)
    return Adaptive(known_at, scaled_sums)
