"""The standard error every verdict rests on (`cryptopredict.band_scores`): the series at once
(`mean_se`, equal to statsmodels' HAC covariance of a mean with the same kernels) and a batch at
a time with gaps (`OverlapSums`, the live scorecard's), one estimator."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import statsmodels.api as sm

from cryptopredict import band_scores
from cryptopredict.band_scores import (
    LaggedSums,
    OverlapSums,
    bartlett,
    flat_top,
    hac_lags,
    mean_se,
)

SEED = 20260216


def _overlapping(rng: np.random.Generator, n: int, overlap: int) -> np.ndarray:
    """Scores of `overlap`-step windows of one noise sequence: autocorrelated over the overlap."""
    return np.convolve(rng.normal(size=n + overlap - 1), np.ones(overlap), "valid") / overlap


def _statsmodels_variance(values: np.ndarray, reach: int, kernel) -> float:
    fit = sm.OLS(values, np.ones(len(values))).fit(
        cov_type="HAC", cov_kwds={"maxlags": reach, "kernel": kernel}
    )
    return float(fit.cov_params()[0, 0])


def _direct(at: np.ndarray, values: np.ndarray, weights: np.ndarray) -> float:
    """The definition, pair by pair: the sum of w(|t_i - t_j|) e_i e_j over n^2."""
    lags = len(weights) - 1
    error = values - values.mean()
    apart = np.abs(at[:, None] - at[None, :])
    kernel = np.where(apart <= lags, weights[np.minimum(apart, lags)], 0.0)
    return float(error @ kernel @ error / len(values) ** 2)


@pytest.mark.parametrize(("n", "overlap"), [(40, 3), (500, 24), (2400, 103), (30, 60)])
def test_the_standard_error_is_statsmodels_hac_with_a_flat_top(n, overlap):
    values = _overlapping(np.random.default_rng(SEED), n, max(overlap, 2))
    mean, se, count, lags = mean_se(values, overlap)
    assert (count, lags) == (n, min(hac_lags(overlap, n), n - 1))
    reach = min(2 * lags, n - 1)
    wanted = _statsmodels_variance(values, reach, functools.partial(flat_top, flat=lags))
    if not wanted > 0:  # all 30 values within the lags: the flat top sums to nothing
        assert n == 30
        wanted = _statsmodels_variance(values, reach, bartlett)
    assert mean == pytest.approx(values.mean(), rel=1e-12)
    assert se == pytest.approx(np.sqrt(wanted), rel=1e-9)


def test_where_the_flat_top_is_not_positive_bartlett_at_twice_the_width():
    # Alternating values: negative autocovariances at odd lags outweigh the rest.
    values = np.tile([1.0, -1.0, 0.5, -0.5], 50) + np.linspace(0, 0.01, 200)
    reach = 2 * hac_lags(6, 200)
    flat = sm.OLS(values, np.ones(200)).fit(
        cov_type="HAC",
        cov_kwds={"maxlags": reach, "kernel": functools.partial(flat_top, flat=reach // 2)},
    )
    assert not flat.cov_params()[0, 0] > 0
    _, se, _, _ = mean_se(values, 6)
    assert se == pytest.approx(np.sqrt(_statsmodels_variance(values, reach, bartlett)), rel=1e-9)


def test_overlap_widens_it_and_the_weights_have_their_shape():
    values = _overlapping(np.random.default_rng(SEED), 3000, 30)
    independent = values.std() / np.sqrt(len(values))
    assert mean_se(values, 30)[1] > 3 * independent
    assert hac_lags(24, 2500) == 24
    assert hac_lags(1, 2500) == 8  # 4 (n / 100) ** (2 / 9)
    assert flat_top(8, flat=4).tolist() == [1, 1, 1, 1, 1, 0.75, 0.5, 0.25, 0]
    assert bartlett(3).tolist() == [1, 0.75, 0.5, 0.25]


def test_non_finite_values_are_left_out_and_one_value_has_no_error():
    mean, se, count, _ = mean_se(np.array([1.0, np.nan, 3.0, np.inf, 2.0]), 1)
    assert (mean, count) == (2.0, 3)
    assert se > 0
    mean, se, count, _ = mean_se(np.array([5.0]), 3)
    assert (mean, count) == (5.0, 1)
    assert np.isnan(se)


@pytest.mark.parametrize("direct", [band_scores.DIRECT, 0], ids=["dot products", "fft"])
def test_running_sums_in_batches_with_gaps_equal_the_definition(direct, monkeypatch):
    monkeypatch.setattr(band_scores, "DIRECT", direct)
    rng = np.random.default_rng(SEED)
    at = np.sort(rng.choice(6000, 4000, replace=False))  # a third of the steps missing
    values = np.column_stack([_overlapping(rng, 4000, 50), rng.integers(0, 2, 4000)])
    weights = flat_top(240, flat=120)
    whole = LaggedSums(weights, columns=2)
    whole.add(at, values)
    batches = LaggedSums(weights, columns=2)
    for rows in np.array_split(np.arange(4000), 57):
        batches.add(at[rows], values[rows])
    batches.add(at[:0], values[:0])  # an empty batch changes nothing
    assert batches.n == whole.n == 4000
    assert batches.mean() == pytest.approx(values.mean(axis=0), rel=1e-12)
    for col in range(2):
        wanted = _direct(at, values[:, col], weights)
        assert whole.variance()[col] == pytest.approx(wanted, rel=1e-9)
        assert batches.variance()[col] == pytest.approx(wanted, rel=1e-9)


def test_overlap_sums_equal_mean_se_on_a_series_without_gaps():
    rng = np.random.default_rng(SEED)
    values = np.column_stack([_overlapping(rng, 3000, 60), rng.integers(0, 2, 3000)])
    sums = OverlapSums(60, columns=2)
    for rows in np.array_split(np.arange(3000), 11):
        sums.add(rows + 1000, values[rows])
    for col in range(2):
        mean, se, _, _ = mean_se(values[:, col], 60)
        assert sums.mean()[col] == pytest.approx(mean, rel=1e-12)
        assert sums.se()[col] == pytest.approx(se, rel=1e-9)


def test_a_gap_pairs_with_nothing():
    """Values a long gap apart do not pair: the variance is that of two unrelated halves."""
    rng = np.random.default_rng(SEED)
    values = np.concatenate([_overlapping(rng, 500, 10), _overlapping(rng, 500, 10)])
    at = np.concatenate([np.arange(500), 100_000 + np.arange(500)])
    weights = flat_top(20, flat=10)
    apart = LaggedSums(weights)
    apart.add(at, values)
    assert apart.variance()[0] == pytest.approx(_direct(at, values, weights), rel=1e-9)
    joined = LaggedSums(weights)  # as if the second half came right after the first
    joined.add(np.arange(1000), values)
    assert apart.variance()[0] != pytest.approx(joined.variance()[0], rel=1e-6)


def test_no_standard_error_before_the_steps_span_twice_the_overlap():
    sums = OverlapSums(30)
    sums.add(np.arange(30), np.sin(np.arange(30.0)))
    assert sums.n == 30
    assert np.isnan(sums.se()[0])
    sums.add(np.arange(30, 61), np.sin(np.arange(30.0, 61.0)))
    assert np.isfinite(sums.se()[0])


def test_steps_must_move_forward():
    sums = LaggedSums(bartlett(5))
    sums.add(np.array([3, 4]), np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="increase"):
        sums.add(np.array([4]), np.array([1.0]))
    with pytest.raises(ValueError, match="increase"):
        sums.add(np.array([9, 8]), np.array([1.0, 2.0]))
    assert sums.n == 2
