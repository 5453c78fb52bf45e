"""The scoring rules and the paired comparison, on hand-checked numbers."""

from __future__ import annotations

import numpy as np
import pytest

from cryptopredict.standard_error import (
    interval_score,
    mean_se,
    overlap_lags,
    pinball,
    quantile_score,
    relative,
    tails,
)


def test_tails_of_the_served_levels():
    assert tails(80) == pytest.approx((0.1, 0.9))
    assert tails(50) == pytest.approx((0.25, 0.75))
    assert tails(95) == pytest.approx((0.025, 0.975))


def test_the_interval_score_is_the_width_plus_the_penalty_for_a_miss():
    lower, upper = np.array([100.0, 100.0]), np.array([110.0, 110.0])
    inside, above = 105.0, 121.0
    scores = interval_score(np.array([inside, above]), lower, upper, 80)
    width = np.log(1.1)
    assert scores[0] == pytest.approx(width)
    # alpha = 0.2: each log unit outside costs 2 / 0.2 = 10.
    assert scores[1] == pytest.approx(width + 10 * np.log(121 / 110))


def test_pinball_loss_weighs_misses_by_the_quantile():
    actual = np.array([110.0])
    assert pinball(actual, np.array([100.0]), 0.9)[0] == pytest.approx(0.9 * np.log(1.1))
    assert pinball(actual, np.array([121.0]), 0.9)[0] == pytest.approx(0.1 * np.log(1.1))


def test_the_quantile_score_averages_the_median_and_every_band_end():
    actual = np.array([100.0])
    bands = {80: (np.array([90.0]), np.array([110.0]))}
    expected = np.mean([0.0, 0.1 * np.log(100 / 90), 0.1 * np.log(110 / 100)])
    assert quantile_score(actual, np.array([100.0]), bands)[0] == pytest.approx(expected)


def test_overlapping_horizons_widen_the_standard_error():
    # Scores of overlapping 30-step windows of one noise sequence: strongly autocorrelated.
    noise = np.random.default_rng(42).normal(size=3000)
    windows = np.convolve(noise, np.ones(30), "valid")
    naive_se = windows.std(ddof=1) / np.sqrt(len(windows))
    result = mean_se(windows, overlap_lags(30, 1))
    assert result.lags == 30
    assert result.n == len(windows)
    assert result.se > 3 * naive_se
    assert result.se == mean_se(windows, 30).se


def test_unknown_outcomes_are_left_out_of_the_comparison():
    a = np.array([1.0, 2.0, np.nan, 4.0])
    result = mean_se(a, 1)
    assert result.n == 3
    assert result.mean == pytest.approx(7 / 3)


def test_the_relative_difference_and_its_bound():
    """(mean a) / (mean b) - 1, its standard error by the ratio's influence: on independent
    scores, the delta method's."""
    rng = np.random.default_rng(7)
    b = rng.gamma(4.0, 0.01, size=4000)
    a = 0.9 * b + rng.normal(0, 0.002, size=4000)
    a[17], b[33] = np.nan, np.inf  # unknown scores are left out
    found = relative(a, b, 1)
    known = np.isfinite(a) & np.isfinite(b)
    ratio = a[known].mean() / b[known].mean()
    assert found.mean == pytest.approx(ratio - 1)
    delta = (a[known] - ratio * b[known]) / b[known].mean()
    assert found.se == pytest.approx(delta.std() / np.sqrt(known.sum()), rel=0.05)
    assert found.upper() == pytest.approx(found.mean + found.critical(one_sided=True) * found.se)
    assert found.verdict() == "lower"
    assert np.isnan(relative(a[:1], b[:1], 1).se)
