"""Training end to end on real data: the artifact, determinism, the gate, and failure safety."""

from __future__ import annotations

import json
import pickle
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import stanio.json
import ujson

from cryptopredict.api.app import create_app
from cryptopredict.artifact.arrays import forecast_times
from cryptopredict.artifact.read import load_artifact
from cryptopredict.artifact.schema import MANIFEST
from cryptopredict.artifact.store import open_artifacts
from cryptopredict.assets import asset_for_symbol
from cryptopredict.config import ApiSettings, Gate
from cryptopredict.model import build
from cryptopredict.model.backtest import DONE
from cryptopredict.postprocess import centre, hours_ahead
from cryptopredict.standard_error import MeanSE
from cryptopredict.training import steps
from cryptopredict.training.graph import PairError
from cryptopredict.training.tasks import BACKTEST
from tests.api.artifacts import ANY_BACKTEST
from tests.imports import python_prints
from tests.local_cluster import train
from tests.model.quick import QUICK_CONFIG, history_from_prices, quick_job

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(recent_history, tmp_path_factory, dask_client):
    return train(quick_job(recent_history), tmp_path_factory.mktemp("artifacts"), dask_client)


def test_the_artifact_holds_everything_serving_needs(trained, recent_history):
    artifact = load_artifact(trained.path)
    assert trained.path.name == "btc-usd"
    manifest = artifact.manifest
    assert manifest.data.source == "snapshot"
    assert manifest.data.last.isoformat() == "2026-07-26T16:00:00+00:00"
    assert manifest.data.validation.rows == manifest.data.rows
    assert manifest.versions["prophet"].startswith("1.")
    assert manifest.params.window_days == 30
    backtest = artifact.backtest
    assert backtest.band is not None
    chosen = json.loads(json.dumps(backtest.band.chosen.to_builtins()))
    band = json.loads((artifact.path / MANIFEST).read_bytes())["band"]
    assert {key: band[key] for key in chosen} == chosen
    assert manifest.levels == (50, 80, 95)
    assert backtest.band.validation_origins > 100
    assert backtest.summary == manifest.metrics == trained.backtest.summary
    assert artifact.origins is not None, "the backtest route and the dashboard need its rows"
    assert type(artifact.load_model()).__name__ == "Prophet"


def test_at_tau_0_prophet_is_fitted_once_and_refitted_nowhere(trained):
    manifest = load_artifact(trained.path).manifest
    assert manifest.params.damping_hours == 0
    assert len(trained.backtest.dense.refits.times) == 0
    assert manifest.metrics is not None
    assert manifest.metrics.refits == 0
    assert manifest.served.point_forecast.startswith("the last close")


def test_the_summary_keeps_its_shape_and_adds_the_scores(trained):
    summary = load_artifact(trained.path).manifest.to_builtins()["metrics"]
    assert {"origins", "interval_width", "1h", "1d", "7d", "30d"} <= set(summary)
    assert summary["origins"] >= 100, "bands are scored on many more origins than the refits"
    assert summary["interval_width"] == 0.8
    for label in ("1h", "1d", "7d", "30d"):
        horizon = summary[label]
        assert {"prophet", "naive", "drift", "prophet_vs_naive"} <= set(horizon)
        for model in ("prophet", "naive"):
            metrics = horizon[model]
            assert set(metrics["coverage_by_level"]) == {"50", "80", "95"}
            assert metrics["coverage"] == metrics["coverage_by_level"]["80"]
            assert metrics["interval_score"] == metrics["interval_score_by_level"]["80"]
            assert 0 < metrics["interval_score"] < 1
            assert metrics["quantile_score"] > 0
            by_level = metrics["coverage_by_level"]
            assert by_level["50"] <= by_level["80"] <= by_level["95"]
        versus = horizon["prophet_vs_naive"]
        assert versus["interval_score_se"] > 0
        diff = horizon["prophet"]["interval_score"] - horizon["naive"]["interval_score"]
        assert versus["interval_score_diff"] == pytest.approx(diff)
        ratio = horizon["prophet"]["interval_score"] / horizon["naive"]["interval_score"]
        assert versus["interval_score_relative"] == pytest.approx(ratio - 1)
        found = MeanSE(diff, versus["interval_score_se"], versus["n"], versus["lags"], versus["df"])
        said = {"lower": "better", "higher": "worse"}.get(found.verdict(), found.verdict())
        assert versus["verdict"] == said
        if found.enough:
            assert versus["interval_score_relative_bound"] > versus["interval_score_relative"]
    assert "coverage" not in summary["1d"]["drift"]


def test_the_pickle_loads_without_the_training_only_pyarrow(trained):
    probe = (
        "import sys, pickle; sys.modules['pyarrow'] = None; "
        f"model = pickle.loads(open({str(trained.path / 'model.pkl')!r}, 'rb').read()); "
        "print(type(model).__name__)"
    )
    assert python_prints(probe).strip() == "Prophet"


def test_the_grid_runs_from_the_first_bar_to_the_horizon(trained, recent_history):
    artifact = load_artifact(trained.path)
    ds = artifact.grid["ds"]
    assert np.all(np.diff(ds) == 3600)
    last_bar = int(recent_history.bars.last.timestamp())
    assert ds[-1] == last_bar + 20 * 24 * 3600
    assert ds[0] == artifact.history["ds"][0], "the whole history answers"
    assert artifact.history["ds"][-1] == last_bar
    assert len(artifact.history["ds"]) == len(recent_history.bars.frame)


def test_the_history_is_a_hindcast_made_before_each_bar(trained, recent_history):
    grid = load_artifact(trained.path).grid
    last_bar = int(recent_history.bars.last.timestamp())
    past = grid["ds"] <= last_bar
    lead = grid["ds"][past] - grid["origin"][past]
    assert lead[0] == 0
    assert np.all((lead[1:] > 0) & (lead[1:] <= 6 * 3600))
    assert np.all(grid["origin"][~past] == last_bar)
    close = recent_history.bars.frame.set_index(
        recent_history.bars.frame["timestamp"].astype("int64") // 10**9
    )["close"]
    actual = close.reindex(grid["ds"][past]).to_numpy()
    held = (grid["yhat_lower_80"][past] <= actual) & (actual <= grid["yhat_upper_80"][past])
    known = np.isfinite(actual)
    # Out of sample, the 80% band holds about 80% of closes (the in-sample fit held 42%).
    assert 0.7 < held[known].mean() < 0.9
    # The artifact says so too (its history is shorter than the year it would look back).
    reported = load_artifact(trained.path).backtest.hindcast
    assert reported is not None
    assert reported.bars == known.sum()
    assert reported.coverage_by_level["80"] == pytest.approx(held[known].mean())


def test_the_forecast_starts_at_the_last_close_inside_a_widening_band(trained, recent_history):
    grid, origin = load_artifact(trained.path).grid, int(recent_history.bars.last.timestamp())
    future = grid["ds"] > origin
    last_close = recent_history.bars.frame["close"].iloc[-1]
    first = np.flatnonzero(future)[0]
    assert grid["yhat"][first] == pytest.approx(last_close, rel=0.01)
    width = np.log(grid["yhat_upper_80"][future] / grid["yhat_lower_80"][future])
    assert width[24 * 7] > width[0]
    for narrow, wide in (("50", "80"), ("80", "95")):
        assert np.all(grid[f"yhat_lower_{wide}"] <= grid[f"yhat_lower_{narrow}"])
        assert np.all(grid[f"yhat_upper_{narrow}"] <= grid[f"yhat_upper_{wide}"])
    assert np.all(grid["yhat_lower_50"][future] < grid["yhat"][future])
    assert np.all(grid["yhat"][future] < grid["yhat_upper_50"][future])


def test_training_is_deterministic(recent_history, tmp_path, dask_client):
    job = quick_job(recent_history, backtest=False)
    first = load_artifact(train(job, tmp_path / "a", dask_client).path)
    second = load_artifact(train(job, tmp_path / "b", dask_client).path)
    for name in first.grid.names():
        np.testing.assert_array_equal(first.grid[name], second.grid[name])
    # Without a backtest the band is still a hindcast: finite and positive from the first bar.
    assert first.grid["ds"][0] == first.history["ds"][0]
    assert first.manifest.files["grid.npy"] == second.manifest.files["grid.npy"]


def test_a_gate_failure_writes_nothing_and_keeps_the_previous_artifact(
    recent_history, trained, tmp_path, dask_client, stand_in_fit
):
    out = trained.path.parent
    before = {path.name: path.read_bytes() for path in trained.path.iterdir()}
    strict = Gate(gate_min_coverage=0.999, gate_max_coverage=1.0, gate_max_mape_ratio=3.0)
    with pytest.raises(PairError, match=r"7-day coverage of the 80% band is .*outside \[100%"):
        train(quick_job(recent_history, gate=strict), out, dask_client)
    assert {path.name: path.read_bytes() for path in trained.path.iterdir()} == before
    assert sorted(path.name for path in out.iterdir()) == ["btc-usd", "index.json"]
    assert (trained.path / MANIFEST).exists()


def regimes(*segments: tuple[int, float, float], seed: int = 7) -> pd.Series:
    """Hourly prices from (days, drift per day, volatility per hour) segments, in order."""
    rng = np.random.default_rng(seed)
    steps = [rng.normal(drift / 24, volatility, days * 24) for days, drift, volatility in segments]
    return pd.Series(30_000 * np.exp(np.cumsum(np.concatenate(steps))))


def test_the_gate_rejects_bands_that_miss_a_regime_the_validation_never_saw(
    tmp_path, dask_client, stand_in_fit
):
    # A driftless random walk through the validation origins, then a smooth 3%-a-day rally:
    # the last close lags it far beyond any band learnt from the walk.
    prices = regimes((130, 0.0, 0.004), (70, 0.03, 0.0005))
    with pytest.raises(PairError, match=r"7-day coverage of the 80% band is \d+\.\d%, outside"):
        train(quick_job(history_from_prices(prices)), tmp_path, dask_client)
    assert not (tmp_path / "btc-usd").exists()


def test_the_gate_rejects_a_model_worse_than_naive(tmp_path, dask_client, stand_in_fit):
    # An undamped path (refitted at every origin) extrapolates a rally's trend; then the trend
    # stops and extrapolating it only adds error.
    prices = regimes((130, 0.03, 0.002), (70, 0.0, 0.004))
    strict = Gate(gate_min_coverage=0.0, gate_max_coverage=1.0, gate_max_mape_ratio=1.0)
    undamped = QUICK_CONFIG.with_changes(damping_hours=None)
    job = quick_job(history_from_prices(prices), gate=strict, config=undamped)
    with pytest.raises(PairError, match=r"7-day MAPE is .*x the naive baseline's .* at most 1x"):
        train(job, tmp_path, dask_client)


def test_the_gate_rejects_non_positive_forecasts(tmp_path, dask_client):
    # Noisy: on an exact line Prophet's optimizer crawls for minutes towards a zero noise scale.
    noise = np.random.default_rng(7).normal(0, 0.01, 24 * 60)
    falling = pd.Series(np.linspace(60_000, 1_000, 24 * 60) * np.exp(noise))
    config = QUICK_CONFIG.with_changes(target="price", anchored=False, damping_hours=None)
    job = quick_job(history_from_prices(falling), config=config, backtest=False)
    with pytest.raises(PairError, match=r"yhat is -?\d.* every value must be finite and positive"):
        train(job, tmp_path, dask_client)
    assert not (tmp_path / "btc-usd").exists()


def test_the_grid_asks_prophet_only_for_the_times_the_artifact_keeps(
    recent_history, tmp_path, monkeypatch, dask_client
):
    asked: list[np.ndarray] = []
    predict = build.predict_mean

    def recording(forecaster, ds):
        asked.append(ds.to_numpy())
        return predict(forecaster, ds)

    monkeypatch.setattr(build, "predict_mean", recording)
    trained = train(
        quick_job(recent_history, horizon_days=60, backtest=False), tmp_path, dask_client
    )
    last_bar = int(recent_history.bars.last.timestamp())
    stored = load_artifact(trained.path).grid
    ds = stored["ds"]
    kept = forecast_times(3600, int(ds[-1]), last_bar)
    # Hourly for 30 days past the last bar, then daily: 750 points of the 1,440 hours.
    assert len(kept) == 720 + 30
    assert len(ds[ds > last_bar]) == 1440
    (times,) = asked
    np.testing.assert_array_equal(times.astype("datetime64[s]").astype(np.int64), kept)
    # Where the artifact keeps a point, it is Prophet's prediction there, as if asked for all.
    every = pd.Series(pd.to_datetime(np.arange(last_bar + 3600, kept[-1] + 1, 3600), unit="s"))
    model = pickle.loads((trained.path / "model.pkl").read_bytes())
    full = predict(SimpleNamespace(model=model), every)
    at = np.searchsorted(every.to_numpy().astype("datetime64[s]").astype(np.int64), kept)
    rules = load_artifact(trained.path).manifest.postprocess
    np.testing.assert_allclose(
        stored["yhat"][np.searchsorted(ds, kept)],
        centre(rules, full[at], hours_ahead(rules, kept)),
        rtol=1e-12,
    )


def test_a_pair_priced_below_one_keeps_six_significant_digits_in_its_backtest(
    tmp_path, dask_client, stand_in_fit
):
    # DOGE/USD-like: an hourly random walk between about 0.09 and 0.30 (the digits kept are
    # this test's, not the fit: a stand-in's, judged by no gate).
    steps = np.random.default_rng(5).normal(0.0, 0.006, 24 * 120)
    prices = pd.Series(0.17 * np.exp(np.cumsum(steps)))
    history = history_from_prices(prices, symbol="DOGE/USD")
    job = quick_job(history, asset=asset_for_symbol("DOGE/USD"), gate=ANY_BACKTEST)
    trained = train(job, tmp_path, dask_client)
    assert trained.path.name == "doge-usd"
    settings = ApiSettings(model_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'none.db'}")
    client = create_app(open_artifacts(tmp_path), settings).test_client()
    answer = client.get("/model/doge-usd/backtest/origins?limit=10000")
    assert answer.status_code == 200
    page = answer.get_json()
    assert page["total"] == len(page["rows"]) > 100
    actual = [row[page["columns"].index("y")] for row in page["rows"]]
    assert all(0.01 < value < 1 for value in actual)
    assert len(set(actual)) > 100  # cents would leave a staircase of a few dozen
    shown = [value for row in page["rows"] for value in row[3:]]  # y, yhat and the band edges
    assert all(value == round(value, 7) for value in shown)  # six significant digits of 0.x
    finer = [value != round(value, 4) for value in shown]  # more than four decimals
    assert np.mean(finer) > 0.9


def test_a_backtest_tells_the_share_of_it_done_at_the_panel_s_band(recent_history, monkeypatch):
    """Issue 106: the share done once the band is chosen and once the served band is built,
    which times a pair's last seconds at its own pace (`training/progress.py`)."""
    told: list[tuple[str, dict]] = []
    monkeypatch.setattr(steps, "phase", lambda step, **said: told.append((step, said)))
    steps.backtest(quick_job(recent_history))  # BTC/USD, hourly: the panel's band
    assert told == [(BACKTEST, {"done": share}) for share in DONE["fixed"]]


def test_each_prophet_fit_hands_its_data_to_stan_through_ujson():
    """stanio encodes it in Python where ujson (5.5 or later) is missing: 1.9 CPU-seconds a fit
    where ujson's takes 1.7 (docs/performance.md)."""
    assert stanio.json.json is ujson
