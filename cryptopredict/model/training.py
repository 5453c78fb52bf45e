"""Train the served model: backtest, fit, precompute the forecast grid, gate, write the artifact."""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import platform
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from cryptopredict.artifact import BarHistory, Grid, write_artifact
from cryptopredict.assets import Asset
from cryptopredict.data import History
from cryptopredict.data.frame import VALUE_COLUMNS, bar_vwap
from cryptopredict.model.backtest import Backtest, Plan, run_backtest
from cryptopredict.model.config import ModelConfig
from cryptopredict.model.forecasters import (
    ProphetForecaster,
    empirical_return_quantiles,
    realized_volatility,
    to_epoch_seconds,
    window,
)
from cryptopredict.model.gate import GateRules, check_gate
from cryptopredict.postprocess import Postprocess

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingRequest:
    asset: Asset
    config: ModelConfig
    horizon: pd.Timedelta
    gate: GateRules
    plan: Plan | None  # None: no backtest
    model_version: str = "dev"
    git_sha: str | None = None
    jobs: int | None = None
    # The price the model learns: each bar's close, or its VWAP. The backtest scores both
    # against the close, the price users compare forecasts with.
    price: str = "close"


@dataclass(frozen=True)
class Trained:
    path: Path
    manifest: dict
    backtest: Backtest | None


def train(history: History, request: TrainingRequest, out_dir: Path) -> Trained:
    """Everything from validated bars to a written artifact; raises before writing on failure."""
    bars = history.bars
    frame = model_frame(bars.frame, request.price)
    interval = bars.interval.delta
    config, backtest = request.config, None
    if request.plan is not None:
        backtest = run_backtest(frame, interval, config, request.plan, jobs=request.jobs)
        if backtest.damping is not None:
            config = config.with_changes(damping_hours=backtest.damping.value)
        if backtest.volatility is not None:
            config = config.with_changes(volatility_days=int(backtest.volatility.value))
    # The shipped pickle is an ordinary Prophet model with its own (seeded) intervals; the grid
    # is built from its point predictions and the calibrated band.
    forecaster = ProphetForecaster(config, uncertainty_samples=1000).fit(frame)
    seen = window(frame, config.window_days)
    rules = _with_band(forecaster.rules, config, backtest, seen)
    grid = build_grid(forecaster, rules, seen, interval, request.horizon)
    check_gate(grid, backtest, request.gate)
    manifest = _manifest(
        history,
        request=request,
        config=config,
        rules=rules,
        seen=seen,
        grid=grid,
        backtest=backtest,
    )
    backtest_report = {
        "summary": backtest.summary() if backtest else None,
        "damping": backtest.damping.to_dict() if backtest and backtest.damping else None,
        "volatility": (backtest.volatility.to_dict() if backtest and backtest.volatility else None),
        "paths": backtest.paths() if backtest else [],
    }
    path = write_artifact(
        out_dir,
        model=forecaster.model,
        grid=grid,
        history=history_series(bars.frame),
        backtest=backtest_report,
        manifest=manifest,
    )
    return Trained(path, manifest, backtest)


def build_grid(
    forecaster: ProphetForecaster,
    rules: Postprocess,
    seen: pd.DataFrame,
    interval: pd.Timedelta,
    horizon: pd.Timedelta,
) -> Grid:
    """The fit over the bars the model saw, then the served forecast to the horizon."""
    first, last = seen["ds"].iloc[0], seen["ds"].iloc[-1]
    ds = pd.Series(pd.date_range(first, last + horizon, freq=interval))
    seconds = to_epoch_seconds(ds)
    raw = predict_mean(forecaster, ds)
    past = seconds <= rules.origin
    fit = np.exp(raw) if rules.target == "log" else raw
    in_sample = _in_sample_band(seen, fit[past], seconds[past], rules.interval_width)
    future = rules.forecast(seconds[~past], raw[~past])
    return Grid(
        ds=seconds,
        yhat=np.concatenate([fit[past], future[0]]),
        yhat_lower=np.concatenate([in_sample[0], future[1]]),
        yhat_upper=np.concatenate([in_sample[1], future[2]]),
    )


def predict_mean(forecaster: ProphetForecaster, ds: pd.Series) -> np.ndarray:
    """Prophet's point prediction in model space, without sampling its own intervals."""
    model = forecaster.model
    samples = model.uncertainty_samples
    model.uncertainty_samples = 0
    try:
        return model.predict(pd.DataFrame({"ds": ds.to_numpy()}))["yhat"].to_numpy()
    finally:
        model.uncertainty_samples = samples


def _in_sample_band(
    seen: pd.DataFrame, fit: np.ndarray, seconds: np.ndarray, width: float
) -> tuple[np.ndarray, np.ndarray]:
    """A constant band holding `width` of the in-sample log errors around the fit."""
    actual = pd.Series(seen["y"].to_numpy(), index=to_epoch_seconds(seen["ds"]))
    errors = np.log(actual.reindex(seconds).to_numpy() / fit)
    low, high = np.nanquantile(errors, ((1 - width) / 2, (1 + width) / 2))
    return fit * np.exp(low), fit * np.exp(high)


def _with_band(
    rules: Postprocess, config: ModelConfig, backtest: Backtest | None, seen: pd.DataFrame
) -> Postprocess:
    if backtest is not None and backtest.calibration is not None:
        table = backtest.calibration
        scale = realized_volatility(seen, config.volatility_days)
    else:
        # Without a backtest there are no model errors to calibrate on; the past moves of the
        # price over each horizon are the honest stand-in (the naive baseline's band).
        table, scale = empirical_return_quantiles(seen, config.interval_width), 1.0
    hours, lower, upper = table
    return replace(rules, band_hours=hours, band_lower=lower, band_upper=upper, band_scale=scale)


def _manifest(
    history: History,
    *,
    request: TrainingRequest,
    config: ModelConfig,
    rules: Postprocess,
    seen: pd.DataFrame,
    grid: Grid,
    backtest: Backtest | None,
) -> dict:
    bars = history.bars
    return {
        "asset": request.asset.slug,
        "symbol": bars.symbol,
        "interval": str(bars.interval),
        "model_version": request.model_version,
        "created_at": pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git_sha": request.git_sha,
        "data": {
            "source": bars.source,
            "failed_sources": list(history.failures),
            "first": _iso(bars.first),
            "last": _iso(bars.last),
            "rows": len(bars.frame),
            "sha256": frame_sha256(bars.frame),
            "validation": history.report.to_dict(),
            "training_window": {
                "first": _iso(seen["ds"].iloc[0]),
                "last": _iso(seen["ds"].iloc[-1]),
                "rows": len(seen),
            },
        },
        "versions": {
            "python": platform.python_version(),
            **{name: importlib.metadata.version(name) for name in ("prophet", "pandas", "numpy")},
        },
        "params": {**config.to_dict(), "price": request.price},
        "postprocess": rules.to_dict(),
        "metrics": backtest.summary() if backtest else None,
        "horizon": {
            "days": request.horizon / pd.Timedelta(days=1),
            "grid_first": _iso_seconds(grid["ds"][0]),
            "grid_last": _iso_seconds(grid["ds"][-1]),
        },
    }


def frame_sha256(frame: pd.DataFrame) -> str:
    """A digest of the bars' values, stable across file formats and runs."""
    digest = hashlib.sha256()
    digest.update(to_epoch_seconds(frame["timestamp"]).tobytes())
    for column in frame.columns[1:]:
        digest.update(frame[column].to_numpy(dtype=np.float64).tobytes())
    return digest.hexdigest()


def _iso(stamp: pd.Timestamp) -> str:
    return pd.Timestamp(stamp).strftime("%Y-%m-%dT%H:%M:%SZ")


def _iso_seconds(seconds: int) -> str:
    return _iso(pd.Timestamp(int(seconds), unit="s"))


def history_series(frame: pd.DataFrame) -> BarHistory:
    """Every bar as the artifact's history: epoch seconds, OHLCV and each bar's VWAP."""
    columns = {name: frame[name].to_numpy(dtype=np.float64) for name in VALUE_COLUMNS}
    return BarHistory(
        ds=to_epoch_seconds(frame["timestamp"]), **columns, vwap=bar_vwap(frame).to_numpy()
    )


PRICES = ("close", "vwap")


def model_frame(bars: pd.DataFrame, price: str) -> pd.DataFrame:
    """`ds` (naive UTC) and `y`, the price to learn; with VWAP, `actual` keeps the close."""
    ds = bars["timestamp"].dt.tz_localize(None)
    if price == "close":
        return pd.DataFrame({"ds": ds, "y": bars["close"]})
    if price == "vwap":
        return pd.DataFrame({"ds": ds, "y": bar_vwap(bars), "actual": bars["close"]})
    raise ValueError(f"unknown price {price!r}; choose one of {', '.join(PRICES)}")
