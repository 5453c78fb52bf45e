"""The panel's peers and re-anchored bands (`tools/peer_bands.py`, `tools/peers.py`) on real
hourly BTC/USD bars: GARCH's filter and term structure are arch's own, every peer's band is
known by its origin, a band re-anchored 0 hours later is the fresh band, an origin whose bar
at origin + s is missing is left out, and the figures pool every pair's forecasts alike."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from arch import arch_model

from cryptopredict.artifact.schema import BandSpec
from cryptopredict.model.backtest import BacktestSetup
from cryptopredict.model.bands import BAND_HOURS, profile_of
from cryptopredict.model.config import DEFAULT
from cryptopredict.model.market import HOUR, WEEK, Market
from cryptopredict.model.panel_choice import panel_band
from cryptopredict.model.panel_pool import stored_pools
from cryptopredict.model.plan import Plan
from tools.panel_search import SCORED, outcomes, pair_origins, validation_scores
from tools.peer_bands import PEERS, SCALE, Week, band_profile, hour_of_week, peer_offsets
from tools.peers import HOUR_OF_WEEK, figures, peer_rows, reanchored_rows, versus

DAYS = 450  # a year for the first fit, and the rest split into validation and evaluation


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
def week(history) -> tuple[Market, Week, int]:
    market = market_of(history)
    start = int(market.t[-1]) // WEEK * WEEK - WEEK
    return market, Week(market, start, len(market.t) - 1, hour_of_week), start


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


def test_a_peers_band_is_known_by_its_origin(history, spec) -> None:
    """Bars after an origin's week start change no peer's band there but through the hourly
    filter; bars after the origin change nothing at all."""
    market = market_of(history)
    origin = len(market.t) - 400
    pos = np.array([origin])
    whole = peer_offsets(market, pos, [1, 24], band_profile(spec))
    cut = market_of(history.iloc[: origin + 1])
    alone = peer_offsets(cut, pos, [1, 24], band_profile(spec))
    for name in PEERS:
        for side in (0, 1):
            np.testing.assert_allclose(whole[name][side], alone[name][side], rtol=1e-9)
    assert (whole["garch-t"][0] < 0).all()
    assert (whole["garch-t"][1] > 0).all()


@pytest.fixture(scope="module")
def spec() -> BandSpec:
    found = panel_band()
    assert found is not None
    return found


@pytest.fixture(scope="module")
def pair(history):
    setup = BacktestSetup.build(history, pd.Timedelta(hours=1), DEFAULT, Plan())
    return pair_origins("BTC/USD", setup, 0.0, np.empty(0, dtype=np.int64), [])


def test_a_band_re_anchored_0_hours_later_is_the_fresh_band(pair, spec) -> None:
    rows = reanchored_rows(pair, spec, stored_pools(), shifts=(0, 3))
    now = rows[rows["shift"] == 0]
    np.testing.assert_allclose(now["score_reanchored"], now["score_fresh"])
    later = rows[(rows["shift"] == 3) & (rows["horizon"] == "1h")]
    assert len(later) > 100
    assert not np.allclose(later["score_reanchored"], later["score_fresh"])


def test_an_origin_whose_bar_at_origin_plus_s_is_missing_is_left_out(history, pair, spec) -> None:
    times = pair.dense.times[pair.evaluation]
    gone = pd.Timestamp(int(times[10]) + 3 * HOUR, unit="s")
    gapped = history[history["ds"] != gone].reset_index(drop=True)
    setup = BacktestSetup.build(gapped, pd.Timedelta(hours=1), DEFAULT, Plan())
    holed = pair_origins("BTC/USD", setup, 0.0, np.empty(0, dtype=np.int64), [])
    rows = reanchored_rows(holed, spec, stored_pools(), shifts=(3,))
    assert times[10] not in set(rows["origin"])
    assert times[11] in set(rows["origin"])


def test_the_served_band_is_scored_as_the_panel_scores_it(pair, spec) -> None:
    """The served and naive bands' scores are `make panel`'s own (`panel_search.outcomes`)."""
    mine = peer_rows(pair, spec, stored_pools())
    panel, _ = outcomes(pair, spec, stored_pools(), list(BAND_HOURS))
    np.testing.assert_allclose(mine["score_served"], panel["score_served"])
    np.testing.assert_allclose(mine["score_naive"], panel["score_naive"])
    np.testing.assert_array_equal(mine["held_served"], panel["held_80"])


def test_the_validation_origins_are_scored_as_the_search_scores_them(pair, spec) -> None:
    """The panel's 1-day slope on the validation origins reads the origins and scores the
    search chose by (`panel_search.validation_scores`, calibrated at the scored horizons),
    not the evaluation's."""
    searched = validation_scores(pair, spec, stored_pools())
    hours = pair.dense.hours(SCORED)
    scored, _ = outcomes(pair, spec, stored_pools(), hours, validation=True)
    assert set(scored["origin"]).isdisjoint(pair.dense.times[pair.evaluation])
    for label, rows in searched.groupby("horizon"):
        mine = scored[scored["horizon"] == label]
        np.testing.assert_array_equal(mine["origin"], rows["origin"])
        np.testing.assert_allclose(mine["score_served"], rows["served"])
        np.testing.assert_allclose(mine["score_naive"], rows["naive"])


def test_served_and_peers_are_scored_on_the_same_origins(pair, spec) -> None:
    rows = peer_rows(pair, spec, stored_pools())
    for name in ("served", "naive", *PEERS, *(peer + HOUR_OF_WEEK for peer in PEERS)):
        assert rows[f"score_{name}"].notna().all()
    hour = rows[rows["horizon"] == "1h"]
    assert 0.7 < hour["held_garch-t"].mean() < 0.9
    assert not np.allclose(hour["score_garch-t"], hour[f"score_garch-t{HOUR_OF_WEEK}"])
    found = figures(rows.assign(pair="BTC/USD", shift=0), rows.iloc[:0].assign(shift=0))
    for kind, suffix in (("peers", ""), ("peers_hour_of_week", HOUR_OF_WEEK)):
        garch = found[kind]["1h"]["garch-t"]
        gap = (hour["score_served"].sum() - hour[f"score_garch-t{suffix}"].sum()) / hour[
            "score_naive"
        ].sum()
        assert garch["served_minus_this"] == pytest.approx(gap)


def test_each_peer_reads_the_profile_the_served_band_reads_at_its_week_start(week, spec) -> None:
    """On the served band's footing: its profile (hour of day times day of week) as the band
    reads it at the week's start; the sensitivity reads the hour-of-week one."""
    market, _, start = week
    begin = market.position(np.array([start]))
    served = Week(market, start, len(market.t) - 1, band_profile(spec))
    assert spec.profile_factored
    np.testing.assert_allclose(served.profile, profile_of(market, spec, begin)[0])
    np.testing.assert_allclose(
        hour_of_week(market, int(begin[0])), market.profile(begin, factored=False)[0]
    )
    assert not np.allclose(served.profile, hour_of_week(market, int(begin[0])))


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
