"""Backtest mechanics on constructed data: origins, re-anchoring, damping and its evidence."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from cryptopredict.artifact.schema import ModelConfig
from cryptopredict.model.backtest import BacktestSetup, fitted_refits
from cryptopredict.model.plan import Plan, epoch_seconds
from cryptopredict.model.refits import Refits
from tools import damping

HOUR = pd.Timedelta(hours=1)


def hourly(days: int, start: str = "2024-01-01") -> pd.Series:
    return pd.Series(pd.date_range(start, periods=24 * days, freq="h"))


def scored_origins(ds: pd.Series) -> list[pd.Timestamp]:
    times, scored = Plan().refit_times(epoch_seconds(ds))
    return list(pd.to_datetime(times[:scored], unit="s"))


def test_refits_cycle_through_weekdays_and_hours_from_a_year_in():
    ds = hourly(800)
    origins = scored_origins(ds)
    assert origins[0] >= ds.iloc[0] + pd.Timedelta(days=365)
    assert origins[-1] <= ds.iloc[-1] - pd.Timedelta(days=30)
    assert origins[-1] > ds.iloc[-1] - pd.Timedelta(days=30) - Plan().step
    assert {at.day_of_week for at in origins} == set(range(7))
    assert len({at.hour for at in origins}) == 24
    assert {b - a for a, b in itertools.pairwise(origins)} == {pd.Timedelta(days=7, hours=7)}


def test_adding_bars_only_adds_origins():
    # On a grid fixed to the epoch, old origins (and their cached fits) stay valid.
    before = scored_origins(hourly(700))
    after = scored_origins(hourly(760))
    assert after[: len(before)] == before
    assert len(after) > len(before)
    dense_before = Plan().band_times(epoch_seconds(hourly(700)))
    dense_after = Plan().band_times(epoch_seconds(hourly(760)))
    np.testing.assert_array_equal(dense_after[: len(dense_before)], dense_before)


def test_origins_snap_to_bars_that_exist():
    ds = hourly(500)
    ds = ds.drop(index=range(24 * 460, 24 * 471)).reset_index(drop=True)  # an 11-day hole
    origins = scored_origins(ds)
    assert set(origins) <= set(ds)
    assert len(origins) == len(set(origins))


def test_the_latest_refit_is_re_anchored_at_each_origin_and_damped():
    interval = 3600
    times = np.array([0, 100 * interval])
    raw = np.log(100.0) + 0.01 * np.arange(200)[None, :] + np.array([[0.0], [0.5]])
    refits = Refits(times, raw, interval)
    config = ModelConfig(name="log", target="log", anchored=True)
    origins = np.array([10 * interval, 150 * interval])
    anchor = np.array([50.0, 70.0])
    leads = np.array([0.0, 5.0])
    undamped = refits.centre(config, anchor, origins, leads)
    # From the last price, moving as the latest refit moves: 0.01 a bar.
    np.testing.assert_allclose(undamped[:, 0], anchor)
    np.testing.assert_allclose(undamped[:, 1], anchor * np.exp(0.05))
    flat = refits.centre(config.with_changes(damping_hours=0.0), anchor, origins, leads)
    np.testing.assert_allclose(flat, anchor[:, None] * np.ones((1, 2)))
    before_any = refits.centre(config, np.array([42.0]), np.array([-5]), leads)
    np.testing.assert_allclose(before_any, [[42.0, 42.0]])


def trending_setup(config: ModelConfig) -> BacktestSetup:
    """Three and a half years of hourly prices rising 0.01% an hour, with noise, backtested by
    `config` (two years would leave no validation refit: each needs a year before it)."""
    ds = hourly(1280)
    noise = np.random.default_rng(3).normal(0, 0.002, len(ds))
    history = pd.DataFrame({"ds": ds, "y": 100 * np.exp(1e-4 * np.arange(len(ds)) + noise)})
    return BacktestSetup.build(history, HOUR, config, Plan())


def test_the_damping_design_spreads_its_refits_over_the_validation_origins():
    setup = trending_setup(ModelConfig(name="log", damping_hours=0.0))
    origins = damping.design(setup, count=8)
    scored = setup.times[: setup.scored]
    validation = scored[(scored >= setup.validation_start) & (scored <= setup.validation_end)]
    assert len(validation) > 8
    assert len(origins) == 8
    assert (origins[0], origins[-1]) == (validation[0], validation[-1])
    assert set(origins) <= set(validation)
    assert np.ptp(np.diff(origins)) <= Plan().step / pd.Timedelta(seconds=1)  # evenly spread
    np.testing.assert_array_equal(damping.design(setup, count=1_000), validation)


def test_each_candidates_errors_against_the_last_close_show_a_trend_that_was_right():
    setup = trending_setup(ModelConfig(name="log", damping_hours=0.0))
    origins = damping.design(setup, count=6)
    steps = np.arange(2000)
    at = setup.market.position(origins)
    # A path that extrapolates the true trend from each origin, in log price.
    raw = np.log(setup.anchor[at])[:, None] + 1e-4 * steps[None, :]
    rows = damping.errors(setup, Refits(origins, raw, 3600), candidates=(None, 24.0, 0.0))
    assert set(rows["horizon"]) == {"1d", "7d", "30d"}
    assert len(rows) == 3 * 3 * len(origins)
    by = rows.groupby(["tau", "horizon"])[["served", "naive"]].sum()
    # Undamped, the path kept the trend: much closer than the last close, further out more so.
    assert by.loc[("none", "7d"), "served"] < 0.2 * by.loc[("none", "7d"), "naive"]
    # Damped by 24 h: between the two; tau 0: the last close itself.
    assert by.loc[("none", "30d"), "served"] < by.loc[("24", "30d"), "served"]
    assert by.loc[("24", "30d"), "served"] < by.loc[("24", "30d"), "naive"]
    np.testing.assert_allclose(by.loc[("0", "1d"), "served"], by.loc[("0", "1d"), "naive"])


def test_prophet_is_refitted_nowhere_at_tau_0_and_at_every_origin_otherwise(monkeypatch):
    calls: list[int] = []

    def path(history, origin, config, plan, interval):
        calls.append(origin)
        assert config.damping_hours is None  # refitted undamped: the damping acts on the path
        return np.zeros(10)

    monkeypatch.setattr("cryptopredict.model.backtest.refit_at", path)
    assert len(fitted_refits(trending_setup(ModelConfig(name="log", damping_hours=0.0))).times) == 0
    assert calls == []
    setup = trending_setup(ModelConfig(name="log", damping_hours=24.0))
    refits = fitted_refits(setup)
    np.testing.assert_array_equal(refits.times, setup.times)
    assert calls == list(setup.times)


@pytest.mark.parametrize("days", [730, 2000])
def test_every_validation_outcome_is_known_before_the_first_evaluation_origin(days):
    seconds = epoch_seconds(hourly(days))
    plan = Plan()
    start, end = plan.validation_start(seconds), plan.validation_end(seconds)
    first_evaluation = plan.evaluation_start(seconds)
    horizon = int(plan.horizon / pd.Timedelta(seconds=1))
    assert end + horizon < first_evaluation
    # A short history keeps validation origins: two years are shared between the two.
    assert end - start > 100 * 86_400
    assert first_evaluation <= seconds[-1] - horizon - 300 * 86_400
    boundary = plan.boundary(seconds)
    assert boundary.last_validation_outcome < boundary.first_evaluation_origin
    if days == 2000:  # a long history keeps the documented spans
        assert first_evaluation == seconds[-1] - horizon - 730 * 86_400
        assert start == seconds[0] + 365 * 86_400
