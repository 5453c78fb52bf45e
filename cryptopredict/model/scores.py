"""The scores forecasters use, on log prices, and paired comparisons with the one standard error.

- Interval score (Gneiting & Raftery 2007) of a central band at level L (alpha = 1 - L): its width
  plus 2 / alpha times how far the outcome fell outside it. Lower is better; it rewards bands
  that are narrow and still hold the price, and is proper: a forecaster cannot game it.
- Quantile score: the mean pinball loss over the served quantiles (the median and both ends of
  every band), an approximation of the CRPS of the whole forecast distribution.
- Paired differences between two forecasters on the same origins, and the relative difference
  of their means, with the one standard error (`cryptopredict.standard_error`): origins closer
  than the horizon share part of their outcome, so their score differences are correlated.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

# The band's own scores live where the API's live scorecard reads them too (numpy alone).
from cryptopredict.band_scores import inside, interval_score, overlap_lags, tails
from cryptopredict.standard_error import MeanSE, mean_se

__all__ = [
    "MeanSE",
    "inside",
    "interval_score",
    "mean_se",
    "overlap_lags",
    "paired",
    "pinball",
    "quantile_score",
    "relative",
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


def paired(a: np.ndarray, b: np.ndarray, overlap: int) -> MeanSE:
    """The mean of `a - b` (same origins, in time order; pairs with an unknown score left out)
    with its standard error over origins `overlap` steps apart sharing their outcome."""
    return mean_se(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64), overlap)


def relative(a: np.ndarray, b: np.ndarray, overlap: int) -> MeanSE:
    """mean(a) / mean(b) - 1 over the origins where both are known, with its standard error (the
    ratio's influence, (a - (1 + r) b) / mean(b), through the same estimator)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    known = np.isfinite(a) & np.isfinite(b)
    if known.sum() < 2:
        return MeanSE(math.nan, math.nan, int(known.sum()), overlap, math.nan)
    base = b[known].mean()
    ratio = a[known].mean() / base
    found = mean_se(np.where(known, (a - ratio * b) / base, np.nan), overlap)
    return replace(found, mean=float(ratio - 1))
