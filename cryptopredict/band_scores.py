"""How a forecast band is scored, on numpy alone: shared by the backtest (`model/`) and the live
scorecard the API keeps (`api/serving/scorecard.py`), so both score and judge alike.

- Whether the outcome fell inside the band, and the band's interval score (Gneiting & Raftery
  2007) on log prices: its width plus 2 / alpha times how far the outcome fell outside it, for a
  central band at level L (alpha = 1 - L). Lower is better; the score is proper.
- The standard error of a mean over outcomes that overlap (`mean_se`): forecasts whose outcome
  windows share part of one price path are correlated. A HAC (Newey-West) variance with a
  flat-top kernel: every autocovariance within the overlap at full weight, tapering to none at
  twice it; Bartlett's at twice the overlap where that is not positive. `mean_se` takes a
  series at once; `OverlapSums` takes it a batch at a time (running sums and the last values
  within reach), and gives the same figure once the series spans twice the overlap.
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


def flat_top(nlags: int, *, flat: int) -> np.ndarray:
    """HAC weights at lags 0..nlags: 1 up to `flat`, then falling linearly to 0 at twice it
    (a trapezoid, Politis & Romano's flat-top kernel)."""
    return np.clip(2 - np.arange(nlags + 1) / max(flat, 1), 0.0, 1.0)


def bartlett(nlags: int) -> np.ndarray:
    """Bartlett's HAC weights at lags 0..nlags (statsmodels' default kernel)."""
    return 1.0 - np.arange(nlags + 1) / (nlags + 1)


def hac_lags(overlap: int, n: int) -> int:
    """The flat top's width: the origins a horizon overlaps, and never fewer than Newey and
    West's (1994) rule of thumb for `n` observations (volatility persists past the overlap)."""
    return max(1, overlap, math.floor(4 * (n / 100) ** (2 / 9)))


def mean_se(values: np.ndarray, overlap: int) -> tuple[float, float, int, int]:
    """The mean of the finite `values` (in time order), its standard error, their count and the
    flat top's width: the one estimator behind every standard error the backtest, the model
    card, the panel and the live scorecard report.

    Origins closer than `overlap` steps share part of their outcome window, so their values are
    correlated: a HAC variance over `hac_lags` lags at full weight (Bartlett's triangle at as
    many lags as the overlap recovers about 0.67 of the variance of overlapping sums), tapering
    to none at twice that; if it is not positive (it need not be), Bartlett's at twice the
    width, which always is. Equal to statsmodels' HAC covariance of a mean with these kernels.
    """
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    n = len(x)
    if n < 2:
        return (float(x.mean()) if n else math.nan), math.nan, n, overlap
    lags = min(hac_lags(overlap, n), n - 1)
    reach = min(2 * lags, n - 1)
    steps = np.arange(n)
    variance = _variance(steps, x, flat_top(reach, flat=lags))
    if not variance > 0:
        variance = _variance(steps, x, bartlett(reach))
    return float(x.mean()), math.sqrt(max(variance, 0.0)), n, lags


def _variance(steps: np.ndarray, values: np.ndarray, weights: np.ndarray) -> float:
    sums = LaggedSums(weights)
    sums.add(steps, values[:, None])
    return float(sums.variance()[0])


class OverlapSums:
    """`mean_se` kept up to date as values arrive in time order, a batch at a time, each at its
    step (a whole number; a gap is a gap: values on either side of it are not paired across the
    missing steps). Every column of the values is a series of its own on the same steps.

    The state is a few sums per column and the values of the last `2 * overlap` steps, however
    long the series. The standard error equals `mean_se`'s of a series without gaps once the
    steps span twice the overlap (before that `mean_se` cuts its lags to the values there are,
    which running sums cannot do afterwards); until then it is NaN.
    """

    def __init__(self, overlap: int, columns: int = 1) -> None:
        self.overlap = overlap
        reach = 2 * overlap
        self.flat = LaggedSums(flat_top(reach, flat=overlap), columns)
        self.fallback = LaggedSums(bartlett(reach), columns)

    @property
    def n(self) -> int:
        return self.flat.n

    def add(self, at: np.ndarray, values: np.ndarray) -> None:
        """Take `values` (rows at steps `at`, increasing, after every step taken so far)."""
        self.flat.add(at, values)
        self.fallback.add(at, values)

    def mean(self) -> np.ndarray:
        return self.flat.mean()

    def se(self) -> np.ndarray:
        """Per column; NaN before the steps span twice the overlap."""
        flat = self.flat
        spans = flat.first is not None and flat.last is not None
        if not spans or flat.last - flat.first < 2 * self.overlap:  # type: ignore[operator]
            return np.full(flat.columns, np.nan)
        if hac_lags(self.overlap, flat.n) != self.overlap:  # a rule-of-thumb width: not kept
            return np.full(flat.columns, np.nan)
        variance = flat.variance()
        variance = np.where(variance > 0, variance, self.fallback.variance())
        return np.sqrt(np.maximum(variance, 0.0))


class LaggedSums:
    """A series' count, mean and HAC variance of its mean with the lag `weights` (w[0] = 1,
    then lags 1, 2, ...), kept as running sums while values arrive in time order, each at its
    step; the values of the last len(weights) - 1 steps are kept to pair the next ones with."""

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
        """Take `values` (rows at steps `at`, increasing, after every step taken so far)."""
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
        """The HAC variance of the mean, per column: sum over pairs of w * e_i * e_j / n^2,
        e the values less their mean (NaN for fewer than two values)."""
        if self.n < 2:
            return np.full(self.columns, np.nan)
        mean = self._sum / self.n
        spread = self._products - 2 * mean * self._weighted + mean**2 * self._pairs
        return spread / self.n**2


DIRECT = 1 << 20  # products up to which neighbours are summed directly, not by FFT


def _neighbours(dense: np.ndarray, weights: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Per row r of `rows`: sum over k = 1..lags of weights[k] * dense[r - k], per column (the
    rows of `dense` before the first are zeros)."""
    lags = len(weights) - 1
    if len(rows) * lags <= DIRECT:  # a few new values: a dot product each
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
