"""The API tests' artifacts, trained and written by training's own code (each pair's task
graph, then the artifact writer), so that a change of the contract between training and serving
breaks them.

Two small real models on short slices of the embedded data: BTC/USD on `BTC_DAYS` of hourly
bars (one hour of the last week left out, as real sources have gaps) and ETH/USD on
`ETH_DAYS` of daily bars (one day left out, one week without trades). Each has a real
backtest on a plan scaled down to its slice (damped, so that its forecast moves), and the
forecast grid to the full horizon (`HORIZON_DAYS`, the default `MAX_HORIZON_DAYS`), at every
level.
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path
from typing import Any

import msgspec
import pandas as pd
import pytest
from distributed import Client

from cryptopredict.artifact.arrays import BarHistory
from cryptopredict.artifact.read import Artifact
from cryptopredict.artifact.schema import MANIFEST, Manifest, ModelConfig
from cryptopredict.assets import ASSETS
from cryptopredict.candles import Interval
from cryptopredict.config import Gate, HistorySettings
from cryptopredict.data.csvfile import read_ohlcv_csv
from cryptopredict.data.frame import Bars
from cryptopredict.data.history import History
from cryptopredict.data.snapshot import SnapshotSource
from cryptopredict.data.validation import validate
from cryptopredict.model.plan import Plan
from cryptopredict.training.tasks import PairJob
from tests.artifact_files import write_artifact
from tests.local_cluster import train

# Prophet calls a pandas method that pandas has deprecated; not ours to fix.
PROPHET_DEPRECATION = pytest.mark.filterwarnings("ignore::DeprecationWarning:prophet.forecaster")
HOUR = 3600
DAY = 24 * HOUR
HORIZON_DAYS = 1096
BTC_DAYS = 60
ETH_DAYS = 300
BTC_VERSION = "test-1"
ETH_VERSION = "test-eth-1"
# The gate judges a model worth serving; these models are for testing the contract, so any
# backtest passes.
ANY_BACKTEST = Gate(gate_min_coverage=0.0, gate_max_coverage=1.0, gate_max_mape_ratio=float("inf"))


def write_test_artifacts(out: Path, client: Client) -> Path:
    """Train both models into `out` (`out/btc-usd`, `out/eth-usd`), as `train.py` would, on
    `client`'s cluster."""
    logging.getLogger("cmdstanpy").setLevel(logging.WARNING)
    hourly = _snapshot("btc-usd-1h.csv.gz").tail(BTC_DAYS * 24).reset_index(drop=True)
    hourly = hourly.drop(index=len(hourly) - 7 * 24)  # one missing hour, in the last week
    btc_plan = Plan(
        horizon=pd.Timedelta(days=7),
        step=pd.Timedelta(days=5, hours=5),
        evaluation_span=pd.Timedelta(days=10),
        min_training=pd.Timedelta(days=30),
    )
    _train(
        out,
        "btc-usd",
        hourly,
        "1h",
        btc_plan,
        client=client,
        version=BTC_VERSION,
        damping_hours=48.0,
    )
    eth_plan = Plan(
        horizon=pd.Timedelta(days=7),
        step=pd.Timedelta(days=30),
        evaluation_span=pd.Timedelta(days=60),
        min_training=pd.Timedelta(days=120),
    )
    eth = _eth_daily_bars()
    _train(
        out,
        "eth-usd",
        eth,
        "1d",
        eth_plan,
        client=client,
        version=ETH_VERSION,
        damping_hours=30 * 24.0,
    )
    return out


def _train(
    out: Path,
    slug: str,
    frame: pd.DataFrame,
    interval: str,
    plan: Plan,
    *,
    client: Client,
    version: str,
    damping_hours: float,
) -> None:
    asset = ASSETS[slug]
    raw = Bars(frame, asset.symbol, Interval.parse(interval), "snapshot")
    bars, report = validate(raw, HistorySettings())
    days = (frame["timestamp"].iloc[-1] - frame["timestamp"].iloc[0]).days + 1
    job = PairJob(
        asset=asset,
        bars=History(bars, report, ()),
        # A damping that keeps some of Prophet's move, so that the served path moves with the
        # model's (the panel's tau 0 would serve a flat forecast).
        config=ModelConfig().with_changes(window_days=days, damping_hours=damping_hours),
        horizon_days=HORIZON_DAYS,
        gate=ANY_BACKTEST,
        plan=plan,
        model_version=version,
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="prophet")
        train(job, out, client)


def _snapshot(name: str) -> pd.DataFrame:
    return read_ohlcv_csv(SnapshotSource().data_dir / name)


def _eth_daily_bars() -> pd.DataFrame:
    """The last `ETH_DAYS` daily ETH/USD bars, one day missing and one week without trades."""
    bars = _snapshot("eth-usd-1d.csv.gz").tail(ETH_DAYS).reset_index(drop=True)
    monday = bars.index[bars["timestamp"].dt.day_of_week == 0][10]
    bars.loc[monday : monday + 6, "volume"] = 0.0
    return bars.drop(index=ETH_DAYS // 2)


def rewrite(artifact: Artifact, out: Path, **changes: Any) -> Path:
    """`artifact` written again under `out`, with `changes`: `grid`, `history`, `backtest` or
    `origins` in place of its own, `manifest` keys (as JSON) over its own."""
    written = json.loads((artifact.path / MANIFEST).read_bytes())
    manifest = msgspec.convert({**written, **changes.get("manifest", {})}, Manifest)
    write_artifact(
        out,
        model=artifact.load_model(),
        grid=changes.get("grid", artifact.grid),
        history=changes.get("history") or every_bar(artifact),
        backtest=changes.get("backtest", artifact.backtest),
        manifest=manifest,
        origins=changes.get("origins", artifact.origins),
    )
    return out


def every_bar(artifact: Artifact) -> BarHistory:
    """Every bar of `artifact` with every column: a test artifact, shorter than the days an
    artifact keeps whole."""
    history = artifact.history
    assert history.whole_from == history.first_bar, "not every bar is kept whole"
    return history.rows(history.first_bar, history.last_bar + 1)
