"""The one standard error every verdict rests on (`cryptopredict.standard_error`): on simulated
overlapping errors of known variance it recovers their variance where Bartlett's kernel does
not, its t critical values hold with few independent windows, and its running sums give the
same figure whether the series comes at once or a batch at a time with gaps."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats

from cryptopredict import standard_error
from cryptopredict.standard_error import (
    MeanSE,
    bartlett,
    flat_top,
    hac,
    hac_lags,
    mean_se,
    t_quantile,
)

SEED = 20260216
STEP = 7  # hours between the backtest's band origins


def _overlapping(rng: np.random.Generator, n: int, overlap: int) -> np.ndarray:
    """Scores of `overlap`-step windows of one noise sequence: autocorrelated over the overlap."""
    return np.convolve(rng.normal(size=n + overlap - 1), np.ones(overlap), "valid") / overlap


def _backtest_errors(rng: np.random.Generator, n: int, hours: int) -> np.ndarray:
    """The backtest's design: log errors `hours` ahead from `n` origins STEP hours apart, of
    hourly moves with unit variance and fat tails (Student's t, 5 degrees of freedom)."""
    moves = rng.standard_t(5, size=n * STEP + hours) / math.sqrt(5 / 3)
    path = np.concatenate([[0.0], np.cumsum(moves)])
    origins = np.arange(n) * STEP
    return path[origins + hours] - path[origins]


def _true_se(n: int, hours: int) -> float:
    """The standard error of their mean, known: errors k origins apart share max(0, hours - k *
    STEP) hours of moves."""
    apart = np.arange(1, n)
    shared = np.clip(hours - apart * STEP, 0, None)
    return math.sqrt(n * hours + 2 * float(((n - apart) * shared).sum())) / n


def _statsmodels_variance(values: np.ndarray, reach: int, kernel) -> float:
    fit = sm.OLS(values, np.ones(len(values))).fit(
        cov_type="HAC", cov_kwds={"maxlags": reach, "kernel": kernel}
    )
    return float(fit.cov_params()[0, 0])


def _direct(at: np.ndarray, values: np.ndarray, weights: np.ndarray) -> tuple[float, ...]:
    """The definitions, pair by pair: the sum of w(|t_i - t_j|) e_i e_j over n^2 and the sum of
    w over n^2; and n over the sum of w^2 over the lags -lags..lags."""
    lags = len(weights) - 1
    error = values - values.mean()
    apart = np.abs(at[:, None] - at[None, :])
    kernel = np.where(apart <= lags, weights[np.minimum(apart, lags)], 0.0)
    n = len(values)
    df = n / (1 + 2 * (weights[1:] ** 2).sum())
    return float(error @ kernel @ error / n**2), float(kernel.sum() / n**2), df


@pytest.mark.parametrize("hours", [24, 168, 720])
def test_it_recovers_the_variance_of_overlapping_errors_where_bartlett_falls_short(hours):
    """Errors `hours` ahead from origins 7 h apart over 24 independent windows (the 30-day
    horizon's over two years): the flat top's standard error is the true one, on average over
    replications; Bartlett's kernel at as many lags as the overlap falls short."""
    rng = np.random.default_rng(SEED)
    overlap = math.ceil(hours / STEP)
    n = 24 * overlap
    ours, theirs = [], []
    for _ in range(150):
        errors = _backtest_errors(rng, n, hours)
        ours.append(mean_se(errors, overlap).se ** 2)
        theirs.append(_statsmodels_variance(errors, overlap, bartlett))
    truth = _true_se(n, hours)
    # Each squared SE has a relative spread of sqrt(2 / df), df about 9: over 150 draws the
    # mean's is about 0.04, so 0.12 is three of them.
    assert math.sqrt(np.mean(ours)) / truth == pytest.approx(1.0, abs=0.06)
    assert math.sqrt(np.mean(theirs)) / truth < 0.9


@pytest.mark.parametrize("windows", [6, 10, 24])
def test_its_t_critical_values_hold_with_few_windows(windows):
    """A 95% interval from the t with `df` degrees of freedom holds the true mean (zero) about
    95% of the time at 7 days, over as few as six independent windows; plain two standard
    errors of the raw HAC variance would not."""
    rng = np.random.default_rng(SEED + windows)
    hours = 168
    overlap = math.ceil(hours / STEP)
    n = windows * overlap
    held, raw_held = [], []
    for _ in range(400):
        errors = _backtest_errors(rng, n, hours)
        found = mean_se(errors, overlap)
        held.append(abs(found.mean) <= found.critical() * found.se)
        raw, _, _ = hac(np.arange(n), errors, flat_top(2 * found.lags, flat=found.lags))
        raw_held.append(abs(found.mean) <= 2 * math.sqrt(max(raw, 0.0)))
    # 400 draws of a 95% event: a standard deviation of 1.1 points, three of them allowed.
    assert np.mean(held) == pytest.approx(0.95, abs=0.033)
    if windows <= 10:
        assert np.mean(raw_held) < 0.9


def test_a_verdict_needs_enough_windows_and_few_of_them_ask_for_more():
    assert MeanSE(-0.01, 0.004, 500, 24, 1000.0).verdict() == "lower"
    assert MeanSE(0.01, 0.004, 500, 24, 1000.0).verdict() == "higher"
    assert MeanSE(-0.008, 0.004, 500, 24, 1000.0).verdict() == "tie"  # two SEs at least
    few = MeanSE(-0.0096, 0.004, 120, 24, 5.0)  # 2.4 SEs, but t(5) wants 2.57
    assert few.critical() == pytest.approx(stats.t.ppf(0.975, 5))
    assert few.verdict() == "tie"
    assert few.upper() == pytest.approx(-0.0096 + stats.t.ppf(0.95, 5) * 0.004)
    assert MeanSE(-0.05, 0.004, 40, 24, 1.9).verdict() == "too few windows"
    assert math.isnan(MeanSE(-0.05, 0.004, 40, 24, 1.9).upper())
    assert MeanSE(1.0, math.nan, 1, 24, math.nan).verdict() == "too few windows"


def test_few_windows_are_counted_as_few():
    """The degrees of freedom are about 3/8 of the independent windows: six are enough for a
    verdict, five are not."""
    rng = np.random.default_rng(SEED)
    for windows in (6, 24, 100):
        found = mean_se(_overlapping(rng, windows * 24, 24), 24)
        assert found.df == pytest.approx(3 * windows / 8, rel=0.02)
        assert found.verdict() != "too few windows"
    assert mean_se(_overlapping(rng, 5 * 24, 24), 24).verdict() == "too few windows"


@pytest.mark.parametrize("df", [0.7, 1.3, 2.0, 3.7, 9.0, 30.0, 200.0, 5000.0])
def test_t_quantiles_are_students(df):
    for p in (0.025, 0.05, 0.5, 0.9, 0.95, 0.975, 0.999):
        assert t_quantile(p, df) == pytest.approx(stats.t.ppf(p, df), rel=1e-9, abs=1e-12)
    with pytest.raises(ValueError, match="0 < p < 1"):
        t_quantile(1.0, df)
    with pytest.raises(ValueError, match="df > 0"):
        t_quantile(0.9, 0.0)


@pytest.mark.parametrize(("n", "overlap"), [(40, 3), (500, 24), (2400, 103), (30, 60)])
def test_its_variance_is_statsmodels_hac_with_a_flat_top_less_its_bias(n, overlap):
    values = _overlapping(np.random.default_rng(SEED), n, max(overlap, 2))
    found = mean_se(values, overlap)
    assert (found.n, found.lags) == (n, min(hac_lags(overlap, n), n - 1))
    reach = min(2 * found.lags, n - 1)
    weights = flat_top(reach, flat=found.lags)
    wanted = _statsmodels_variance(values, reach, functools.partial(flat_top, flat=found.lags))
    if n == 30:  # all 30 values within the flat part: it sums to nothing, its bias is all
        weights = bartlett(reach)
        wanted = _statsmodels_variance(values, reach, bartlett)
    _, share, df = _direct(np.arange(n), values, weights)
    assert found.mean == pytest.approx(values.mean(), rel=1e-12)
    assert found.se == pytest.approx(math.sqrt(wanted / (1 - share)), rel=1e-9)
    assert found.df == pytest.approx(df, rel=1e-9)


def test_where_the_flat_top_is_not_positive_bartlett_at_twice_the_width():
    # Alternating values: negative autocovariances at odd lags outweigh the rest.
    values = np.tile([1.0, -1.0, 0.5, -0.5], 50) + np.linspace(0, 0.01, 200)
    reach = 2 * hac_lags(6, 200)
    flat = sm.OLS(values, np.ones(200)).fit(
        cov_type="HAC",
        cov_kwds={"maxlags": reach, "kernel": functools.partial(flat_top, flat=reach // 2)},
    )
    assert not flat.cov_params()[0, 0] > 0
    _, share, _ = _direct(np.arange(200), values, bartlett(reach))
    wanted = _statsmodels_variance(values, reach, bartlett) / (1 - share)
    assert mean_se(values, 6).se == pytest.approx(math.sqrt(wanted), rel=1e-9)


def test_overlap_widens_it_and_the_weights_have_their_shape():
    values = _overlapping(np.random.default_rng(SEED), 3000, 30)
    independent = values.std() / np.sqrt(len(values))
    assert mean_se(values, 30).se > 3 * independent
    assert hac_lags(24, 2500) == 24
    assert hac_lags(1, 2500) == 8  # 4 (n / 100) ** (2 / 9)
    assert flat_top(8, flat=4).tolist() == [1, 1, 1, 1, 1, 0.75, 0.5, 0.25, 0]
    assert bartlett(3).tolist() == [1, 0.75, 0.5, 0.25]


def test_non_finite_values_are_left_out_and_one_value_has_no_error():
    found = mean_se(np.array([1.0, np.nan, 3.0, np.inf, 2.0, 2.5, 1.5]), 1)
    assert (found.mean, found.n) == (2.0, 5)
    assert found.se > 0
    one = mean_se(np.array([5.0]), 3)
    assert (one.mean, one.n) == (5.0, 1)
    assert math.isnan(one.se)
    assert one.verdict() == "too few windows"


def test_steps_place_the_values():
    """Values at steps far apart pair with nothing: the standard error of independent values."""
    values = np.random.default_rng(SEED).normal(size=400)
    apart = mean_se(values, 5, steps=np.arange(400) * 100)
    _, share, _ = _direct(np.arange(400) * 100, values, flat_top(10, flat=5))
    assert share == pytest.approx(1 / 400)
    assert apart.se == pytest.approx(values.std() / math.sqrt(399), rel=1e-9)


@pytest.mark.parametrize("direct", [1 << 40, 0], ids=["dot products", "fft"])
def test_the_sums_with_gaps_equal_the_definition(direct, monkeypatch):
    monkeypatch.setattr(standard_error, "DIRECT", direct)
    rng = np.random.default_rng(SEED)
    at = np.sort(rng.choice(6000, 4000, replace=False))  # a third of the steps missing
    weights = flat_top(240, flat=120)
    for values in (_overlapping(rng, 4000, 50), rng.integers(0, 2, 4000).astype(float)):
        found = hac(at, values, weights)
        assert found == pytest.approx(_direct(at, values, weights), rel=1e-9)


def test_a_gap_pairs_with_nothing():
    """Values a long gap apart do not pair: the variance is that of two unrelated halves."""
    rng = np.random.default_rng(SEED)
    values = np.concatenate([_overlapping(rng, 500, 10), _overlapping(rng, 500, 10)])
    at = np.concatenate([np.arange(500), 100_000 + np.arange(500)])
    weights = flat_top(20, flat=10)
    apart = hac(at, values, weights)[0]
    assert apart == pytest.approx(_direct(at, values, weights)[0], rel=1e-9)
    joined = hac(np.arange(1000), values, weights)[0]  # the second half right after the first
    assert apart != pytest.approx(joined, rel=1e-6)


def test_steps_must_move_forward():
    with pytest.raises(ValueError, match="increase"):
        mean_se(np.array([1.0, 2.0, 3.0]), 1, steps=np.array([3, 4, 4]))
