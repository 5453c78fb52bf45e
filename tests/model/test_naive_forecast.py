"""The naive forecast training writes into the manifest (`naive_forecast`) is the band the
backtest scores naive with, at any lead: the API's live scorecard evaluates it from the
manifest's table (`postprocess.empirical_offsets`, numpy alone) exactly as `Band` does."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cryptopredict.artifact.schema import LEVELS
from cryptopredict.model.market import Market
from cryptopredict.model.plan import Plan, epoch_seconds
from cryptopredict.model.scoring import naive_band, naive_forecast
from cryptopredict.postprocess import empirical_offsets
from cryptopredict.standard_error import tails

# Every minute of the first day, then hours and fractions of them to past 30 days.
LEADS = np.concatenate([np.arange(0, 24, 1 / 60), [25.5, 167.25, 719.9, 720.0, 800.0, 2000.0]])


@pytest.fixture(scope="module")
def market(recent_history) -> tuple[Market, np.ndarray]:
    frame = recent_history.bars.frame
    close = frame["close"].to_numpy(dtype=np.float64)
    return Market(epoch_seconds(frame["timestamp"]), np.log(close), 3600), close


@pytest.mark.parametrize("horizon_days", [30, 7])
def test_the_manifests_naive_band_is_the_backtests_at_every_lead(market, horizon_days):
    prices, close = market
    plan = Plan(horizon=pd.Timedelta(days=horizon_days))
    naive = naive_forecast(prices, close, plan)
    hours = [h for h in (1, 24, 168, 720) if h <= horizon_days * 24]
    assert naive.hours == tuple(float(h) for h in hours)
    assert naive.price == close[-1]
    last = np.array([len(prices.t) - 1])
    wanted = naive_band(prices, last, hours).offsets(last, LEADS, calibrated_at=prices.t[last])
    for level in LEVELS:
        low, high = tails(level)
        lower = empirical_offsets(LEADS, naive.hours, naive.lower[str(level)], upper=False)
        upper = empirical_offsets(LEADS, naive.hours, naive.upper[str(level)], upper=True)
        np.testing.assert_allclose(lower, wanted[low][0], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(upper, wanted[high][0], rtol=1e-12, atol=1e-15)
        assert lower[0] == upper[0] == 0.0  # at lead 0, the last price itself
        assert np.all(np.diff(upper) >= 0)  # never narrower along lead
        assert np.all(np.diff(lower) <= 0)


def test_a_band_that_narrows_between_horizons_is_held_at_its_widest():
    """Quantiles that shrink from one calibrated horizon to the next: each bound keeps the
    widest it reached before, and grows as a power of the lead to the next (`along_lead`), as
    `Band` serves it."""
    hours = (1.0, 24.0, 168.0)
    upper = (0.02, 0.015, 0.05)
    found = empirical_offsets(
        np.array([0.5, 1.0, 12.0, 24.0, 100.0, 168.0]), hours, upper, upper=True
    )
    # Below the first calibrated horizon as sqrt(lead); the 24 h quantile's dip held at 0.02.
    np.testing.assert_allclose(found[:4], [0.02 * np.sqrt(0.5), 0.02, 0.02, 0.02])
    # From 24 h to 168 h a power of the lead, from the widest reached to the next knot's.
    share = np.log(100 / 24) / np.log(168 / 24)
    assert found[4] == pytest.approx(0.02 * (0.05 / 0.02) ** share)
    assert found[5] == pytest.approx(0.05)
