"""The one standard error behind every verdict, coverage, panel figure, gate and live score: of
the mean of values that overlap in time (numpy alone: the API's live scorecard uses it).

Forecasts h ahead from origins s apart are MA(ceil(h / s) - 1), so the variance of their mean
needs every autocovariance within the overlap at full weight: a HAC (Newey-West) variance with
a flat-top kernel (Politis & Romano), weight 1 up to the overlap, falling to 0 at twice it;
Bartlett's at twice the width where the flat top is not positive. With few independent windows
the variance is divided by (1 - the kernel's total weight / n), its first-order bias, and the
critical values are Student's t with `df` = n / (sum of squared weights), at least two standard
errors; below MIN_DF the verdict is "too few windows" (docs/model.md).

And how a forecast and its band are scored on log prices, by the backtest and the API's live
scorecard alike, and paired comparisons with their standard error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

MIN_DF = 2.0  # below it the t has no variance: "too few windows"
TIE_AT = 2.0  # standard errors within which a difference is a tie, at least (the project's rule)
Verdict = Literal["lower", "higher", "tie", "too few windows"]


@dataclass(frozen=True)
class MeanSE:
    """The mean, its standard error, the count, the flat top's width and the variance's df."""

    mean: float
    se: float
    n: int
    lags: int
    df: float

    @property
    def enough(self) -> bool:
        return math.isfinite(self.se) and self.df >= MIN_DF

    def critical(self, *, one_sided: bool = False) -> float:
        """Student's t's 95% point with `df` (two-sided at least TIE_AT; NaN: not `enough`)."""
        if not self.enough:
            return math.nan
        if one_sided:
            return t_quantile(0.95, self.df)
        return max(TIE_AT, t_quantile(0.975, self.df))

    def upper(self) -> float:
        return self.mean + self.critical(one_sided=True) * self.se

    def verdict(self) -> Verdict:
        if not self.enough:
            return "too few windows"
        if abs(self.mean) <= self.critical() * self.se:
            return "tie"
        return "lower" if self.mean < 0 else "higher"


def mean_se(values: np.ndarray, overlap: int, steps: np.ndarray | None = None) -> MeanSE:
    """The mean of the finite `values` (in time order, at `steps`, default one apart) and its
    standard error, values closer than `overlap` steps sharing part of their outcome."""
    x = np.asarray(values, dtype=np.float64)
    at = np.arange(len(x)) if steps is None else np.asarray(steps, dtype=np.int64)
    finite = np.isfinite(x)
    x, at = x[finite], at[finite]
    n = len(x)
    if n < 2:
        return MeanSE(float(x.mean()) if n else math.nan, math.nan, n, overlap, math.nan)
    lags = min(hac_lags(overlap, n), n - 1)
    reach = min(2 * lags, n - 1)
    variance, share, df = hac(at, x, flat_top(reach, flat=lags))
    if not (variance > 0 and share < 1):  # Bartlett's, always positive
        variance, share, df = hac(at, x, bartlett(reach))
    return MeanSE(float(x.mean()), math.sqrt(max(variance, 0.0) / (1 - share)), n, lags, df)


def hac_lags(overlap: int, n: int) -> int:
    """The flat top's width: the overlap, at least Newey and West's (1994) rule for `n`."""
    return max(1, overlap, math.floor(4 * (n / 100) ** (2 / 9)))


def flat_top(nlags: int, *, flat: int) -> np.ndarray:
    return np.clip(2 - np.arange(nlags + 1) / max(flat, 1), 0.0, 1.0)


def bartlett(nlags: int) -> np.ndarray:
    return 1.0 - np.arange(nlags + 1) / (nlags + 1)


def hac(at: np.ndarray, values: np.ndarray, weights: np.ndarray) -> tuple[float, float, float]:
    """The HAC variance of the mean of `values` at steps `at` (increasing) with the lag `weights`
    (the sum over pairs of w * e_i * e_j / n^2, e the values less their mean), its first-order
    bias as a share of it (the sum over pairs of w / n^2) and Priestley's degrees of freedom."""
    at = np.asarray(at, dtype=np.int64)
    if np.any(np.diff(at) <= 0):
        raise ValueError("steps must increase")
    centred = np.asarray(values, dtype=np.float64)
    centred = centred - centred.mean()  # for precision
    lags, w0, n = len(weights) - 1, weights[0], len(at)
    total = products = weighted = pairs = 0.0
    # Runs farther apart than the lags share no pair: each is taken with its own window.
    breaks = np.flatnonzero(np.diff(at) > lags) + 1
    for run_at, run in zip(np.split(at, breaks), np.split(centred, breaks), strict=True):
        rows = run_at - (int(run_at[0]) - lags)
        dense, present = np.zeros(int(rows[-1]) + 1), np.zeros(int(rows[-1]) + 1)
        dense[rows], present[rows] = run, 1.0
        near = _neighbours(dense, weights, rows)
        count = _neighbours(present, weights, rows)
        total += run.sum()
        products += (w0 * run**2 + 2 * run * near).sum()
        weighted += (w0 * run + run * count + near).sum()
        pairs += float((w0 + 2 * count).sum())
    mean = total / n
    variance = (products - 2 * mean * weighted + mean**2 * pairs) / n**2
    return float(variance), pairs / n**2, n / (1 + 2 * float((weights[1:] ** 2).sum()))


DIRECT = 64  # new values up to which neighbours are summed directly, not by FFT


def _neighbours(dense: np.ndarray, weights: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Per row r of `rows`: sum over k = 1..lags of weights[k] * dense[r - k]."""
    lags = len(weights) - 1
    if len(rows) <= DIRECT:  # a few new values: a dot product each
        before = [dense[max(0, row - lags) : row][::-1] for row in rows]
        return np.array([weights[1 : 1 + len(values)] @ values for values in before])
    kernel = np.concatenate([[0.0], weights[1:]])
    size = len(dense) + len(kernel) - 1
    fft = 1 << max(0, (size - 1).bit_length())
    spectrum = np.fft.rfft(dense, fft) * np.fft.rfft(kernel, fft)
    return np.fft.irfft(spectrum, fft)[rows]


def t_quantile(p: float, df: float) -> float:
    """Student's t's `p` quantile with `df` > 0: the incomplete beta inverted by bisection."""
    if not 0 < p < 1 or not df > 0:
        raise ValueError(f"t quantile of p={p} with df={df}: need 0 < p < 1 and df > 0")
    if p == 0.5:
        return 0.0
    tail = 2 * min(p, 1 - p)  # I_x(df / 2, 1 / 2) at x = df / (df + t^2)
    low, high = 0.0, 1.0
    for _ in range(100):
        middle = (low + high) / 2
        if _incomplete_beta(middle, df / 2, 0.5) < tail:
            low = middle
        else:
            high = middle
    x = (low + high) / 2
    t = math.sqrt(df * (1 - x) / x)
    return t if p > 0.5 else -t


def _incomplete_beta(x: float, a: float, b: float) -> float:
    """The regularized incomplete beta I_x(a, b) by Lentz's continued fraction."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    if x > (a + 1) / (a + b + 2):  # converges faster on the other side
        return 1.0 - _incomplete_beta(1 - x, b, a)
    front = math.exp(
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    fraction = d
    for m in range(1, 300):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            fraction *= c * d
        if abs(c * d - 1.0) < 1e-15:
            break
    return front * fraction / a


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
