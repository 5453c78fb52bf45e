"""HAR-RV with its intraday cascade (`cryptopredict/model/har.py`) and the band's spread averaged
with it in logs (`BandSpec.horizon_har`, issue 107): the regression is the one the variance was
simulated with, known by its origin only, and the blend is the two spreads' geometric mean at
its weight."""

from __future__ import annotations

import numpy as np

from cryptopredict.model.band_spec import scaled
from cryptopredict.model.bands import har_spreads, spreads
from cryptopredict.model.har import HAR_HOURS, Har
from cryptopredict.model.market import HOUR, WEEK, Market


def simulated(bars: int = 2 * 365 * 24) -> tuple[Market, np.ndarray, np.ndarray]:
    """Hourly prices whose variance follows HAR over `HAR_HOURS` (each bar's range its
    variance's, Parkinson's), the regressors and the coefficients."""
    draw, coefficients = np.random.default_rng(4), np.array([-0.9, 0.2, 0.15, 0.25, 0.15, 0.1])
    rv, terms = np.full(bars, 1e-4), np.zeros((bars, len(coefficients)))
    for i in range(max(HAR_HOURS), bars):
        terms[i - 1] = [1, *(np.log(rv[i - w : i].mean()) for w in HAR_HOURS)]
        rv[i] = np.exp(terms[i - 1] @ coefficients + 0.5 * draw.standard_normal())
    market = Market(
        np.arange(bars) * HOUR, np.cumsum(np.sqrt(rv) * draw.standard_normal(bars)), HOUR
    )
    market.read_ranges(np.sqrt(4 * np.log(2) * rv))
    return market, terms, coefficients


def test_har_rv_forecasts_with_the_coefficients_its_variance_was_simulated_with() -> None:
    """On two years of hourly realized variance simulated from HAR with its 1 h and 6 h terms,
    the next hour's variance at a week's origins is the lognormal mean the simulation's own
    coefficients give, within 6% (a year's estimation error of six coefficients); a day's
    spread is wider."""
    market, terms, coefficients = simulated()
    start = int(market.t[-200]) // WEEK * WEEK
    pos = np.arange(market.position(np.array([start]))[0] + 1, len(market.t) - 2)
    spread = Har(market.ranged, np.ones(market.slots), start).spread(pos, [1, 24])
    np.testing.assert_allclose(
        spread[:, 0] ** 2, np.exp(terms[pos] @ coefficients + 0.125), rtol=0.06
    )
    assert (spread[:, 1] > spread[:, 0]).all()


def test_har_rv_at_an_origin_reads_no_bar_after_it() -> None:
    market, _, _ = simulated(400 * 24)
    cut = len(market.t) - 100
    short = Market(market.t[:cut], market.log_price[:cut], HOUR)
    short.read_ranges(np.sqrt(4 * np.log(2)) * market.ranged.sizes[:cut])
    spec = scaled(1, 24, profile=True, range_variance=True)
    pos = np.array([cut - 30, cut - 1])
    whole, alone = (har_spreads(m, spec, pos, np.array([1, 24, 168])) for m in (market, short))
    assert np.isfinite(whole).all()
    np.testing.assert_allclose(whole, alone, rtol=1e-12)


def test_the_band_averages_its_spread_with_har_rv_in_logs_at_each_horizon_s_weight() -> None:
    """Weight 1 at 1 h serves HAR-RV's spread, 0.5 at 1 d the geometric mean of the two, 0 at
    30 d the band's own; between, the weight is linear in lead. The spread relative to the
    year's moves with it (the pool the pairs share standardises by it)."""
    market, _, _ = simulated(400 * 24)
    plain = scaled(1, 24, profile=True, range_variance=True)
    blended = scaled(
        1, 24, profile=True, range_variance=True, horizon_har=((1, 1.0), (24, 0.5), (720, 0.0))
    )
    pos, knots = np.arange(len(market.t) - 500, len(market.t), 7), np.array([1, 24, 372, 720])
    own, relative = spreads(market, plain, pos, knots)
    mixed, mixed_relative = spreads(market, blended, pos, knots)
    har = har_spreads(market, plain, pos, knots)
    weight = np.array([1.0, 0.5, 0.25, 0.0])
    np.testing.assert_allclose(mixed, own ** (1 - weight) * har**weight)
    np.testing.assert_allclose(mixed_relative / relative, mixed / own)
    assert not np.allclose(mixed[:, 1], own[:, 1])
