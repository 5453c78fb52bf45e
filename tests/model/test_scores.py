"""The scoring rules and the paired comparison, on hand-checked numbers."""

from __future__ import annotations

import numpy as np
import pytest

from cryptopredict.model.scores import (
    Paired,
    interval_score,
    overlap_lags,
    paired,
    pinball,
    quantile_score,
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
    result = paired(windows, np.zeros_like(windows), lags=overlap_lags(30, 1))
    assert result.lags == 30
    assert result.n == len(windows)
    assert result.se > 3 * naive_se
    assert paired(windows, np.zeros_like(windows), lags=0).se == pytest.approx(naive_se, rel=0.01)


def test_a_difference_within_two_standard_errors_is_a_tie():
    assert Paired(-0.01, 0.006, 100, 1).verdict() == "tie"
    assert Paired(-0.013, 0.006, 100, 1).verdict() == "lower"
    assert Paired(0.013, 0.006, 100, 1).verdict() == "higher"


def test_unknown_outcomes_are_left_out_of_the_comparison():
    a = np.array([1.0, 2.0, np.nan, 4.0])
    result = paired(a, np.zeros(4), lags=1)
    assert result.n == 3
    assert result.diff == pytest.approx(7 / 3)
