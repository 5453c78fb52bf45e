"""The served model after its backtest: the final fit, the grid, the gate and the manifest, which
names what is served (the point forecast and the band) and how each was settled. The grid inside
the history is the hindcast: what the pipeline would have served before each bar, from the
latest six-hourly origin (`HINDCAST_STEP`, the release's schedule) strictly before it, made as
the pipeline makes it there; never the in-sample fit."""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import platform
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import msgspec
import numpy as np
import pandas as pd

from cryptopredict.artifact.arrays import BarHistory, Grid, forecast_times, grid_knots
from cryptopredict.artifact.schema import (
    DEFAULT_LEVEL,
    GRID,
    LEVELS,
    PRICES,
    SCHEMA_VERSION,
    BacktestReport,
    BandSearch,
    BandSpec,
    FitWindow,
    GridSpan,
    HindcastCheck,
    Manifest,
    ModelConfig,
    PostprocessRules,
    ServedBandSpec,
    ServedNames,
    Settlement,
    TrainingData,
)
from cryptopredict.artifact.write import encode_artifact
from cryptopredict.assets import Asset
from cryptopredict.candles import Interval, kept_candles
from cryptopredict.config import Gate
from cryptopredict.data.frame import VALUE_COLUMNS, bar_vwap
from cryptopredict.data.history import History
from cryptopredict.model.backtest import (
    BacktestResult,
    market_of,
)
from cryptopredict.model.band_spec import DEFAULT_BAND
from cryptopredict.model.bands import BAND_HOURS, Band, bounds
from cryptopredict.model.forecasters import ProphetForecaster, predict_mean, quiet_stan, window
from cryptopredict.model.gate import check_gate
from cryptopredict.model.market import Market
from cryptopredict.model.panel_choice import panel_band, panel_damping
from cryptopredict.model.plan import Plan, epoch_seconds
from cryptopredict.model.refits import Refits
from cryptopredict.model.scoring import DenseOrigins, naive_forecast
from cryptopredict.postprocess import centre as centre_of
from cryptopredict.postprocess import hours_ahead
from cryptopredict.standard_error import inside, tails
from cryptopredict.utc import utc_datetime

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingRequest:
    asset: Asset
    config: ModelConfig
    horizon: pd.Timedelta
    gate: Gate
    model_version: str = "dev"
    git_sha: str | None = None
    price: str = "close"


HINDCAST_STEP = 6 * 3600  # seconds; the release workflow's schedule
HINDCAST_RULE = (
    "Each bar inside the history is forecast from the latest origin strictly before it, "
    "origins every 6 hours (00, 06, 12, 18 UTC) on the last bar at or before them. The first "
    "bar has no earlier data: it is its own origin (lead 0), its close the forecast, its band "
    "of zero width. Before the first backtest refit the point forecast is the last price. "
    "Origins with fewer than 24 earlier returns take their volatility from the first 24 "
    "returns; bands whose calibration pool holds fewer than 100 errors use normal quantiles."
)


@dataclass(frozen=True)
class Hindcast:
    dense: DenseOrigins  # the prices, the model price, the refits and the damping served
    band: Band

    def rows(self, seconds: np.ndarray) -> dict[str, np.ndarray]:
        dense = self.dense
        grid_point = (seconds - 1) // HINDCAST_STEP * HINDCAST_STEP
        # Before the first origin with a bar, the first bar (itself, for the first bar).
        pos = np.maximum(dense.market.position(grid_point), 0)
        origin = dense.market.t[pos]
        lead = (seconds - origin) / 3600
        unique_pos, which = np.unique(pos, return_inverse=True)
        unique_lead, column = np.unique(lead, return_inverse=True)
        anchor, times = dense.anchor[unique_pos], dense.market.t[unique_pos]
        centre = dense.refits.centre(dense.config, anchor, times, unique_lead)[which, column]
        offsets = self.band.offsets(unique_pos, unique_lead)
        out = {"origin": origin.astype(np.int64), "yhat": centre}
        picked = {tau: values[which, column] for tau, values in offsets.items()}
        for level in LEVELS:
            out[f"yhat_lower_{level}"], out[f"yhat_upper_{level}"] = bounds(centre, picked, level)
        return out


def hindcast_coverage(grid: Grid, history: BarHistory, days: int = 365) -> HindcastCheck:
    """How often each level's served band (at its knots) held the close over the last `days`."""
    grid = grid_knots(Path(GRID), grid, int(history.ds[-1])).expand()
    recent = history.ds > history.ds[-1] - days * 86_400
    at = np.searchsorted(grid.ds, history.ds[recent])
    close = history.close[recent]
    return HindcastCheck(
        days=days,
        bars=int(recent.sum()),
        coverage_by_level={
            str(level): float(inside(close, grid.lower(level)[at], grid.upper(level)[at]).mean())
            for level in LEVELS
        },
    )


def build(
    history: History, request: TrainingRequest, frame: pd.DataFrame, backtest: BacktestResult | None
) -> tuple[dict[str, bytes], Manifest]:
    """The artifact's files by name, and its manifest; GateError when the model fails the gate."""
    interval = history.bars.interval.delta
    config = request.config
    if backtest is not None:
        config = backtest.dense.config
        hindcast = Hindcast(backtest.dense, backtest.served_band)
    else:
        hindcast = unbacktested_hindcast(frame, interval, config)
    quiet_stan()
    forecaster = ProphetForecaster(config).fit(frame)
    seen = window(frame, config.window_days)
    grid = build_grid(forecaster, hindcast, interval=interval, horizon=request.horizon)
    rules = _with_band(forecaster.rules, grid, hindcast.dense.market)
    bar_history = history_series(history.bars.frame)
    summary = backtest.summary if backtest else None
    check_gate(grid, summary, request.gate)
    manifest = _manifest(history, request, hindcast, seen, backtest, grid=grid, rules=rules)
    report = BacktestReport(
        summary=summary,
        band=backtest.band if backtest else None,
        hindcast=hindcast_coverage(grid, bar_history),
    )
    files = encode_artifact(
        model=forecaster.model,
        grid=grid,
        history=bar_history,
        backtest=report,
        manifest=manifest,
        origins=backtest.rows() if backtest else None,
        candles=kept_candles(bar_history, Interval.parse(manifest.interval)),
    )
    return files, manifest


def unbacktested_hindcast(
    frame: pd.DataFrame, interval: pd.Timedelta, config: ModelConfig
) -> Hindcast:
    """Without a backtest: the last price, the panel's band (else the default) on naive's errors."""
    market, anchor = market_of(frame, interval)
    dense = DenseOrigins(market, anchor, Refits.none(market.interval), config, Plan())
    spec = panel_band(interval) or DEFAULT_BAND
    return Hindcast(dense, Band(spec, market, dense.pos, dense.errors(BAND_HOURS)))


def build_grid(
    forecaster: ProphetForecaster,
    hindcast: Hindcast,
    *,
    interval: pd.Timedelta,
    horizon: pd.Timedelta,
) -> Grid:
    """The hindcast up to the last bar, then the forecast to the horizon: computed at the
    artifact's knots (`forecast_times`), interpolated between them."""
    market = hindcast.dense.market
    first, last = int(market.t[0]), int(market.t[-1])
    step = int(interval / pd.Timedelta(seconds=1))
    seconds = np.arange(first, last + int(horizon / pd.Timedelta(seconds=1)) + 1, step)
    past = seconds <= last
    before = hindcast.rows(seconds[past])
    future = seconds[~past]
    kept = forecast_times(step, int(seconds[-1]), last)
    rules = forecaster.rules
    hours = hours_ahead(rules, kept)
    raw = predict_mean(forecaster, pd.Series(pd.to_datetime(kept, unit="s")))
    centre = centre_of(rules, raw, hours)
    offsets = hindcast.band.offsets(
        np.array([len(market.t) - 1]), hours, calibrated_at=np.array([last])
    )
    arrays = {
        "ds": seconds.astype(np.int64),
        "origin": np.concatenate([before["origin"], np.full(len(future), last)]),
        "yhat": np.concatenate([before["yhat"], np.interp(future, kept, centre)]),
    }
    for level in LEVELS:
        low, high = tails(level)
        for name, tau in ((f"yhat_lower_{level}", low), (f"yhat_upper_{level}", high)):
            ahead = centre * np.exp(offsets[tau][0])
            arrays[name] = np.concatenate([before[name], np.interp(future, kept, ahead)])
    return Grid(**arrays)


def _with_band(rules: PostprocessRules, grid: Grid, market: Market) -> PostprocessRules:
    """The rules with the grid's 80% band as log offsets at the standard horizons."""
    last = market.t[-1]
    hours = tuple(float(h) for h in BAND_HOURS if (h * 3600) % market.interval == 0)
    at = np.searchsorted(grid.ds, [last + int(h * 3600) for h in hours])
    at = np.minimum(at, len(grid) - 1)
    yhat = grid.yhat[at]
    lower = tuple(float(v) for v in np.log(grid.lower(DEFAULT_LEVEL)[at] / yhat))
    upper = tuple(float(v) for v in np.log(grid.upper(DEFAULT_LEVEL)[at] / yhat))
    return msgspec.structs.replace(
        rules, band_hours=hours, band_lower=lower, band_upper=upper, band_scale=1.0
    )


def _manifest(
    history: History,
    request: TrainingRequest,
    hindcast: Hindcast,
    seen: pd.DataFrame,
    backtest: BacktestResult | None,
    *,
    grid: Grid,
    rules: PostprocessRules,
) -> Manifest:
    bars, band, dense, config = history.bars, hindcast.band, hindcast.dense, hindcast.dense.config
    summary = backtest.summary if backtest else None
    return Manifest(
        schema_version=SCHEMA_VERSION,
        asset=request.asset.slug,
        symbol=bars.symbol,
        interval=str(bars.interval),
        model_version=request.model_version,
        created_at=_utc(pd.Timestamp.now(tz="UTC")),
        git_sha=request.git_sha,
        data=TrainingData(
            source=bars.source,
            failed_sources=tuple(history.failures),
            first=_utc(bars.first),
            last=_utc(bars.last),
            rows=len(bars.frame),
            sha256=frame_sha256(bars.frame),
            validation=history.report,
            training_window=FitWindow(
                first=_utc(seen["ds"].iloc[0]), last=_utc(seen["ds"].iloc[-1]), rows=len(seen)
            ),
        ),
        versions={
            "python": platform.python_version(),
            **{name: importlib.metadata.version(name) for name in ("prophet", "pandas", "numpy")},
        },
        params=config.with_changes(price=request.price),
        postprocess=rules,
        band=ServedBandSpec(
            **msgspec.structs.asdict(band.spec),
            hindcast=HINDCAST_RULE,
            adapted_scale=band.adapted_scale(int(band.market.t[-1])),
        ),
        served=served_parts(
            config,
            band.spec,
            band_choice=backtest.band if backtest else None,
            panel_damping=config.damping_hours == panel_damping(),
            panel_band=panel_band(bars.interval.delta) == band.spec,
        ),
        levels=LEVELS,
        metrics=summary,
        backtest_boundary=summary.boundary if summary else None,
        horizon=GridSpan(
            days=request.horizon / pd.Timedelta(days=1),
            grid_first=utc_datetime(int(grid.ds[0])),
            grid_last=utc_datetime(int(grid.ds[-1])),
        ),
        files={},
        naive=naive_forecast(dense.market, dense.anchor, dense.plan),
    )


def frame_sha256(frame: pd.DataFrame) -> str:
    digest = hashlib.sha256()
    digest.update(epoch_seconds(frame["timestamp"]).tobytes())
    for column in frame.columns[1:]:
        digest.update(frame[column].to_numpy(dtype=np.float64).tobytes())
    return digest.hexdigest()


def _utc(stamp: pd.Timestamp) -> datetime:
    return pd.to_datetime(stamp, utc=True).floor("s").to_pydatetime()


def history_series(frame: pd.DataFrame) -> BarHistory:
    columns = {name: frame[name].to_numpy(dtype=np.float64) for name in VALUE_COLUMNS}
    return BarHistory(
        ds=epoch_seconds(frame["timestamp"]), **columns, vwap=bar_vwap(frame).to_numpy()
    )


def model_frame(bars: pd.DataFrame, price: str) -> pd.DataFrame:
    """`ds`, `y` (the price to learn; with VWAP, `actual` keeps the close), `high` and `low`."""
    # Each bar's range, `market_of`'s; closes alone (every high its low) have none to read.
    ranges = bars[["high", "low"] if (bars["high"] > bars["low"]).any() else []]
    ds = bars["timestamp"].dt.tz_localize(None)
    if price == "close":
        return pd.DataFrame({"ds": ds, "y": bars["close"]}).join(ranges)
    if price == "vwap":
        return pd.DataFrame({"ds": ds, "y": bar_vwap(bars), "actual": bars["close"]}).join(ranges)
    raise ValueError(f"unknown price {price!r}; choose one of {', '.join(PRICES)}")


PANEL_DAMPING = (
    "the panel's damping (cryptopredict/model/panel_choice.json): chosen by `make panel` for "
    "every pair on the pooled validation refits of the hourly spot pairs, where no damping "
    "that keeps some of Prophet's move beat the last close (tau 0) beyond two standard errors"
)
PANEL = (
    "the panel's settings (cryptopredict/model/panel_choice.json): chosen by `make panel` per "
    "horizon on the pooled validation origins of the hourly spot pairs, the same for every "
    "pair, each horizon calibrated on the errors its method names"
)


def point_forecast(config: ModelConfig) -> str:
    tau = config.damping_hours
    if not config.anchored:
        return "Prophet's path"
    if tau == 0:
        return "the last close (tau 0: Prophet's path is not served)"
    if tau is None:
        return "Prophet's path, shifted to start at the last close (undamped)"
    return (
        f"Prophet damped by tau: the last close plus Prophet's move from it times "
        f"tau / (tau + h) at h hours ahead, tau {tau:g} h"
    )


def band_settled(choice: BandSearch | None, *, panel: bool) -> Settlement:
    if panel:
        scored = (
            f"; scored on this pair's {choice.validation_origins} validation origins for the record"
            if choice is not None and choice.validation_origins
            else ""
        )
        return Settlement(how="fixed", why=f"{PANEL}{scored}")
    if choice is None:
        return Settlement(
            how="fixed",
            why="trained without a backtest: the default band, calibrated on the naive "
            "forecast's errors",
        )
    return Settlement(
        how="chosen",
        why=f"the lowest 80% interval score relative to the naive band's (within fifths of "
        f"the day before's volatility, averaged over the horizons) on "
        f"{choice.validation_origins} validation origins, among {len(choice.candidates)} "
        "candidates"
        + (
            "; then, per horizon, its calibration pool and its weight of the empirical band"
            if choice.pools is not None
            else ""
        ),
    )


def served_parts(
    config: ModelConfig,
    band: BandSpec,
    *,
    band_choice: BandSearch | None,
    panel_damping: bool,
    panel_band: bool,
) -> ServedNames:
    return ServedNames(
        point_forecast=point_forecast(config),
        band_method=band.name,
        damping=Settlement(
            how="fixed",
            why=PANEL_DAMPING if panel_damping else "the configuration's damping, not the panel's",
        ),
        band=band_settled(band_choice, panel=panel_band),
    )
