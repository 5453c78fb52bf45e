"""How a forecast and its band are scored on log prices, on numpy alone, by the backtest and the
API's live scorecard alike; paired comparisons with their one standard error (`standard_error.py`:
origins closer than the horizon share part of their outcome)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from cryptopredict.standard_error import MeanSE, mean_se


def tails(level: int) -> tuple[float, float]:
    lower = round((100 - level) / 200, 10)
    return lower, round(1 - lower, 10)


def inside(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    return (lower <= actual) & (actual <= upper)


def interval_score(
    actual: np.ndarray, lower: np.ndarray, upper: np.ndarray, level: int
) -> np.ndarray:
    """The interval score (Gneiting & Raftery 2007) on log prices: the width plus 2 / alpha times
    the miss, alpha 1 - level (arguments in price)."""
    y, low, high = np.log(actual), np.log(lower), np.log(upper)
    penalty = 2 / (1 - level / 100)
    below, above = np.clip(low - y, 0, None), np.clip(y - high, 0, None)
    return (high - low) + penalty * (below + above)


def overlap_lags(horizon_hours: float, step_hours: float) -> int:
    return max(1, math.ceil(horizon_hours / step_hours))


def pinball(actual: np.ndarray, quantile: np.ndarray, tau: float) -> np.ndarray:
    diff = np.log(actual) - np.log(quantile)
    return np.maximum(tau * diff, (tau - 1) * diff)


def quantile_score(
    actual: np.ndarray, centre: np.ndarray, bands: dict[int, tuple[np.ndarray, np.ndarray]]
) -> np.ndarray:
    """The mean pinball loss over the median and every band's ends (about the CRPS)."""
    losses = [pinball(actual, centre, 0.5)]
    for level, (lower, upper) in bands.items():
        low, high = tails(level)
        losses += [pinball(actual, lower, low), pinball(actual, upper, high)]
    return np.mean(losses, axis=0)


def paired(a: np.ndarray, b: np.ndarray, overlap: int) -> MeanSE:
    """The mean of `a - b` (same origins, in time order) with its standard error."""
    return mean_se(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64), overlap)


def relative(a: np.ndarray, b: np.ndarray, overlap: int) -> MeanSE:
    """mean(a) / mean(b) - 1 where both are known, with the standard error of its influence."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    known = np.isfinite(a) & np.isfinite(b)
    if known.sum() < 2:
        return MeanSE(math.nan, math.nan, int(known.sum()), overlap, math.nan)
    base = b[known].mean()
    ratio = a[known].mean() / base
    found = mean_se(np.where(known, (a - ratio * b) / base, np.nan), overlap)
    return replace(found, mean=float(ratio - 1))
