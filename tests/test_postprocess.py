"""Anchoring, damping and calibrated bands: the rules shared by training and serving."""

from __future__ import annotations

import math

import msgspec
import numpy as np
import pytest

from cryptopredict.artifact.schema import PostprocessRules
from cryptopredict.postprocess import centre, empirical_offsets, hours_ahead

ORIGIN = 1_750_000_000 - 1_750_000_000 % 3600


def rules(**changes) -> PostprocessRules:
    base = {
        "target": "log",
        "origin": ORIGIN,
        "last_close": 100_000.0,
        "model_at_origin": math.log(95_000.0),
        "anchored": True,
        "damping_hours": None,
        "interval_width": 0.8,
        "band_hours": (24.0, 168.0),
        "band_lower": (-0.03, -0.08),
        "band_upper": (0.02, 0.06),
    }
    return PostprocessRules(**{**base, **changes})


def bands_of(policy: PostprocessRules, centre: np.ndarray, ahead: np.ndarray):
    low = empirical_offsets(ahead, policy.band_hours, policy.band_lower, upper=False)
    high = empirical_offsets(ahead, policy.band_hours, policy.band_upper, upper=True)
    return centre * np.exp(low * policy.band_scale), centre * np.exp(high * policy.band_scale)


def hours(*values: float) -> np.ndarray:
    return ORIGIN + (np.asarray(values) * 3600).astype(np.int64)


def forecast(policy: PostprocessRules, ds: np.ndarray, raw: np.ndarray) -> np.ndarray:
    return centre(policy, raw, hours_ahead(policy, ds))


def test_the_anchored_path_starts_at_the_last_close_and_follows_the_model():
    raw = np.log([95_000.0, 96_900.0])  # the model rises 2% from its own origin value
    path = forecast(rules(), hours(0, 24), raw)
    np.testing.assert_allclose(path, [100_000.0, 102_000.0])


def test_without_anchoring_the_model_is_served_as_fitted():
    raw = np.log([95_000.0, 96_900.0])
    path = forecast(rules(anchored=False), hours(0, 24), raw)
    np.testing.assert_allclose(path, [95_000.0, 96_900.0])


def test_price_targets_shift_in_price_space():
    policy = rules(target="price", model_at_origin=95_000.0)
    path = forecast(policy, hours(24), np.array([96_000.0]))
    np.testing.assert_allclose(path, [101_000.0])


def test_damping_halves_the_move_at_tau_and_bounds_it():
    policy = rules(damping_hours=100.0)
    raw_move = 0.1
    raw = np.array([math.log(95_000.0) + raw_move] * 3)
    path = forecast(policy, hours(100, 1000, 10**6), raw)
    moves = np.log(path / 100_000.0)
    np.testing.assert_allclose(moves[0], raw_move / 2)
    assert moves[0] > moves[1] > moves[2] > 0


def test_bands_grow_as_a_power_of_the_lead_between_calibrated_horizons_and_as_sqrt_beyond():
    """Calibrated at 24 h and 168 h: below 24 h as sqrt(h), between them log-linear in log h
    (at 96 h, 4 of the 7 times 24 h, the distance at 24 h times (d168 / d24) ** (log 4 / log 7)),
    beyond 168 h as sqrt(h)."""
    centre = np.full(4, 100_000.0)
    lower, upper = bands_of(rules(), centre, np.array([12.0, 24.0, 96.0, 672.0]))
    power = math.log(4) / math.log(7)
    np.testing.assert_allclose(
        np.log(lower / centre),
        [-0.03 * math.sqrt(0.5), -0.03, -0.03 * (0.08 / 0.03) ** power, -0.16],
    )
    np.testing.assert_allclose(
        np.log(upper / centre),
        [0.02 * math.sqrt(0.5), 0.02, 0.02 * (0.06 / 0.02) ** power, 0.12],
    )


def test_a_bound_never_comes_closer_further_out_and_changes_smoothly():
    """A calibrated distance smaller than an earlier one is held at the earlier one, and one
    that would grow faster than the lead to the next widens to the next's share of it: the
    relative change from one hour to the next is at most 1 / lead."""
    hours = np.arange(1.0, 2000.0)
    knots = (24.0, 168.0, 336.0, 720.0)
    offsets = empirical_offsets(hours, knots, (0.03, 0.08, 0.07, 0.2), upper=True)
    assert np.all(np.diff(offsets) >= 0)
    assert offsets[hours == 168.0][0] == pytest.approx(0.08)  # held at 336 h, then widened
    assert offsets[hours == 336.0][0] == pytest.approx(0.2 * 336 / 720)
    assert offsets[hours == 720.0][0] == pytest.approx(0.2)
    change = np.abs(offsets[1:] / offsets[:-1] - 1) * hours[:-1]
    assert change.max() <= 1 + 1e-9


def test_round_trips_through_json():
    policy = rules(damping_hours=72.0)
    assert msgspec.json.decode(msgspec.json.encode(policy), type=PostprocessRules) == policy


@pytest.mark.parametrize("offset", [-5.0, 0.0])
def test_at_or_before_the_origin_the_band_is_closed(offset):
    lower, upper = bands_of(rules(), np.array([1.0]), np.array([offset]))
    assert lower[0] == upper[0] == 1.0


def test_full_damping_keeps_none_of_the_move_past_the_origin():
    policy = rules(damping_hours=0.0)
    raw = np.log([95_000.0, 120_000.0, 50_000.0])
    path = forecast(policy, hours(0, 1, 1000), raw)
    np.testing.assert_allclose(path, [100_000.0] * 3)


def test_the_band_scale_multiplies_the_quantiles():
    lower, upper = bands_of(rules(band_scale=2.0), np.array([100.0]), np.array([24.0]))
    np.testing.assert_allclose(np.log([lower[0] / 100, upper[0] / 100]), [-0.06, 0.04])
