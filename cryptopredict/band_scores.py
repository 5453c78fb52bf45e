"""How a band is scored, on numpy alone, by the backtest and the API's live scorecard alike."""

from __future__ import annotations

import math

import numpy as np


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
