"""Band candidates on constructed prices: quantiles, the volatility profile, the term structure,
calibration on past errors only, and the choice by interval score."""

from __future__ import annotations

import functools

import msgspec
import numpy as np
import pytest

from cryptopredict.artifact.schema import BandSpec, ModelConfig
from cryptopredict.model import calibration
from cryptopredict.model.band_spec import EMPIRICAL, candidates, named, scaled
from cryptopredict.model.bands import (
    BAND_HOURS,
    Band,
    pool_inputs,
    profile_of,
    short_variance,
    spreads,
    variance_ratio,
)
from cryptopredict.model.choices import choose_band
from cryptopredict.model.market import HOUR, TAUS, WEEK, Market, sliding_quantiles
from cryptopredict.model.panel_choice import panel_band, stored_pools
from cryptopredict.model.plan import Plan
from cryptopredict.model.refits import Refits, outcome
from cryptopredict.model.scoring import DenseOrigins
from tools.panel_search import shared_calibrations, shared_pools, store_pools

START = 1_704_067_200  # 2024-01-01T00:00:00Z, a Monday


def expected_variance(market: Market, spec: BandSpec, pos: np.ndarray, steps: int) -> np.ndarray:
    """V[i, k - 1]: the variance of the log return over the k bars after origin i, k = 1..steps."""
    return spreads(market, spec, pos, np.arange(1, steps + 1))[0] ** 2


def market_of(returns: np.ndarray) -> Market:
    seconds = START + HOUR * np.arange(len(returns) + 1)
    return Market(
        seconds, np.concatenate([[np.log(100.0)], np.log(100.0) + np.cumsum(returns)]), HOUR
    )


def test_sliding_quantiles_match_numpy_on_every_window():
    values = np.random.default_rng(1).normal(size=500)
    values[::37] = np.nan
    lo = np.array([0, 0, 10, 50, 50, 200, 480])
    hi = np.array([5, 40, 60, 60, 300, 400, 500])
    quantiles, medians, counts = sliding_quantiles(values, lo, hi)
    for i, (a, b) in enumerate(zip(lo, hi, strict=True)):
        window = values[a:b][np.isfinite(values[a:b])]
        np.testing.assert_allclose(quantiles[i], np.quantile(window, TAUS))
        assert medians[i] == pytest.approx(np.median(window))
        assert counts[i] == len(window)


@pytest.mark.parametrize("hours", [1, 24])
def test_the_quantiles_known_at_each_origin_are_those_of_the_year_of_moves_before_it(hours):
    rng = np.random.default_rng(3)
    days = 500
    seconds = START + HOUR * np.arange(24 * days)
    seconds[24 * 200 :] += 6 * HOUR  # a six-hour outage: no move spans it
    market = Market(seconds, np.cumsum(rng.normal(0, 0.01, len(seconds))), HOUR)
    origins = np.array([30, 24 * 100, 24 * 200 + 3, 24 * 400, 24 * days - 1])
    quantiles, medians = market.return_quantiles(hours, origins, market.t[origins])
    moves = market.moves(hours)
    for i, at in enumerate(origins):
        start = market.t[at] - 365 * 86_400
        known = (market.t > start) & (market.t + hours * HOUR <= market.t[at])
        window = moves[known & np.isfinite(moves)]
        if len(window) < 30:  # MIN_MOVES: normal quantiles of the year's volatility instead
            assert medians[i] == 0.0
            continue
        np.testing.assert_allclose(quantiles[i], np.quantile(window, TAUS))
        assert medians[i] == pytest.approx(np.median(window))


def test_the_profile_finds_the_hours_of_the_week_that_move_most():
    rng = np.random.default_rng(2)
    hours = 24 * 7 * 30
    size = np.where((np.arange(hours) % 24) == 14, 0.03, 0.01)  # 14:00 UTC moves three times more
    market = market_of(rng.normal(0, size))
    profile = market.profile(np.array([hours]))[0]
    slot_hour = np.arange(168) % 24  # slots count hours since the epoch (midnight UTC)
    busy = profile[slot_hour == 15]  # the move from 14:00 is the return into the 15:00 bar
    quiet = profile[slot_hour != 15]
    assert profile.mean() == pytest.approx(1.0)
    assert busy.min() > 3 * quiet.max() / 2


def test_the_profiles_power_weakens_its_swing_and_at_zero_is_no_profile():
    rng = np.random.default_rng(2)
    hours = 24 * 7 * 30
    size = np.where((np.arange(hours) % 24) == 14, 0.03, 0.01)
    market = market_of(rng.normal(0, size))
    at = np.array([hours])
    measured = profile_of(market, scaled(1, 24, profile=True), at)[0]
    half = profile_of(market, scaled(1, 24, profile=True, profile_power=0.5), at)[0]
    assert measured.mean() == pytest.approx(1.0)
    assert half.mean() == pytest.approx(1.0)
    assert np.ptp(np.log(half)) == pytest.approx(np.ptp(np.log(measured)) / 2)
    assert "profile at power 0.5" in scaled(1, 24, profile=True, profile_power=0.5).name
    flat = scaled(1, 24, profile=True, profile_power=0.0)
    np.testing.assert_allclose(
        expected_variance(market, flat, at, 48), expected_variance(market, scaled(1, 24), at, 48)
    )
    assert profile_of(market, scaled(1, 24), at) is None


def test_volatility_fades_from_the_short_window_to_the_year():
    # A calm year, then a wild last week.
    returns = np.concatenate([np.full(24 * 358, 0.001), np.tile([0.02, -0.02], 12 * 7)])
    market = market_of(returns)
    last = np.array([len(returns)])
    never = expected_variance(market, scaled(7, None), last, 24 * 30)[0]
    fades = expected_variance(market, scaled(7, 24), last, 24 * 30)[0]
    short = 0.02**2
    assert never[0] == pytest.approx(short, rel=0.01)
    assert never[-1] == pytest.approx(24 * 30 * short, rel=0.01)
    assert fades[0] == pytest.approx(never[0])
    assert fades[-1] < never[-1] / 5  # a month ahead, mostly the calm year's variance
    assert np.all(np.diff(fades) > 0)


def test_a_band_uses_only_errors_known_at_its_origin():
    market = market_of(np.random.default_rng(3).normal(0, 0.01, 24 * 200))
    origins = np.arange(24 * 30, 24 * 200, 7)
    errors = {24: np.where(market.t[origins] < START + 150 * 24 * HOUR, 0.01, 0.5)}
    errors[24] = errors[24] * np.where(np.arange(len(origins)) % 2, 1, -1)
    band = Band(scaled(7, None), market, origins, errors)
    early = market.position(np.array([START + 140 * 24 * HOUR]))
    late = market.position(np.array([START + 199 * 24 * HOUR]))
    width = {
        name: band.offsets(pos, np.array([24.0]))[TAUS[-1]][0, 0]
        for name, pos in (("early", early), ("late", late))
    }
    assert width["late"] > 10 * width["early"]


def test_a_cold_pool_falls_back_to_normal_quantiles():
    market = market_of(np.full(24 * 40, 0.01) * np.where(np.arange(24 * 40) % 2, 1, -1))
    origins = np.arange(24 * 30, 24 * 40, 7)
    band = Band(scaled(7, None), market, origins, {1: np.zeros(len(origins))})
    offsets = band.offsets(np.array([24 * 39]), np.array([1.0]))
    assert len(origins) < calibration.MIN_POOL
    assert offsets[0.9][0, 0] == pytest.approx(1.2816 * 0.01, rel=1e-3)
    assert offsets[0.1][0, 0] == pytest.approx(-offsets[0.9][0, 0])


@pytest.mark.parametrize("spec", [scaled(7, None), EMPIRICAL])
def test_a_drift_free_band_is_centred_on_its_median_and_holds_the_point_forecast(spec):
    # Skewed moves: mostly small gains, now and then a crash. Their mean lies below the 25%
    # quantile, so a band centred on the mean would put the point forecast below its 50% band.
    rng = np.random.default_rng(4)
    returns = np.where(rng.random(24 * 400) < 0.03, -0.08, rng.normal(0.003, 0.001, 24 * 400))
    market = market_of(returns)
    origins = np.arange(24 * 30, 24 * 400 - 24, 5)
    errors = {h: market.moves(h)[origins] for h in (1, 24)}
    band = Band(spec, market, origins, errors)
    offsets = band.offsets(np.array([24 * 399]), np.array([1.0, 24.0]))
    assert np.quantile(returns, 0.25) > returns.mean()  # the skew the test needs
    for low, high in zip(TAUS[:3], TAUS[:2:-1], strict=True):
        assert np.all(offsets[low] < 0)
        assert np.all(offsets[high] > 0)


def regime_prices(days: int, seed: int = 5) -> tuple[Market, np.ndarray]:
    """Hourly prices whose volatility switches between calm and wild every ten days."""
    rng = np.random.default_rng(seed)
    hours = np.arange(24 * days)
    size = np.where((hours // (24 * 10)) % 2 == 0, 0.002, 0.02)
    market = market_of(rng.normal(0, size))
    return market, np.exp(market.log_price)


def test_the_backtest_prefers_a_band_that_follows_todays_volatility():
    market, prices = regime_prices(500)
    nothing = Refits(np.empty(0, dtype=np.int64), np.empty((0, 1)), HOUR)
    plan = Plan(evaluation_span=np.timedelta64(120, "D"), min_training=np.timedelta64(120, "D"))
    dense = DenseOrigins(market, prices, nothing, ModelConfig(name="naive"), plan)
    specs = [EMPIRICAL, scaled(365, None), scaled(1, 24)]
    start, end = plan.validation_start(market.t), plan.validation_end(market.t)
    choice = choose_band(dense, specs, start, end)
    assert choice.chosen.window_days == 1
    scores = {entry.name: entry.score for entry in choice.candidates}
    assert scores[specs[2].name] < 0.95 * scores[specs[0].name]
    assert choice.validation_origins > 100
    # The calibration pool is chosen per scored horizon, by the quantile score.
    pools = choice.pools
    assert pools is not None
    assert set(pools.chosen) == {"1h", "1d", "7d", "30d"}
    for label, days in pools.chosen.items():
        by_days = {entry.days: entry.to_builtins()[label] for entry in pools.candidates}
        assert by_days[days] == min(by_days.values())
    chosen = choice.chosen
    assert [chosen.pool_for(h) for h in (1, 24, 168, 720)] == list(pools.chosen.values())
    # So is the band method: the weight of the empirical band with the lowest interval score.
    mix = choice.mix
    assert mix is not None
    for label, weight in mix.chosen.items():
        by_weight = {entry.weight: entry.to_builtins()[label] for entry in mix.candidates}
        assert by_weight[weight] == min(by_weight.values())
    served = dict(chosen.horizon_mix) if chosen.horizon_mix else dict.fromkeys((1, 24, 168, 720), 0)
    assert [served[h] for h in (1, 24, 168, 720)] == list(mix.chosen.values())


def test_a_candidate_chosen_is_written_as_its_scored_entry_is():
    """The scored entries hold their numbers as floats (365.0): so do the candidates, whose
    chosen one the manifest and the backtest's `chosen` record."""
    for spec in candidates():
        entry = msgspec.convert(spec.to_builtins(), BandSpec)
        assert msgspec.json.encode(spec) == msgspec.json.encode(entry)


def test_each_calibrated_horizon_takes_the_pool_of_the_first_scored_horizon_reaching_it():
    spec = scaled(1, 24, horizon_pools=((1, 730), (24, 365), (168, 365), (720, None)))
    assert [spec.pool_for(h) for h in (1, 2, 24, 36, 168, 336, 720)] == [
        730,
        365,
        365,
        365,
        365,
        None,
        None,
    ]
    assert scaled(1, 24).pool_for(720) == 365
    assert msgspec.json.decode(msgspec.json.encode(spec), type=BandSpec) == spec
    assert "calibrated on 730-day errors at 1h, 365-day errors at 1d" in spec.name


def test_a_mixed_band_is_the_scaled_or_empirical_band_at_its_horizons_and_smooth_between():
    rng = np.random.default_rng(6)
    market = market_of(rng.normal(0, np.where(np.arange(24 * 400) % 24 == 14, 0.03, 0.01)))
    origins = np.arange(24 * 30, 24 * 400 - 168, 5)
    hours = (1, 24, 168)
    errors = {h: market.moves(h)[origins] for h in hours}
    unmixed = scaled(1, 24, profile=True)
    mixed = scaled(1, 24, profile=True, horizon_mix=((1, 0.0), (24, 1.0), (168, 0.5)))
    pos = np.array([24 * 399 - 168])
    leads = np.arange(1.0, 169.0)
    alone = {
        spec: Band(spec, market, origins, errors).offsets(pos, leads)
        for spec in (unmixed, EMPIRICAL, mixed)
    }
    top = TAUS[-1]
    both, plain, empirical = (
        alone[mixed][top][0],
        alone[unmixed][top][0],
        alone[EMPIRICAL][top][0],
    )
    assert both[0] == pytest.approx(plain[0])
    assert both[23] == pytest.approx(empirical[23])
    assert both[167] == pytest.approx((plain[167] + empirical[167]) / 2)
    # Between the horizons, no jump along lead time: the relative change from one hour to
    # the next is at most the power the distance grows by over the lead.
    assert np.all(np.diff(both) >= 0)
    assert np.abs(both[1:] / both[:-1] - 1).max() <= 1.0
    assert msgspec.json.decode(msgspec.json.encode(mixed), type=BandSpec) == mixed
    assert "empirical band's quantiles averaged in: none at 1h, all at 1d, 50% at 7d" in mixed.name
    assert "quantiles averaged" not in unmixed.name


def fading_prices(days: int, seed: int = 7) -> Market:
    """Hourly returns whose volatility jumps each day to a new level and is back to normal by
    the next: yesterday's volatility overstates a busy day's tomorrow and understates a calm
    one's, the error a band that trusts the last day makes."""
    rng = np.random.default_rng(seed)
    level = np.repeat(np.exp(rng.normal(0, 0.8, days)), 24)
    today = rng.normal(0, 0.01 * level)
    return market_of(today)


def width_fifth_coverage(band: Band, market: Market, origins: np.ndarray) -> np.ndarray:
    offsets = band.offsets(origins, np.array([24.0]))
    low, high = offsets[0.1][:, 0], offsets[0.9][:, 0]
    move = market.moves(24)[origins]
    held = (low <= move) & (move <= high)
    fifth = np.minimum((np.argsort(np.argsort(high - low)) * 5) // len(origins), 4)
    return np.array([held[fifth == q].mean() for q in range(5)])


def test_calibrating_within_width_bins_holds_coverage_in_every_fifth_of_width():
    market = fading_prices(900)
    origins = np.arange(24 * 30, 24 * 899 - 24, 7)
    errors = {h: market.moves(h)[origins] for h in (1, 24)}
    later = origins[origins > 24 * 500]
    pooled = Band(scaled(1, None), market, origins, errors)
    binned = Band(scaled(1, None, width_bins=5), market, origins, errors)
    pooled_cover = width_fifth_coverage(pooled, market, later)
    binned_cover = width_fifth_coverage(binned, market, later)
    # One pool: the narrowest bands hold too little, the widest too much.
    assert pooled_cover[0] < 0.72
    assert pooled_cover[-1] > 0.88
    assert np.all(np.abs(binned_cover - 0.8) < 0.06), binned_cover
    assert "calibrated within 5 width bins up to 1d" in binned.spec.name


def test_the_served_band_at_the_scored_horizons_is_the_band_built_on_those_alone():
    """The record scores the served band at 1h, 1d, 7d and 30d from its own calibrations
    (`Band.at_hours`, each horizon's pool and adaptive state its own): the offsets are, to the
    bit, those of the panel's band built on those horizons' errors alone."""
    market, scored = fading_prices(500), [1, 24, 168, 720]
    origins = np.arange(24 * 30, 24 * 470, 12)
    errors = {h: market.moves(h)[origins] for h in BAND_HOURS}
    served = Band(panel_band(), market, origins, errors)
    alone = Band(panel_band(), market, origins, {h: errors[h] for h in scored})
    assert served.adaptive is not None
    later, leads = origins[-100:], np.array(scored, dtype=np.float64)
    restricted = served.at_hours(scored).offsets(later, leads)
    for tau, offsets in alone.offsets(later, leads).items():
        np.testing.assert_array_equal(restricted[tau], offsets)
    assert not np.array_equal(served.offsets(later, leads)[0.9], restricted[0.9])


def test_the_floor_keeps_todays_band_as_wide_as_the_pools_calm_tenth():
    market = fading_prices(400)
    origins = np.arange(24 * 30, 24 * 399 - 24, 7)
    errors = {h: market.moves(h)[origins] for h in (1, 24)}
    spec = scaled(1, None)
    plain = Band(spec, market, origins, errors)
    floored = Band(scaled(1, None, floor=0.1), market, origins, errors)
    pos = origins[-300:]
    at = np.full(len(pos), market.t[pos].max())
    spread = np.sqrt(expected_variance(market, spec, pos, 24)[:, 23])
    calibration = floored.pools[24].calibration(int(at[0]))
    assert calibration is not None
    calm = spread < calibration.floor
    assert calm.any()
    assert (~calm).any()
    wide = floored.offsets(pos, np.array([24.0]), calibrated_at=at)[0.9][:, 0]
    narrow = plain.offsets(pos, np.array([24.0]), calibrated_at=at)[0.9][:, 0]
    # Calm origins are lifted to the floor; the others keep their band (a calm hour before
    # the day may still widen it a little: no bound comes closer along lead).
    assert np.all(wide[calm] >= narrow[calm] * calibration.floor / spread[calm] * (1 - 1e-9))
    assert np.all(wide >= narrow * (1 - 1e-9))
    assert np.median(wide[~calm] / narrow[~calm]) == pytest.approx(1.0)


@pytest.mark.parametrize(
    "spec",
    [
        EMPIRICAL,
        scaled(1, 24, profile=True, width_bins=5, horizon_mix=((24, 0.0), (168, 1.0))),
    ],
)
def test_no_bound_comes_closer_to_the_point_forecast_along_lead(spec):
    market = fading_prices(400)
    origins = np.arange(24 * 30, 24 * 399 - 720, 7)
    hours = (1, 24, 168, 720)
    errors = {h: market.moves(h)[origins] for h in hours}
    band = Band(spec, market, origins, errors)
    leads = np.arange(0.0, 24 * 365 + 1)
    offsets = band.offsets(origins[-5:], leads)
    for tau in TAUS:
        distance = np.abs(offsets[tau])
        assert np.all(np.diff(distance, axis=1) >= 0), tau
    # The same bounds whichever leads are asked for: a lead alone is not wider than on the grid.
    alone = band.offsets(origins[-5:], np.array([720.0]))
    np.testing.assert_allclose(alone[TAUS[-1]][:, 0], offsets[TAUS[-1]][:, 720])


def test_served_bands_are_smooth_in_lead_however_noisy_their_pools():
    """Pools of a few hundred fat-tailed errors calibrate each horizon apart, so their
    quantiles need not rise with the lead; the band's edges from 7 to 90 days still change by
    at most 1/h from one hour to the next (issue 47 asks 2/h), and never come closer."""
    rng = np.random.default_rng(7)
    market = market_of(rng.standard_t(3, 24 * 500) * 0.01)
    origins = np.arange(24 * 30, 24 * 500 - 720, 7)
    errors = {h: market.moves(h)[origins] for h in BAND_HOURS}
    spec = scaled(1, 24, True, pool_days=90, width_bins=5, floor=0.1)
    leads = np.arange(168.0, 24 * 90 + 1)
    offsets = Band(spec, market, origins, errors).offsets(np.array([24 * 499]), leads)
    for tau in TAUS:
        distance = np.abs(offsets[tau][0])
        assert np.all(np.diff(distance) >= 0)
        assert np.max(np.abs(distance[1:] / distance[:-1] - 1) * leads[:-1]) <= 1 + 1e-9


def test_a_quiet_weekend_moves_todays_variance_half_as_far():
    """A year whose Sundays are calm (a tenth of a weekday's variance), then a Sunday as busy as
    a weekday: deseasonalized, that day alone reads as ten times the year's variance; averaged
    with the week's, as about half as far from it (issue 52, item 3)."""
    rng = np.random.default_rng(8)
    hours = np.arange(24 * 7 * 52)
    sunday = ((START // HOUR + hours) // 24 + 3) % 7 == 6  # 1970-01-01 was a Thursday
    returns = rng.normal(0, np.where(sunday, 0.01 / np.sqrt(10), 0.01))
    last_sunday = np.flatnonzero(sunday)[-24:]
    returns[last_sunday] = rng.normal(0, 0.01, 24)
    market = market_of(returns)
    origin = np.array([last_sunday[-1] + 1])
    spec = scaled(1, 24, profile=True)
    profile = market.profile(origin)
    long = market.variance(origin, 365, profile)
    alone = market.variance(origin, 1, profile) / long
    week = market.variance(origin, 7, profile) / long
    blended = short_variance(market, spec, origin, profile, long) / long
    assert alone[0] > 4  # the busy Sunday read alone
    assert blended[0] == pytest.approx((alone[0] + week[0]) / 2)
    assert blended[0] - 1 < 0.6 * (alone[0] - 1)
    assert variance_ratio(market, spec, origin)[0] == pytest.approx(blended[0])


def test_an_origin_whose_window_crosses_a_gap_is_left_out_never_filled():
    returns = np.random.default_rng(9).normal(0, 0.01, 24 * 40)
    market = market_of(returns)
    keep = np.ones(len(market.t), dtype=bool)
    keep[480:483] = False  # an exchange outage: the bars of hours 480 to 482 are missing
    gapped = Market(market.t[keep], market.log_price[keep], HOUR)
    hour = (gapped.t - START) // HOUR
    times = START + HOUR * np.array([240, 478, 723])
    found = outcome(gapped, times, np.array([1.0, 24.0, 168.0]))
    assert np.isfinite(found[0]).all()  # ten days before the outage: every window whole
    assert np.isfinite(found[1, 0])  # an hour ahead ends before it
    assert np.isnan(found[1, 1:]).all()  # a day and a week ahead cross it: left out
    assert np.isfinite(found[2]).all()  # after it
    assert found[1, 0] == pytest.approx(np.exp(gapped.log_price[hour == 479][0]))
    moves = gapped.moves(24)
    crossing = (hour >= 456) & (hour <= 479)
    assert np.isnan(moves[crossing]).all()
    assert np.isfinite(moves[(hour < 456) | ((hour > 482) & (hour < hour[-1] - 24))]).all()


def test_a_shared_pool_serves_as_stored_what_it_served_in_memory(tmp_path):
    """Two pairs' standardized errors in one pool, binned by the spread relative to the year's;
    stored at every week start as `make panel` stores it, it calibrates a pair's band exactly
    as the pool itself does."""
    rng = np.random.default_rng(10)
    markets = [market_of(rng.normal(0, scale, 24 * 300)) for scale in (0.01, 0.03)]
    origins = np.arange(24 * 30, 24 * 300 - 24, 7)
    spec = scaled(1, 24, True, width_bins=5, floor=0.1, horizon_shared=((24, True),))
    inputs = []
    for market in markets:
        errors = {h: market.moves(h)[origins] for h in (1, 24)}
        found = pool_inputs(functools.partial(spreads, market, spec), market, origins, errors)
        inputs.append(found)
    pools = shared_pools(inputs, spec)
    weeks = np.arange(START // WEEK * WEEK, START + 300 * 24 * HOUR + WEEK, WEEK)
    store_pools(shared_calibrations(inputs, spec, weeks), tmp_path / "pool.npz")
    stored = stored_pools(tmp_path / "pool.npz")
    assert stored is not None
    assert set(stored) == {1, 24}
    market = markets[1]
    errors = {h: market.moves(h)[origins] for h in (1, 24)}
    pos = origins[origins > 24 * 200]
    live = Band(spec, market, origins, errors, pools).offsets(pos, np.array([1.0, 24.0]))
    kept = Band(spec, market, origins, errors, stored).offsets(pos, np.array([1.0, 24.0]))
    for tau in TAUS:
        np.testing.assert_allclose(kept[tau], live[tau], rtol=1e-12)
    own = Band(named(spec, horizon_shared=()), market, origins, errors)
    assert not np.allclose(own.offsets(pos, np.array([24.0]))[0.9], live[0.9][:, 1:])


def test_a_fast_variance_reads_the_last_hours_and_fades_into_the_days_at_its_half_life():
    """A calm year, then three wild hours: the fast variance is the week's squared returns
    weighted by 0.5 ** (age / 4 hours), a return across a gap left out; the band expects it of
    the next hour, and of later hours fades it into the day's window (averaged with the week's,
    which barely moved) at that half-life, then into the year's at a day's."""
    returns = np.concatenate([np.full(24 * 365, 0.001), np.full(3, 0.03)])
    market = market_of(returns)
    origin = np.array([len(returns)])
    weights = 0.5 ** (np.arange(168) / 4)
    squares = np.where(np.arange(168) < 3, 0.03**2, 0.001**2)
    fast = (weights * squares).sum() / weights.sum()
    assert market.ewma_variance(origin, 4.0, None)[0] == pytest.approx(fast)
    long = market.variance(origin, 365, None)[0]
    short = short_variance(market, scaled(1, 24), origin, None, np.array([long]))[0]
    assert fast > 3 * short
    spec = named(scaled(1, 24), fast_half_life_hours=4)
    per_step = np.diff(expected_variance(market, spec, origin, 48)[0], prepend=0.0)
    step = np.arange(48)
    expected = long + (short - long) * 0.5 ** (step / 24) + (fast - short) * 0.5 ** (step / 4)
    np.testing.assert_allclose(per_step, expected, rtol=1e-9)
    # The bar before the last removed: the last return spans a gap (left out), and the two
    # wild returns before the gap are one return at age 1.
    gapped = Market(np.delete(market.t, -2), np.delete(market.log_price, -2), HOUR)
    found = gapped.ewma_variance(np.array([len(gapped.t) - 1]), 4.0, None)[0]
    squares = np.where(np.arange(168) == 1, 0.03**2, 0.001**2)
    assert found == pytest.approx((weights * squares)[1:].sum() / weights[1:].sum())


def test_a_robust_variance_is_the_mean_absolute_return_squared_so_one_jump_counts_once():
    """Robust: (mean |r|)^2 * pi / 2, over a window and weighted by age alike; a jump of 30
    times the usual return moves it far less than the mean square."""
    returns = np.concatenate([np.tile([0.001, -0.001], 24 * 7), [0.03]])
    market = market_of(returns)
    origin = np.array([len(returns)])
    week = returns[-24 * 7 :]
    robust = market.variance(origin, 7, None, robust=True)[0]
    assert robust == pytest.approx(np.mean(np.abs(week)) ** 2 * np.pi / 2)
    assert market.variance(origin, 7, None)[0] == pytest.approx(np.mean(week**2))
    assert robust < market.variance(origin, 7, None)[0] / 2
    weights = 0.5 ** (np.arange(168) / 4)
    sizes = np.abs(returns[::-1][:168])
    fast = market.ewma_variance(origin, 4.0, None, robust=True)[0]
    assert fast == pytest.approx(((weights * sizes).sum() / weights.sum()) ** 2 * np.pi / 2)


def test_a_factored_profile_is_the_hour_of_the_days_times_the_day_of_the_weeks():
    """One loud hour of one day in a flat year: the measured profile lifts that slot alone;
    the factored one spreads it over its hour on every day and its day at every hour, a
    product (rank one in spread), with mean 1."""
    slots = (START // HOUR + 1 + np.arange(24 * 365)) % 168
    returns = np.where(np.arange(24 * 365) % 2 == 0, 0.001, -0.001)
    returns = np.where(slots == 24 * 3 + 15, 0.004, returns)  # slot 87: day 3, hour 15
    market = market_of(returns)
    origin = np.array([len(returns)])
    measured = market.profile(origin)[0]
    factored = market.profile(origin, factored=True)[0]
    assert factored.mean() == pytest.approx(1.0)
    assert np.argmax(measured) == 24 * 3 + 15
    assert factored[24 * 3 + 15] < measured[24 * 3 + 15]
    by_day = np.sqrt(factored).reshape(7, 24)
    np.testing.assert_allclose(
        by_day / by_day[0], np.broadcast_to(by_day[:, :1] / by_day[0, 0], (7, 24)), rtol=1e-12
    )
    assert by_day[3].mean() > by_day[0].mean()  # its day louder than another
    assert by_day[:, 15].mean() > by_day[:, 14].mean()  # its hour louder than another


def test_a_factored_profile_of_no_origins_is_empty_as_the_measured_one():
    """A pair too short for any pool's origins (a month of bars) asks for none."""
    market = market_of(np.full(24 * 30, 0.001))
    none = np.array([], dtype=np.int64)
    assert market.profile(none, factored=True).shape == market.profile(none).shape == (0, 168)


def test_the_fast_variance_weighs_in_at_its_weight_from_absolute_returns():
    """Weight w: the next hour's variance is today's plus w times (fast - today's), both from
    absolute returns where the band is robust; the name says so."""
    returns = np.concatenate([np.full(24 * 365, 0.001), np.full(3, 0.03)])
    market = market_of(returns)
    origin = np.array([len(returns)])
    spec = named(scaled(1, 24), fast_half_life_hours=4, fast_weight=0.8, robust_variance=True)
    long = market.variance(origin, 365, None)[0]
    short = short_variance(market, spec, origin, None, np.array([long]))[0]
    day = market.variance(origin, 1, None, robust=True)[0]
    assert short == pytest.approx((day + market.variance(origin, 7, None, robust=True)[0]) / 2)
    fast = market.ewma_variance(origin, 4.0, None, robust=True)[0]
    per_step = np.diff(expected_variance(market, spec, origin, 48)[0], prepend=0.0)
    step = np.arange(48)
    expected = long + (short - long) * 0.5 ** (step / 24) + 0.8 * (fast - short) * 0.5 ** (step / 4)
    np.testing.assert_allclose(per_step, expected, rtol=1e-9)
    assert "weight 0.8" in spec.name
    assert "from absolute returns" in spec.name


def test_a_range_variance_reads_each_hours_high_and_low_as_parkinsons_volatility():
    """Issue 94: `range_variance` reads each bar's move as sqrt(range^2 / (4 ln 2)), in the
    windows and the fast variance alike; a market given no ranges serves its closes' band."""
    returns = np.tile([0.001, -0.001], 24 * 7)
    closes = market_of(returns)
    market = Market(closes.t, closes.log_price, HOUR)
    market.read_ranges(np.full(len(closes.t), 0.02))
    origin, spec = np.array([len(returns)]), scaled(7, None, fast_half_life_hours=4.0)
    parkinson = 0.02**2 / (4 * np.log(2))
    assert market.ranged.variance(origin, 7, None)[0] == pytest.approx(parkinson)
    assert market.ranged.ewma_variance(origin, 4.0, None)[0] == pytest.approx(parkinson)
    assert market.variance(origin, 7, None)[0] == pytest.approx(0.001**2)
    wide, calm = (
        spreads(market, named(spec, range_variance=flag), origin, np.array([24]))[0]
        for flag in (True, False)
    )
    assert wide[0, 0] == pytest.approx(np.sqrt(24 * parkinson))
    assert calm[0, 0] == pytest.approx(np.sqrt(24 * 0.001**2))
    same = spreads(closes, named(spec, range_variance=True), origin, np.array([24]))[0]
    assert same[0, 0] == calm[0, 0]
