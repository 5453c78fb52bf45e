"""The scores forecasters use, on log prices, and paired comparisons with honest standard errors.

- Interval score (Gneiting & Raftery 2007) of a central band at level L (alpha = 1 - L): its width
  plus 2 / alpha times how far the outcome fell outside it. Lower is better; it rewards bands
  that are narrow and still hold the price, and is proper: a forecaster cannot game it.
- Quantile score: the mean pinball loss over the served quantiles (the median and both ends of
  every band), an approximation of the CRPS of the whole forecast distribution.
- Paired differences between two forecasters on the same origins, with a standard error that
  allows for the autocorrelation overlapping horizons create: origins closer than the horizon
  share part of their outcome, so their score differences are correlated. Newey-West (HAC)
  errors with a lag covering the overlap, from statsmodels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import statsmodels.api as sm

# The band's own scores live where the API's live scorecard reads them too (numpy alone).
from cryptopredict.band_scores import inside, interval_score, overlap_lags, tails

__all__ = [
    "Paired",
    "inside",
    "interval_score",
    "overlap_lags",
    "paired",
    "pinball",
    "quantile_score",
    "tails",
]


def pinball(actual: np.ndarray, quantile: np.ndarray, tau: float) -> np.ndarray:
    """The pinball (quantile) loss of a forecast of the `tau` quantile, on log prices."""
    diff = np.log(actual) - np.log(quantile)
    return np.maximum(tau * diff, (tau - 1) * diff)


def quantile_score(
    actual: np.ndarray, centre: np.ndarray, bands: dict[int, tuple[np.ndarray, np.ndarray]]
) -> np.ndarray:
    """The mean pinball loss over the median (`centre`) and both ends of every band."""
    losses = [pinball(actual, centre, 0.5)]
    for level, (lower, upper) in bands.items():
        low, high = tails(level)
        losses += [pinball(actual, lower, low), pinball(actual, upper, high)]
    return np.mean(losses, axis=0)


@dataclass(frozen=True)
class Paired:
    """The mean of `a - b` over paired forecasts, with its Newey-West standard error."""

    diff: float
    se: float
    n: int
    lags: int

    @property
    def t(self) -> float:
        return self.diff / self.se if self.se > 0 else math.nan

    def verdict(self) -> str:
        """'lower' or 'higher' when the difference is beyond two standard errors, else 'tie'."""
        if abs(self.diff) <= 2 * self.se:
            return "tie"
        return "lower" if self.diff < 0 else "higher"


def paired(a: np.ndarray, b: np.ndarray, lags: int) -> Paired:
    """Compare scores `a` and `b` (same origins, in time order) with HAC errors over `lags`."""
    diff = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    diff = diff[np.isfinite(diff)]
    if len(diff) < 2:
        return Paired(math.nan, math.nan, len(diff), lags)
    lags = max(0, min(lags, len(diff) - 1))
    fit = sm.OLS(diff, np.ones(len(diff))).fit(cov_type="HAC", cov_kwds={"maxlags": lags})
    return Paired(float(fit.params[0]), float(fit.bse[0]), len(diff), lags)
