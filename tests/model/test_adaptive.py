"""The band's adaptive step (`Adaptive` in `cryptopredict/model/bands.py`): a band too narrow
for a new regime widens until it misses one time in five, and the state at an origin follows
from the outcomes known by then alone."""

from __future__ import annotations

import msgspec
import numpy as np
import pytest
from scipy import stats

from cryptopredict.artifact.schema import BandSpec
from cryptopredict.model.band_spec import scaled
from cryptopredict.model.bands import Band, tracked
from cryptopredict.model.market import HOUR, TAUS, Market

START = 1_704_067_200
STEP = 7 * HOUR
Z80 = float(stats.norm.ppf(0.9))


def track(errors: np.ndarray, step: float, half_width: float = 1.0, hours: int = 24):
    times = START + STEP * np.arange(len(errors))
    side = np.full((len(errors), 1), half_width)
    return times, tracked(
        times, (hours,), steps=np.array([step]), lower=-side, upper=side, errors={hours: errors}
    )


def test_a_band_too_narrow_for_its_errors_widens_until_it_misses_one_time_in_five():
    """Errors three times the band's spread: the scale settles near three and the misses,
    judged by the band as served, average 20% over the second half."""
    errors = 3 * np.random.default_rng(5).normal(size=6000) / Z80
    times, adaptive = track(errors, 0.02)
    scale = np.exp(adaptive.log_scale(times)[:, 0])
    late = slice(3000, None)
    missed = np.abs(errors[late]) > scale[late]
    assert missed.mean() == pytest.approx(0.2, abs=0.02)  # binomial SE with overlap: about 0.01
    assert np.median(scale[late]) == pytest.approx(3, rel=0.1)


def test_the_state_at_an_origin_knows_only_the_outcomes_known_by_then():
    """A forecast a day ahead is known a day after its origin: changing every error from
    origin j on leaves the state unchanged up to a day after t_j."""
    errors = np.random.default_rng(6).normal(size=400)
    times, adaptive = track(errors, 0.05)
    changed = errors.copy()
    changed[200:] *= 10
    _, other = track(changed, 0.05)
    before = times <= times[200] + 24 * HOUR
    np.testing.assert_array_equal(adaptive.log_scale(times[before]), other.log_scale(times[before]))
    assert not np.array_equal(adaptive.log_scale(times), other.log_scale(times))


def test_unknown_outcomes_and_a_zero_step_leave_the_scale_at_one():
    times, adaptive = track(np.full(50, np.nan), 0.05)
    assert np.all(adaptive.log_scale(times) == 0)
    times, adaptive = track(np.full(50, 9.0), 0.0)
    assert np.all(adaptive.log_scale(times) == 0)


def test_a_band_with_an_adaptive_step_scales_its_offsets_by_its_state():
    """Calm for a year, then moves ten times larger: the adapted band at the end is several
    times the plain one, at the adapted horizon alone."""
    rng = np.random.default_rng(8)
    size = np.where(np.arange(24 * 420) < 24 * 400, 0.001, 0.01)
    returns = rng.normal(0, size)
    seconds = START + HOUR * np.arange(len(returns) + 1)
    market = Market(seconds, np.concatenate([[0.0], np.cumsum(returns)]), HOUR)
    origins = np.arange(24 * 30, len(returns) - 24, 7)
    errors = {h: market.moves(h)[origins] for h in (1, 24)}
    plain = scaled(365, None, pool_days=365)
    adapted = scaled(365, None, pool_days=365, horizon_adapt=((1, 0.05), (24, 0.0)))
    last = np.array([len(returns) - 25])
    bands = {spec: Band(spec, market, origins, errors) for spec in (plain, adapted)}
    width = {
        spec: band.offsets(last, np.array([1.0, 24.0]))[TAUS[-2]][0] for spec, band in bands.items()
    }
    assert width[adapted][0] > 3 * width[plain][0]
    assert width[adapted][1] == pytest.approx(width[plain][1])
    scale = dict(bands[adapted].adapted_scale(int(market.t[last[0]])))
    assert scale[1] == pytest.approx(width[adapted][0] / width[plain][0])
    assert (scale[24], bands[plain].adapted_scale(int(market.t[-1]))) == (1.0, ())
    assert msgspec.json.decode(msgspec.json.encode(adapted), type=BandSpec) == adapted
    assert "scale adapted to its own misses, step 0.05 at 1h, 0 at 1d" in adapted.name


def test_a_state_per_width_bin_widens_the_bin_that_misses_and_narrows_the_one_that_holds():
    """Issue 78's 1-day slope: errors alternating between a narrow bin, where they are twice
    the band's spread, and a wide one, where they are half of it. One state for both settles
    between; a state per bin widens the narrow bin's band and narrows the wide one's, each
    missing about one time in five."""
    rng = np.random.default_rng(7)
    bins = np.arange(6000)[:, None] % 2
    errors = rng.normal(size=6000) / Z80 * np.where(bins[:, 0] == 0, 2.0, 0.5)
    times = START + STEP * np.arange(len(errors))
    side = np.ones((len(errors), 1))
    one, each = (
        tracked(times, (24,), steps=np.array([0.02]), lower=-side, upper=side,
                errors={24: errors}, bins=which)
        for which in (None, bins)
    )  # fmt: skip
    late = slice(3000, None)
    scale = np.exp(each.log_scale(times, bins)[:, 0])
    assert np.median(scale[late][bins[late, 0] == 0]) == pytest.approx(2, rel=0.15)
    assert np.median(scale[late][bins[late, 0] == 1]) == pytest.approx(0.5, rel=0.15)
    for b in (0, 1):
        mine = bins[late, 0] == b
        missed = np.abs(errors[late][mine]) > scale[late][mine]
        assert missed.mean() == pytest.approx(0.2, abs=0.03)
    together = np.exp(one.log_scale(times)[:, 0])
    assert np.ptp(np.log(together[late])) < 0.5
