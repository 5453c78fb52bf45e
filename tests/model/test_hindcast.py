"""The hindcast: every bar of the history forecast before the fact, never from later data."""

from __future__ import annotations

import numpy as np
import pytest

from cryptopredict.artifact.schema import ModelConfig
from cryptopredict.model.band_spec import DEFAULT_BAND
from cryptopredict.model.bands import BAND_HOURS, Band
from cryptopredict.model.build import HINDCAST_STEP, Hindcast
from cryptopredict.model.market import HOUR, Market
from cryptopredict.model.plan import Plan
from cryptopredict.model.refits import Refits
from cryptopredict.model.scoring import DenseOrigins

START = 1_704_067_200  # 2024-01-01T00:00:00Z


def hindcast_of(log_prices: np.ndarray) -> Hindcast:
    seconds = START + HOUR * np.arange(len(log_prices))
    market = Market(seconds, log_prices, HOUR)
    prices = np.exp(log_prices)
    config = ModelConfig().with_changes(damping_hours=0.0)
    dense = DenseOrigins(market, prices, Refits.none(HOUR), config, Plan())
    return Hindcast(dense, Band(DEFAULT_BAND, market, dense.pos, dense.errors(BAND_HOURS)))


def walk(hours: int, seed: int = 9) -> np.ndarray:
    return np.log(30_000) + np.cumsum(np.random.default_rng(seed).normal(0, 0.006, hours))


def test_every_bar_is_forecast_from_an_earlier_origin_within_six_hours():
    hindcast = hindcast_of(walk(24 * 120))
    seconds = hindcast.dense.market.t
    rows = hindcast.rows(seconds)
    lead = seconds - rows["origin"]
    assert lead[0] == 0, "the first bar has no earlier data: it is its own origin"
    assert np.all(lead[1:] > 0)
    assert lead.max() == HINDCAST_STEP
    assert np.all(rows["origin"] % HINDCAST_STEP == 0)
    # With tau 0 the forecast is the close at the origin.
    at = np.searchsorted(seconds, rows["origin"])
    np.testing.assert_allclose(rows["yhat"], np.exp(hindcast.dense.market.log_price[at]))


def test_every_row_is_finite_positive_and_banded_in_order():
    rows = hindcast_of(walk(24 * 120)).rows(START + HOUR * np.arange(24 * 120))
    values = np.stack([rows[name] for name in rows if name != "origin"])
    assert np.all(np.isfinite(values))
    assert np.all(values > 0)
    for low, high in (("50", "80"), ("80", "95")):
        assert np.all(rows[f"yhat_lower_{high}"] <= rows[f"yhat_lower_{low}"])
        assert np.all(rows[f"yhat_upper_{low}"] <= rows[f"yhat_upper_{high}"])
    assert np.all(rows["yhat_lower_50"] <= rows["yhat"])
    assert np.all(rows["yhat"] <= rows["yhat_upper_50"])


def test_later_data_never_changes_an_earlier_hindcast():
    prices = walk(24 * 200)
    changed = prices.copy()
    cut = 24 * 150
    changed[cut:] += np.linspace(0, 0.8, len(prices) - cut)  # a rally after the cut
    seconds = START + HOUR * np.arange(cut + 1)  # every bar up to the cut's first
    before, after = hindcast_of(prices).rows(seconds), hindcast_of(changed).rows(seconds)
    for name in before:
        np.testing.assert_array_equal(before[name], after[name], err_msg=name)


def test_the_80_percent_band_holds_about_80_percent_of_a_random_walk():
    prices = walk(24 * 400, seed=4)
    hindcast = hindcast_of(prices)
    seconds = hindcast.dense.market.t[24 * 120 :]
    rows = hindcast.rows(seconds)
    actual = np.exp(prices[24 * 120 :])
    held = (rows["yhat_lower_80"] <= actual) & (actual <= rows["yhat_upper_80"])
    assert held.mean() == pytest.approx(0.8, abs=0.04)
