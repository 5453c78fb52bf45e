"""Backtest mechanics on constructed forecasts: origins, damping choice, calibration honesty."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from cryptopredict.model.backtest import (
    HORIZONS,
    SERVED,
    Backtest,
    Plan,
    calibrate,
    choose_damping,
    damp,
    horizon_metrics,
)

HOUR = pd.Timedelta(hours=1)


def hourly(days: int) -> pd.Series:
    return pd.Series(pd.date_range("2024-01-01", periods=24 * days, freq="h"))


def test_origins_leave_room_for_the_horizon_and_cycle_through_weekdays_and_hours():
    ds = hourly(800)
    origins = Plan().origins(ds)
    assert origins[-1] == ds.iloc[-1] - pd.Timedelta(days=30)
    assert origins[0] >= ds.iloc[0] + pd.Timedelta(days=365)
    assert {at.day_of_week for at in origins} == set(range(7))
    assert len({at.hour for at in origins}) == 24
    steps = {later - earlier for earlier, later in itertools.pairwise(origins)}
    assert steps == {pd.Timedelta(days=7, hours=7)}


def test_origins_snap_to_bars_that_exist():
    ds = hourly(500)
    ds = ds.drop(index=range(24 * 460, 24 * 471)).reset_index(drop=True)  # an 11-day hole
    origins = Plan().origins(ds)
    assert set(origins) <= set(ds)
    assert len(origins) == len(set(origins))


def forecasts_frame(
    origins: list[pd.Timestamp], truth, models: dict, leads_hours: int = 720
) -> pd.DataFrame:
    """Forecast rows for each model (a function of origin, lead hours -> yhat) against `truth`."""
    rows = []
    for origin in origins:
        leads = np.arange(leads_hours + 1)
        ds = origin + leads * HOUR
        actual = truth(origin, leads)
        for name, predict in models.items():
            rows.append(
                pd.DataFrame(
                    {
                        "ds": ds,
                        "yhat": predict(origin, leads),
                        "model": name,
                        "cutoff": origin,
                        "y": actual,
                    }
                )
            )
    return pd.concat(rows, ignore_index=True)


def test_damping_is_chosen_on_validation_origins_only():
    origins = list(pd.date_range("2024-01-01", periods=40, freq="7D"))
    validation = origins[:20]

    def truth(origin, leads):
        # Before the evaluation span prices keep trending; afterwards they do not move.
        drift = 0.001 if origin in validation else 0.0
        return 100 * np.exp(drift * leads)

    models = {
        SERVED: lambda origin, leads: 100 * np.exp(0.001 * leads),  # always extrapolates the trend
        "naive": lambda origin, leads: np.full(len(leads), 100.0),
    }
    forecasts = forecasts_frame(origins, truth, models)
    choice = choose_damping(forecasts, (None, 24.0, 0.0), validation, "log")
    assert choice.value is None, "on validation the trend was right, so no damping wins"
    assert choice.validation_origins == 20
    assert [score["tau"] for score in choice.candidates] == [None, 24.0, 0.0]
    assert choice.candidates[0]["mape_7d"] == pytest.approx(0.0, abs=1e-12)


def test_full_damping_turns_the_served_path_into_its_starting_point():
    origins = [pd.Timestamp("2024-01-01")]
    models = {SERVED: lambda origin, leads: 100 + leads, "naive": lambda o, leads: 0 * leads + 100}
    forecasts = forecasts_frame(origins, lambda o, leads: 100 + 0 * leads, models, 48)
    damped = damp(forecasts, 0.0, "price")
    assert (damped.loc[damped["model"] == SERVED, "yhat"] == 100).all()
    half = damp(forecasts, 24.0, "price")
    at_24 = half[(half["model"] == SERVED) & (half["ds"] == origins[0] + 24 * HOUR)]
    assert at_24["yhat"].iloc[0] == pytest.approx(112.0)
    assert (half.loc[half["model"] == "naive", "yhat"] == 100).all()


def test_bands_are_calibrated_only_on_forecasts_that_had_played_out():
    origins = list(pd.date_range("2024-01-01", periods=30, freq="7D"))
    rng = np.random.default_rng(3)
    shocks = {origin: rng.normal(0, 0.01) for origin in origins}

    def truth(origin, leads):
        size = 10.0 if origin >= origins[25] else 1.0  # the last origins are wild
        return 100 * np.exp(shocks[origin] * size * np.sqrt(leads / 24))

    models = {SERVED: lambda origin, leads: np.full(len(leads), 100.0)}
    forecasts = forecasts_frame(origins, truth, models)
    plan = Plan(min_calibration=5)
    ones = dict.fromkeys(origins, 1.0)
    banded, final = calibrate(forecasts, SERVED, plan, evaluated=origins, width=0.8, scales=ones)
    at_7d = banded[(banded["ds"] - banded["cutoff"]) == pd.Timedelta(days=7)].set_index("cutoff")
    # The wild origins cannot have informed the band of the first wild origin...
    first_wild = at_7d.loc[origins[25]]
    assert first_wild["yhat_upper"] / first_wild["yhat"] < np.exp(0.1)
    # ...while the final table, used for serving, has learnt from all of them.
    hours, _, upper = final
    assert upper[hours.index(168.0)] > np.log(first_wild["yhat_upper"] / first_wild["yhat"])
    # Origins without five older, fully played-out 30-day forecasts get no band.
    assert origins[4] not in set(banded["cutoff"])


def test_metrics_are_prophets_performance_metrics_at_the_three_horizons():
    origins = list(pd.date_range("2024-01-01", periods=4, freq="7D"))
    models = {
        "naive": lambda origin, leads: np.full(len(leads), 100.0),
    }
    forecasts = forecasts_frame(origins, lambda o, leads: 100 + 0.01 * leads, models)
    forecasts["yhat_lower"] = forecasts["yhat"] - 1
    forecasts["yhat_upper"] = forecasts["yhat"] + 1
    metrics = horizon_metrics(forecasts, origins).set_index("horizon")
    assert list(metrics.index) == list(HORIZONS)
    assert metrics.loc["1d", "mape"] == pytest.approx(0.24 / 100.24)
    assert metrics.loc["1d", "coverage"] == 1.0  # 0.24 off, inside the +-1 band
    assert metrics.loc["7d", "coverage"] == 0.0  # 1.68 off
    assert metrics.loc["30d", "n"] == 4


def test_bands_scale_with_the_volatility_at_their_origin():
    origins = list(pd.date_range("2024-01-01", periods=20, freq="7D"))
    rng = np.random.default_rng(5)
    volatility = {origin: (0.01 if i < 19 else 0.1) for i, origin in enumerate(origins)}
    shocks = {origin: rng.normal(0, volatility[origin]) for origin in origins}
    models = {SERVED: lambda origin, leads: np.full(len(leads), 100.0)}
    forecasts = forecasts_frame(origins, lambda o, leads: 100 * np.exp(shocks[o]), models)
    banded, _ = calibrate(
        forecasts, SERVED, Plan(min_calibration=5), evaluated=origins, width=0.8, scales=volatility
    )
    at_7d = banded[(banded["ds"] - banded["cutoff"]) == pd.Timedelta(days=7)].set_index("cutoff")
    widths = np.log(at_7d["yhat_upper"] / at_7d["yhat_lower"])
    assert widths[origins[-1]] == pytest.approx(10 * widths[origins[-2]], rel=0.3)


@pytest.mark.slow
def test_the_volatility_window_is_chosen_by_interval_score_on_validation_origins():
    from cryptopredict.model.backtest import choose_volatility

    # Volatility switches every 20 days; only a short window sees the current regime.
    rng = np.random.default_rng(11)
    hours = 24 * 600
    regime = np.where((np.arange(hours) // (24 * 20)) % 2 == 0, 0.002, 0.02)
    prices = 100 * np.exp(np.cumsum(rng.normal(0, regime)))
    history = pd.DataFrame(
        {"ds": pd.date_range("2024-01-01", periods=hours, freq="h"), "y": prices}
    )
    plan = Plan(min_training=pd.Timedelta(days=100), step=pd.Timedelta(days=3), min_calibration=5)
    origins = plan.origins(history["ds"])
    series = history.set_index("ds")["y"]

    def last_close(origin, leads):
        return np.full(len(leads), series[origin])

    def truth(origin, leads):
        return series.reindex(origin + leads * HOUR).to_numpy()

    forecasts = forecasts_frame(origins, truth, {SERVED: last_close}, 24 * 7)
    plan = Plan(horizon=pd.Timedelta(days=7), min_calibration=5)
    choice = choose_volatility(
        forecasts, history, plan, validation=origins, grid=(3, 60), width=0.8
    )
    assert choice.value == 3
    scores = {candidate["days"]: candidate["score"] for candidate in choice.candidates}
    assert scores[3] < scores[60]
    assert {"coverage_1d", "coverage_7d", "score_7d"} <= set(choice.candidates[0])


@pytest.mark.slow
def test_bands_recalibrate_at_other_widths_from_the_same_errors():
    origins = list(pd.date_range("2024-01-01", periods=30, freq="7D"))
    rng = np.random.default_rng(13)
    shocks = {origin: rng.normal(0, 0.02) for origin in origins}
    models = {
        SERVED: lambda origin, leads: np.full(len(leads), 100.0),
        "naive": lambda origin, leads: np.full(len(leads), 100.0),
    }
    truth = lambda origin, leads: 100 * np.exp(shocks[origin] * np.sqrt(leads / 24))  # noqa: E731
    unbanded = forecasts_frame(origins, truth, models)
    plan, scales = Plan(min_calibration=5), dict.fromkeys(origins, 1.0)
    banded, table = calibrate(unbanded, SERVED, plan, evaluated=origins, width=0.8, scales=scales)
    evaluated = sorted(set(banded.loc[banded["model"] == SERVED, "cutoff"]))
    backtest = Backtest(
        banded, evaluated, 0.8, table, None, None, unbanded=unbanded, plan=plan, scales=scales
    )
    same = backtest.at_width(0.8)
    pd.testing.assert_frame_equal(same.forecasts, backtest.forecasts)
    assert same.summary() == backtest.summary()

    def inside(result: Backtest) -> pd.Series:
        rows = result.forecasts[result.forecasts["model"] == SERVED]
        rows = rows.set_index(["cutoff", "ds"]).sort_index()
        return rows["y"].between(rows["yhat_lower"], rows["yhat_upper"])

    narrow, wide = backtest.at_width(0.5), backtest.at_width(0.95)
    assert (narrow.interval_width, wide.interval_width) == (0.5, 0.95)
    assert narrow.evaluated == wide.evaluated == evaluated
    # Quantiles nest, so whatever a narrower band holds, a wider one holds too.
    assert (inside(narrow) <= inside(backtest)).all()
    assert (inside(backtest) <= inside(wide)).all()
    assert inside(narrow).mean() < inside(wide).mean()
    # The baselines are untouched.
    naive = backtest.forecasts["model"] == "naive"
    pd.testing.assert_frame_equal(
        narrow.forecasts[naive].reset_index(drop=True),
        backtest.forecasts[naive].reset_index(drop=True),
    )
    with pytest.raises(ValueError, match="did not calibrate"):
        Backtest(banded, evaluated, 0.8, table, None, None).at_width(0.5)
