"""How a forecast band is scored, on numpy alone: shared by the backtest (`model/`) and the live
scorecard the API keeps (`api/serving/scorecard.py`), so both score alike.

Whether the outcome fell inside the band, and the band's interval score (Gneiting & Raftery
2007) on log prices: its width plus 2 / alpha times how far the outcome fell outside it, for a
central band at level L (alpha = 1 - L). Lower is better; the score is proper. How many origins
a horizon overlaps (`overlap_lags`) is what the one standard error of these scores' means
needs (`cryptopredict/standard_error.py`).
"""

from __future__ import annotations

import math

import numpy as np


def tails(level: int) -> tuple[float, float]:
    """The lower and upper quantile probabilities of a central band at `level` percent."""
    lower = round((100 - level) / 200, 10)
    return lower, round(1 - lower, 10)


def inside(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    return (lower <= actual) & (actual <= upper)


def interval_score(
    actual: np.ndarray, lower: np.ndarray, upper: np.ndarray, level: int
) -> np.ndarray:
    """Each forecast's interval score on log prices (all arguments in price)."""
    y, low, high = np.log(actual), np.log(lower), np.log(upper)
    penalty = 2 / (1 - level / 100)
    below, above = np.clip(low - y, 0, None), np.clip(y - high, 0, None)
    return (high - low) + penalty * (below + above)


def overlap_lags(horizon_hours: float, step_hours: float) -> int:
    """Origins this many steps apart still share part of their outcome window."""
    return max(1, math.ceil(horizon_hours / step_hours))
