"""The one standard error behind every verdict, coverage, panel figure, gate and live score: of
the mean of values that overlap in time (numpy alone: the API's live scorecard uses it).

Forecasts h ahead from origins s apart are MA(ceil(h / s) - 1), so the variance of their mean
needs every autocovariance within the overlap at full weight: a HAC (Newey-West) variance with
a flat-top kernel (Politis & Romano), weight 1 up to the overlap, falling to 0 at twice it;
Bartlett's at twice the width where the flat top is not positive. With few independent windows
the variance is divided by (1 - the kernel's total weight / n), its first-order bias, and the
critical values are Student's t with `df` = n / (sum of squared weights), at least two standard
errors; below MIN_DF the verdict is "too few windows" (docs/model.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
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
    flat, fallback = LaggedSums(flat_top(reach, flat=lags)), LaggedSums(bartlett(reach))
    flat.add(at, x[:, None])
    fallback.add(at, x[:, None])
    se, df = _se_and_df(flat, fallback)
    return MeanSE(float(x.mean()), float(se[0]), n, lags, float(df[0]))


def hac_lags(overlap: int, n: int) -> int:
    """The flat top's width: the overlap, at least Newey and West's (1994) rule for `n`."""
    return max(1, overlap, math.floor(4 * (n / 100) ** (2 / 9)))


def flat_top(nlags: int, *, flat: int) -> np.ndarray:
    return np.clip(2 - np.arange(nlags + 1) / max(flat, 1), 0.0, 1.0)


def bartlett(nlags: int) -> np.ndarray:
    return 1.0 - np.arange(nlags + 1) / (nlags + 1)


def _se_and_df(flat: LaggedSums, fallback: LaggedSums) -> tuple[np.ndarray, np.ndarray]:
    """Per column, the standard error and the df: the flat top's, else Bartlett's."""
    raw, share = flat.variance(), flat.weight_share()
    usable = (raw > 0) & (share < 1)
    variance = np.where(usable, raw, fallback.variance())
    share = np.where(usable, share, fallback.weight_share())
    df = np.where(usable, flat.df(), fallback.df())
    return np.sqrt(np.maximum(variance, 0.0) / (1 - share)), df


class LaggedSums:
    """A series' count, mean and HAC variance of its mean with the lag `weights`, as running sums
    over values arriving in time order at their steps."""

    def __init__(self, weights: np.ndarray, columns: int = 1) -> None:
        self.weights = np.asarray(weights, dtype=np.float64)
        self.lags = len(self.weights) - 1
        self.columns = columns
        self.n = 0
        self.first: int | None = None
        self.last: int | None = None
        self._shift = np.zeros(columns)  # values are kept less this, for precision
        self._sum = np.zeros(columns)
        self._products = np.zeros(columns)  # sum over pairs i, j of w * x_i * x_j
        self._weighted = np.zeros(columns)  # sum over pairs of w * x_i
        self._pairs = 0.0  # sum over pairs of w
        self._tail_at = np.empty(0, dtype=np.int64)
        self._tail = np.empty((0, columns))

    def add(self, at: np.ndarray, values: np.ndarray) -> None:
        at = np.asarray(at, dtype=np.int64)
        if not len(at):
            return
        values = np.asarray(values, dtype=np.float64).reshape(len(at), self.columns)
        if np.any(np.diff(at) <= 0) or (self.last is not None and at[0] <= self.last):
            raise ValueError("steps must increase, after every step taken so far")
        if self.n == 0:
            self._shift = values.mean(axis=0)
            self.first = int(at[0])
        values = values - self._shift
        # Runs farther apart than the lags share no pair: each is taken with its own window.
        breaks = np.flatnonzero(np.diff(at) > self.lags) + 1
        for run_at, run in zip(np.split(at, breaks), np.split(values, breaks), strict=True):
            self._add_run(run_at, run)
        self.last = int(at[-1])

    def _add_run(self, at: np.ndarray, values: np.ndarray) -> None:
        start = int(at[0]) - self.lags
        keep = self._tail_at >= start
        old_at, old = self._tail_at[keep], self._tail[keep]
        length = int(at[-1]) - start + 1
        dense = np.zeros((length, self.columns))
        present = np.zeros(length)
        dense[old_at - start], present[old_at - start] = old, 1.0
        dense[at - start], present[at - start] = values, 1.0
        # Each new value's weighted neighbours among the `lags` steps before it.
        rows = at - start
        near = _neighbours(dense, self.weights, rows)
        near_count = _neighbours(present[:, None], self.weights, rows)[:, 0]
        w0 = self.weights[0]
        self.n += len(at)
        self._sum += values.sum(axis=0)
        self._products += (w0 * values**2 + 2 * values * near).sum(axis=0)
        self._weighted += (w0 * values + values * near_count[:, None] + near).sum(axis=0)
        self._pairs += float((w0 + 2 * near_count).sum())
        tail_at, tail = np.concatenate([old_at, at]), np.concatenate([old, values])
        recent = tail_at > int(at[-1]) - self.lags
        self._tail_at, self._tail = tail_at[recent], tail[recent]

    def mean(self) -> np.ndarray:
        if self.n == 0:
            return np.full(self.columns, np.nan)
        return self._sum / self.n + self._shift

    def variance(self) -> np.ndarray:
        """Per column, the sum over pairs of w * e_i * e_j / n^2, e the values less their mean."""
        if self.n < 2:
            return np.full(self.columns, np.nan)
        mean = self._sum / self.n
        spread = self._products - 2 * mean * self._weighted + mean**2 * self._pairs
        return spread / self.n**2

    def weight_share(self) -> np.ndarray:
        """The variance's first-order bias as a share of it: the sum over pairs of w / n^2."""
        return np.full(self.columns, self._pairs / self.n**2 if self.n else np.nan)

    def df(self) -> np.ndarray:
        """Priestley's equivalent degrees of freedom: n / the sum of the squared weights."""
        squares = 1 + 2 * float((self.weights[1:] ** 2).sum())
        return np.full(self.columns, self.n / squares if self.n else np.nan)


DIRECT = 64  # new values up to which neighbours are summed directly, not by FFT


def _neighbours(dense: np.ndarray, weights: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Per row r of `rows`: sum over k = 1..lags of weights[k] * dense[r - k], per column."""
    lags = len(weights) - 1
    if len(rows) <= DIRECT:  # a few new values: a dot product each
        out = np.zeros((len(rows), dense.shape[1]))
        for index, row in enumerate(rows):
            before = dense[max(0, row - lags) : row][::-1]
            out[index] = weights[1 : 1 + len(before)] @ before
        return out
    kernel = np.concatenate([[0.0], weights[1:]])
    size = len(dense) + len(kernel) - 1
    fft = 1 << max(0, (size - 1).bit_length())
    spectrum = np.fft.rfft(dense, fft, axis=0) * np.fft.rfft(kernel, fft)[:, None]
    return np.fft.irfft(spectrum, fft, axis=0)[rows]


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
