"""The panel's peers and re-anchored bands (`tools/peer_bands.py`, `tools/peers.py`) on real
hourly BTC/USD bars: GARCH's filter, term structure and simulation are arch's own, every peer's
band is known by its origin and its simulation by its seed, a peer calibrated the band's way is
the served band's calibration on the peer's spread, a band re-anchored 0 hours later is the
fresh band, an origin whose bar at origin + s is missing is left out, and the figures pool every
pair's forecasts alike."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
from arch import arch_model
from scipy.stats import norm

from cryptopredict.artifact.schema import DEFAULT_LEVEL, BandSpec, ModelConfig
from cryptopredict.model.backtest import BacktestSetup
from cryptopredict.model.band_spec import named
from cryptopredict.model.bands import BAND_HOURS, Band, pool_inputs, profile_of, spreads
from cryptopredict.model.market import HOUR, WEEK, Market
from cryptopredict.model.panel_choice import panel_band, stored_pools
from cryptopredict.model.plan import FINAL_TEST, Plan
from cryptopredict.standard_error import tails
from tools import peer_bands as peer_bands_module
from tools.candidates import HISTORY, NAMES, _rows, setting_bands
from tools.panel_search import outcomes, pair_origins, shared_pools, validation_scores
from tools.peer_bands import (
    HALVES,
    PEERS,
    SCALE,
    Profiled,
    RangeGarch,
    Settings,
    Week,
    peer_offsets,
)
from tools.peers import (
    CALIBRATED,
    ROWS,
    PeerBands,
    compared,
    confidence_set,
    figures,
    peer_bands,
    peer_pools,
    reanchored_rows,
    served_band,
    versus,
)

DAYS = 700  # a year for the first fit; the rest split into validation, evaluation, final test


@pytest.fixture(scope="module")
def history() -> pd.DataFrame:
    bars = pd.read_csv("data/btc-usd-1h.csv.gz", usecols=["timestamp", "close"])
    ds = pd.to_datetime(bars["timestamp"], utc=True).dt.tz_localize(None)
    frame = pd.DataFrame({"ds": ds, "y": bars["close"].astype(float)})
    return frame[frame["ds"] > frame["ds"].iloc[-1] - pd.Timedelta(days=DAYS)].reset_index(
        drop=True
    )


def market_of(history: pd.DataFrame) -> Market:
    seconds = (history["ds"] - pd.Timestamp("1970-01-01")) // pd.Timedelta(seconds=1)
    return Market(seconds.to_numpy(np.int64), np.log(history["y"].to_numpy()), HOUR)


@pytest.fixture(scope="module")
def spec() -> BandSpec:
    found = panel_band()
    assert found is not None
    return found


@pytest.fixture(scope="module")
def week(history, spec) -> tuple[Market, Week, int]:
    market = market_of(history)
    start = int(market.t[-1]) // WEEK * WEEK - WEEK
    return market, Week(market, start, len(market.t) - 1, spec), start


def test_garch_filters_and_forecasts_as_arch_does(week) -> None:
    """The week's variance of the next return at its start is arch's one-step forecast from
    the same fit, and the spread over h hours (a flat profile) is arch's h-step variances
    summed."""
    market, found, _ = week
    z = SCALE * market.returns[found.index] / np.sqrt(found.profile[market.slot[found.index]])
    fit = arch_model(z[found.fitted], mean="Zero", vol="GARCH", p=1, q=1, dist="t").fit(disp="off")
    assert fit.params["omega"] == pytest.approx(found.omega)
    variance = fit.forecast(horizon=168, reindex=False).variance.to_numpy()[-1]
    last = np.flatnonzero(found.fitted)[-1]
    assert found.next_garch[last] == pytest.approx(variance[0], rel=1e-6)
    found.profile = np.ones_like(found.profile)
    pos = found.index[last : last + 1]
    for h in (1, 24, 168):
        spread = found.garch_spread(pos, found.next_garch[last : last + 1], h)[0]
        assert spread == pytest.approx(np.sqrt(variance[:h].sum()) / SCALE, rel=1e-6)


def test_a_fit_started_from_the_week_before_finds_the_same_parameters(week, spec) -> None:
    market, cold, start = week
    before = Week(market, start - WEEK, len(market.t) - 1, spec)
    warm = Week(market, start, len(market.t) - 1, spec, before)
    assert not np.allclose(before.params, cold.params, rtol=1e-4)
    np.testing.assert_allclose(warm.params, cold.params, rtol=1e-3)


def test_garch_t_beyond_an_hour_is_arch_s_own_simulation_forecast(week, spec, monkeypatch):
    """From the week's last fitted return, with a flat profile, GARCH-t's simulated band over a
    day and a week is what arch's own simulation forecast gives from the same fit (its
    `simulation` method), within both's Monte Carlo error; and the week's origins run together
    (`NODES` points, interpolated) are each run alone, on the same paths."""
    market, _, start = week
    found = Week(market, start, len(market.t) - 1, named(spec, profile=False))
    z = SCALE * market.returns[found.index]
    model = arch_model(z[found.fitted], mean="Zero", vol="GARCH", p=1, q=1, dist="t")
    params = np.array([found.omega, found.alpha, found.beta, found.nu])
    forecast = model.forecast(
        params=params, horizon=168, method="simulation", simulations=20_000,
        random_state=np.random.RandomState(1),
    )  # fmt: skip
    moves = np.cumsum(forecast.simulations.values[-1], axis=1)[:, [23, 167]]
    theirs = np.quantile(np.abs(moves), 0.8, axis=0) / SCALE
    last = np.flatnonzero(found.fitted)[-1]
    monkeypatch.setattr(peer_bands_module, "BATCHES", ((168, 20_000),))
    ours = found.simulated(
        found.index[last : last + 1], found.next_garch[last : last + 1], [24, 168], rng(2)
    )
    np.testing.assert_allclose(ours[0, :, 0], theirs, rtol=0.03)
    assert not np.allclose(ours[0, :, 1], ours[0, :, 2])  # the halves: their own paths
    monkeypatch.setattr(peer_bands_module, "BATCHES", ((720, 500),))
    origins = found.index[np.flatnonzero(~found.fitted)][::7]
    variance = found.next_garch[found.at(origins)]
    assert variance.max() > 1.5 * variance.min()
    together = found.simulated(origins, variance, [24, 720], rng(3))
    for i in range(len(origins)):
        alone = found.simulated(origins[i : i + 1], variance[i : i + 1], [24, 720], rng(3))
        np.testing.assert_allclose(together[i], alone[0], rtol=5e-3)


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def test_a_peers_band_is_known_by_its_origin_and_its_simulation_by_its_seed(history, spec):
    """Bars after an origin's week start change no peer's band there but through the hourly
    filter; bars after the origin change nothing at all. The same seed draws the same paths;
    another, others (at 1 h GARCH-t reads its t and draws none)."""
    market = market_of(history)
    origin = len(market.t) - 400
    pos = np.array([origin])
    whole, other = (
        peer_offsets(market, pos, [1, 24], spec, s, settings=Settings()) for s in ((1, 2), (1, 3))
    )
    cut = market_of(history.iloc[: origin + 1])
    alone = peer_offsets(cut, pos, [1, 24], spec, (1, 2), settings=Settings())
    for name in (*PEERS, *HALVES):
        for side in (0, 1):
            np.testing.assert_allclose(whole[name][side], alone[name][side], rtol=1e-9)
    assert (whole["garch-t"][0] < 0).all()
    assert (whole["garch-t"][1] > 0).all()
    np.testing.assert_array_equal(whole["garch-t"][1][:, 0], other["garch-t"][1][:, 0])
    assert whole["garch-t"][1][0, 1] != other["garch-t"][1][0, 1]
    assert whole["garch-t"][1][0, 1] != whole["garch-t-normal"][1][0, 1]


@pytest.fixture(scope="module")
def pair(history):
    setup = BacktestSetup.build(history, pd.Timedelta(hours=1), ModelConfig(), Plan())
    return pair_origins("BTC/USD", setup, 0.0, np.empty(0, dtype=np.int64), [])


@pytest.fixture(scope="module")
def bands(pair, spec) -> PeerBands:
    return peer_bands(pair, spec, Settings())


@pytest.fixture(scope="module")
def scored(pair, spec, bands):
    pools = {name: peer_pools([bands], spec, name) for name in PEERS}
    return compared(pair, spec, stored_pools(), bands, pools)


def test_a_band_re_anchored_0_hours_later_is_the_fresh_band(pair, spec) -> None:
    rows = reanchored_rows(pair, served_band(pair, spec, stored_pools()), shifts=(0, 3))
    now = rows[rows["shift"] == 0]
    np.testing.assert_allclose(now["score_reanchored"], now["score_fresh"])
    later = rows[(rows["shift"] == 3) & (rows["horizon"] == "1h")]
    assert len(later) > 100
    assert not np.allclose(later["score_reanchored"], later["score_fresh"])


def test_an_origin_whose_bar_at_origin_plus_s_is_missing_is_left_out(history, pair, spec) -> None:
    times = pair.dense.times[pair.evaluation]
    gone = pd.Timestamp(int(times[10]) + 3 * HOUR, unit="s")
    gapped = history[history["ds"] != gone].reset_index(drop=True)
    setup = BacktestSetup.build(gapped, pd.Timedelta(hours=1), ModelConfig(), Plan())
    holed = pair_origins("BTC/USD", setup, 0.0, np.empty(0, dtype=np.int64), [])
    rows = reanchored_rows(holed, served_band(holed, spec, stored_pools()), shifts=(3,))
    assert times[10] not in set(rows["origin"])
    assert times[11] in set(rows["origin"])


def test_the_served_band_is_scored_as_the_panel_scores_it(pair, spec, scored) -> None:
    """The served and naive bands' scores are `make panel`'s own (`panel_search.outcomes`),
    and so are the outcomes the comparison returns beside them, from the same band."""
    (found, gaps), _, mine, _ = scored
    mine = mine[mine["span"] == "evaluation"]
    panel, skipped = outcomes(pair, spec, stored_pools(), list(BAND_HOURS))
    pd.testing.assert_frame_equal(found, panel)
    assert gaps == skipped
    assert set(mine["horizon"]) == {"1h", "1d", "7d"}  # the peers' leads: not 30 days
    panel = panel[panel["horizon"].isin(mine["horizon"])]
    np.testing.assert_allclose(mine["score_served"], panel["score_served"])
    np.testing.assert_allclose(mine["score_naive"], panel["score_naive"])
    np.testing.assert_array_equal(mine["held_served"], panel["held_80"])


def test_served_and_peers_are_scored_on_the_same_origins(scored) -> None:
    """Every peer as issued and calibrated, on the served band's origins; GARCH-t simulated
    beyond an hour only; what the calibration is worth is calibrated minus as issued, and
    GARCH-t's Monte Carlo error is half the standard error of its two halves' difference."""
    _, _, rows, _ = scored
    for name in ("served", "naive", *ROWS, *HALVES):
        assert rows[f"score_{name}"].notna().all()
    hour, day = (
        rows[(rows["horizon"] == label) & (rows["span"] == "evaluation")] for label in ("1h", "1d")
    )
    assert 0.7 < hour["held_garch-t"].mean() < 0.9
    np.testing.assert_array_equal(hour["score_garch-t"], hour["score_garch-t-normal"])
    assert not np.allclose(day["score_garch-t"], day["score_garch-t-normal"])
    assert not np.allclose(day["score_garch-t"], day[f"score_garch-t{CALIBRATED}"])
    found = figures(rows.assign(pair="BTC/USD"), rows.iloc[:0].assign(shift=0))["peers"]
    naive = day["score_naive"].sum()
    for name in ROWS:
        gap = (day["score_served"].sum() - day[f"score_{name}"].sum()) / naive
        assert found["1d"][name]["served_minus_this"] == pytest.approx(gap)
    for name in PEERS:
        calibrated = found["1d"][name + CALIBRATED]
        assert calibrated["calibrated_minus_raw"] == pytest.approx(
            calibrated["relative"] - found["1d"][name]["relative"]
        )
    assert found["1h"]["garch-t"]["monte_carlo"] == {
        "paths": 0, "relative_se": 0.0, "coverage_80_se": 0.0
    }  # fmt: skip
    chance = found["1d"]["garch-t"]["monte_carlo"]
    assert chance["paths"] == 4000
    assert 0 < chance["relative_se"] < found["1d"]["garch-t"]["relative_se"]


def test_a_peer_calibrated_the_bands_way_is_the_served_bands_calibration_on_its_spread(
    pair, spec, bands
) -> None:
    """A peer whose 80% band is the served band's own spread, calibrated the band's way on
    pools the pairs share, is the served band calibrated on the same pools: the same steps,
    the same errors, nothing of its own but the spread."""
    market = pair.dense.market
    knots = np.asarray(bands.hours) * HOUR // market.interval
    spread, _ = spreads(market, spec, bands.pos, knots)
    z = norm.ppf(tails(DEFAULT_LEVEL)[1])
    band = (-z * spread, z * spread)
    own = PeerBands.of(market, spec, bands.pos, dict.fromkeys(PEERS, band), bands.errors)
    calibrated = Band(spec, market, bands.pos, bands.errors, peer_pools([own], spec, "ewma"),
                      spread_of=own.spread("ewma"))  # fmt: skip
    inputs = pool_inputs(functools.partial(spreads, market, spec), market, bands.pos, bands.errors)
    shared = shared_pools([inputs], spec)
    served = Band(spec, market, bands.pos, bands.errors, shared)
    pos, leads = pair.dense.pos[pair.evaluation], np.asarray(bands.hours, dtype=np.float64)
    mine, theirs = calibrated.offsets(pos, leads), served.offsets(pos, leads)
    for tau in tails(DEFAULT_LEVEL):
        np.testing.assert_allclose(mine[tau], theirs[tau], rtol=1e-9)


def test_each_peer_reads_the_profile_the_served_band_reads_at_its_week_start(week, spec) -> None:
    """On the served band's footing: its profile (hour of day times day of week) as the band
    reads it at the week's start."""
    market, _, start = week
    begin = market.position(np.array([start]))
    served = Week(market, start, len(market.t) - 1, spec)
    assert spec.profile_factored
    profile = profile_of(market, spec, begin)
    assert profile is not None
    np.testing.assert_allclose(served.profile, profile[0])


def test_served_minus_a_peer_is_in_points_of_naive_and_pairs_moving_together_count_once() -> None:
    rng = np.random.default_rng(5)
    times = 1_700_000_000 + 7 * HOUR * np.arange(500)
    one = pd.DataFrame(
        {
            "origin": times,
            "score_naive": rng.gamma(2.0, 0.01, 500),
            "score_served": rng.gamma(2.0, 0.0095, 500),
            "score_peer": rng.gamma(2.0, 0.0098, 500),
            "held_served": (rng.random(500) < 0.8).astype(float),
            "held_peer": (rng.random(500) < 0.8).astype(float),
            "pair": "A",
        }
    )
    copies = pd.concat([one.assign(pair=name) for name in "ABC"], ignore_index=True)
    day = pd.Timedelta(days=1)
    alone, pooled = (versus(rows, day, "served", ["peer"]) for rows in (one, copies))
    naive = one["score_naive"].sum()
    gap = (one["score_served"].sum() - one["score_peer"].sum()) / naive
    assert pooled["peer"]["served_minus_this"] == pytest.approx(gap)
    assert pooled["peer"]["served_minus_this"] == pytest.approx(
        pooled["served"]["relative"] - pooled["peer"]["relative"]
    )
    assert pooled["peer"]["served_minus_this_se"] == pytest.approx(
        alone["peer"]["served_minus_this_se"]
    )
    assert (pooled["pairs"], pooled["origins"], pooled["forecasts"]) == (3, 500, 1500)


def test_range_garch_finds_the_parameters_its_returns_were_simulated_with(spec) -> None:
    """Issue 107: on two years simulated from Molnar's range-GARCH (each hour's Parkinson
    variance its variance times a unit-mean gamma, a flat profile), the quasi-likelihood fit on
    the year before the week finds omega, alpha and beta, and its persistence, near the
    simulation's own."""
    draw, bars, (omega, alpha, beta) = rng(6), 2 * 365 * 24, (0.05, 0.15, 0.8)
    h, q, r = np.full(bars, omega / (1 - alpha - beta)), np.zeros(bars), np.zeros(bars)
    for i in range(bars):
        h[i] = h[i] if i == 0 else omega + alpha * q[i - 1] + beta * h[i - 1]
        r[i], q[i] = np.sqrt(h[i]) * draw.standard_normal(), h[i] * draw.gamma(4.0, 0.25)
    market = Market(np.arange(bars) * HOUR, np.cumsum(r) / SCALE, HOUR)
    market.read_ranges(np.sqrt(4 * np.log(2) * q) / SCALE)
    week = Profiled(market, int(market.t[-1]) // WEEK * WEEK, named(spec, profile=False))
    found = RangeGarch(week, bars - 1, False, None)
    np.testing.assert_allclose(found.params, [omega, alpha, beta], atol=0.04)  # a year's error
    assert found.persistence == pytest.approx(alpha + beta, abs=0.04)


def test_each_setting_s_peer_meets_the_served_band_the_search_scores_on_its_validation_origins(
    pair, spec
):
    """Issue 107: every full-strength peer's setting, calibrated the band's way, on the
    validation origins the search scores (`panel_search.validation_scores`: none an evaluation
    origin), beside the served band scored as the search scores it; before the pair's history
    holds `HISTORY` the served spread stands in."""
    bands = setting_bands(pair, spec)
    pools = {name: peer_pools([bands], spec, name) for name in NAMES}
    rows = _rows(pair, spec, stored_pools(), bands, pools)
    searched = validation_scores(pair, spec, stored_pools())
    assert set(searched["origin"]) <= set(pair.dense.times[pair.validation])
    assert set(searched["pair"]) == {pair.name}
    searched = searched[searched["horizon"].isin(rows["horizon"])]
    np.testing.assert_array_equal(rows["origin"], searched["origin"])
    np.testing.assert_allclose(rows["score_served"], searched["score_served"])
    market, knots = pair.dense.market, np.array([1, 24, 168])
    early, late = bands.pos[bands.times < market.t[0] + HISTORY][-5:], bands.pos[-5:]
    for name in NAMES:
        assert rows[f"score_{name}{CALIBRATED}"].notna().all()
        found = [bands.spread(name)(pos, knots)[0] for pos in (early, late)]
        served = [spreads(market, spec, pos, knots)[0] for pos in (early, late)]
        np.testing.assert_allclose(found[0], served[0])
        assert not np.allclose(found[1], served[1])


def test_the_final_test_is_each_pair_s_newest_origins_and_no_evaluation_outcome_reaches_it(pair):
    """Issue 107: the final test is the pair's origins from
    `FINAL_TEST` before its last scored one; every evaluation origin's longest horizon plays
    out before it; no origin is in two spans."""
    times, horizon = pair.dense.times, pair.dense.plan.horizon / pd.Timedelta(seconds=1)
    first = pair.dense.market.t[-1] - horizon - FINAL_TEST / pd.Timedelta(seconds=1)
    assert times[pair.final].max() == times[pair.dense.scored()].max()
    assert 0 <= times[pair.final].min() - first < 7 * HOUR
    assert times[pair.evaluation].max() + horizon < times[pair.final].min()
    assert pair.evaluation.any()
    assert not (pair.evaluation & pair.final).any()
    assert not (pair.validation & (pair.evaluation | pair.final)).any()


def test_the_model_confidence_set_drops_a_band_worse_beyond_chance_and_keeps_twins() -> None:
    """Issue 107: Hansen, Lunde and Nason's set (arch's), each band's p-value: a band worse at
    every origin time is out at 95%; two identical bands have one p-value."""
    draw, times = rng(7), 1_700_000_000 + 7 * HOUR * np.arange(600)
    base = draw.gamma(2.0, 0.01, 600)
    scores = {"a": base, "b": base, "c": base * 1.1, "d": base * draw.normal(1, 0.05, 600)}
    rows = pd.DataFrame({"origin": times} | {f"score_{k}": v for k, v in scores.items()})
    found = confidence_set(rows, pd.Timedelta(hours=1), ["a", "b", "c", "d"])
    assert found["a"] == found["b"] >= 0.05
    assert found["d"] >= 0.05
    assert found["c"] < 0.05
