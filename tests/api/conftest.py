"""Two tiny real artifacts and an app serving them: BTC/USD, Prophet fitted on two weeks of the
embedded hourly data, and ETH/USD, fitted on `ETH_DAYS` of the embedded daily data.

Each grid is built by training's own code, as `python train.py --no-backtest` builds it: the
hindcast from rolling origins up to the last bar, then the forecast to the full horizon
(`HORIZON_DAYS`, the default `MAX_HORIZON_DAYS`), with bands at every level.
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_schema_validator import OAS30Validator

from cryptopredict.api import create_app
from cryptopredict.artifact import (
    LEVELS,
    Artifact,
    BarHistory,
    index_artifacts,
    load_artifacts,
    open_artifacts,
    write_artifact,
)
from cryptopredict.config import Settings
from cryptopredict.data.frame import VALUE_COLUMNS, bar_vwap
from cryptopredict.model.bands import DEFAULT_BAND
from cryptopredict.model.config import DEFAULT, ModelConfig
from cryptopredict.model.forecasters import ProphetForecaster
from cryptopredict.model.hindcast import HINDCAST_RULE
from cryptopredict.model.training import build_grid, model_frame, unbacktested_hindcast
from cryptopredict.postprocess import Postprocess

# Prophet calls a pandas method that pandas has deprecated; not ours to fix.
PROPHET_DEPRECATION = pytest.mark.filterwarnings("ignore::DeprecationWarning:prophet.forecaster")
HOUR = 3600
DAY = 24 * HOUR
FIT_HOURS = 14 * 24
HORIZON_DAYS = 1096
ETH_DAYS = 300
ETH = {"asset": "eth-usd", "symbol": "ETH/USD", "interval": "1d", "model_version": "test-eth-1"}
ROOT = Path(__file__).parents[2]


@dataclass(frozen=True)
class Facts:
    """What the fixture artifact holds, for tests to compute expected answers."""

    first: int
    last_bar: int
    grid_end: int
    gap: int  # a bar left out of the history
    model_version: str


@pytest.fixture(scope="session")
def facts(artifact_dir) -> Facts:
    artifact = load_artifacts(artifact_dir)["btc-usd"]
    ds = artifact.history.ds
    gap = int(ds[np.flatnonzero(np.diff(ds) == 2 * HOUR)[0]] + HOUR)
    return Facts(int(ds[0]), int(ds[-1]), int(artifact.grid.ds[-1]), gap, "test-1")


@pytest.fixture(scope="session")
def artifact_dir(tmp_path_factory, snapshot_hourly) -> Path:
    logging.getLogger("cmdstanpy").setLevel(logging.WARNING)
    out = tmp_path_factory.mktemp("artifacts")
    bars = snapshot_hourly.tail(FIT_HOURS).reset_index(drop=True)
    bars = bars.drop(index=FIT_HOURS // 2)  # one missing hour, as real sources have
    _write_fitted(
        out,
        bars,
        {"asset": "btc-usd", "symbol": "BTC/USD", "interval": "1h", "model_version": "test-1"},
        step=HOUR,
        horizon_steps=HORIZON_DAYS * 24,
        damping_hours=48.0,
    )
    _write_fitted(
        out,
        _eth_daily_bars(),
        ETH,
        step=DAY,
        horizon_steps=HORIZON_DAYS,
        damping_hours=30 * 24.0,
    )
    return out


def _eth_daily_bars() -> pd.DataFrame:
    """The last `ETH_DAYS` daily ETH/USD bars, one day missing and one week without trades."""
    from cryptopredict.data.csvfile import read_ohlcv_csv
    from cryptopredict.data.snapshot import SnapshotSource

    daily = read_ohlcv_csv(SnapshotSource().data_dir / "eth-usd-1d.csv.gz")
    bars = daily.tail(ETH_DAYS).reset_index(drop=True)
    monday = bars.index[bars["timestamp"].dt.day_of_week == 0][10]
    bars.loc[monday : monday + 6, "volume"] = 0.0
    return bars.drop(index=ETH_DAYS // 2)


def _write_fitted(
    out: Path,
    bars: pd.DataFrame,
    identity: dict[str, str],
    *,
    step: int,
    horizon_steps: int,
    damping_hours: float,
) -> None:
    """Fit Prophet on `bars`' log close and write the artifact the way training does."""
    config = DEFAULT.with_changes(damping_hours=damping_hours, damping_grid=())
    frame = model_frame(bars, "close")
    interval = pd.Timedelta(seconds=step)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="prophet")
        forecaster = ProphetForecaster(config).fit(frame)
        hindcast = unbacktested_hindcast(frame, interval, config)
        grid = build_grid(forecaster, hindcast, interval=interval, horizon=interval * horizon_steps)
    ds = (bars["timestamp"].astype("int64") // 10**9).to_numpy()
    history = BarHistory(
        ds=ds.astype(np.int64),
        **{name: bars[name].to_numpy(dtype=np.float64) for name in VALUE_COLUMNS},
        vwap=bar_vwap(bars).to_numpy(),
    )
    write_artifact(
        out,
        model=forecaster.model,
        grid=grid,
        history=history,
        backtest=_backtest(ds, bars["close"].to_numpy()),
        manifest=_manifest(bars, forecaster.rules, identity, grid.ds, config),
    )


def _backtest(ds: np.ndarray, close: np.ndarray) -> dict[str, Any]:
    paths = []
    for origin in (len(ds) - 120, len(ds) - 72, len(ds) - 24):
        span = slice(origin, origin + 24)
        yhat = np.full(24, close[origin - 1]) * np.linspace(1.0, 1.01, 24)
        actual: list[float | None] = close[span].round(2).tolist()
        actual[5] = None
        paths.append(
            {
                "origin": pd.Timestamp(int(ds[origin - 1]), unit="s", tz="UTC").isoformat(),
                "ds": ds[span].tolist(),
                "yhat": yhat.round(2).tolist(),
                "yhat_lower": (yhat * 0.97).round(2).tolist(),
                "yhat_upper": (yhat * 1.03).round(2).tolist(),
                "actual": actual,
            }
        )
    scores = {"prophet": {"mape": 0.019, "coverage": 0.81}, "naive": {"mape": 0.02}}
    summary = {"1d": scores, "7d": scores, "origins": 3, "interval_width": 0.8}
    # The choices training records beside the summary (see cryptopredict/model/training.py).
    damping = {"candidates": [{"tau": None, "ratio": 1.1}, {"tau": 0.0, "ratio": 1.0}], "value": 0}
    chosen = DEFAULT_BAND.to_dict()
    band = {"candidates": [{**chosen, "interval_score": 0.09}], "chosen": chosen}
    return {"summary": summary, "damping": damping, "band": band, "paths": paths}


def _manifest(
    bars: pd.DataFrame,
    rules: Postprocess,
    identity: dict[str, str],
    grid_ds: np.ndarray,
    config: ModelConfig,
) -> dict[str, Any]:
    first, last = bars["timestamp"].iloc[0].isoformat(), bars["timestamp"].iloc[-1].isoformat()
    return {
        **identity,
        "created_at": "2026-07-26T17:05:00Z",
        "git_sha": None,
        "data": {
            "source": "snapshot",
            "failed_sources": [],
            "first": first,
            "last": last,
            "rows": len(bars),
            "sha256": "0" * 64,
            "validation": {"gaps": 1},
            "training_window": {"first": first, "last": last, "rows": len(bars)},
        },
        "versions": {
            "python": sys.version.split()[0],
            "prophet": importlib.metadata.version("prophet"),
            "pandas": pd.__version__,
            "numpy": np.__version__,
        },
        "params": {**config.to_dict(), "price": "close"},
        "postprocess": rules.to_dict(),
        "band": {**DEFAULT_BAND.to_dict(), "hindcast": HINDCAST_RULE},
        "levels": list(LEVELS),
        "metrics": {"mape_1d": 0.019},
        "horizon": {
            "days": HORIZON_DAYS,
            "grid_first": pd.Timestamp(int(grid_ds[0]), unit="s", tz="UTC").isoformat(),
            "grid_last": pd.Timestamp(int(grid_ds[-1]), unit="s", tz="UTC").isoformat(),
        },
    }


@pytest.fixture(scope="session")
def artifacts(artifact_dir) -> dict[str, Artifact]:
    return load_artifacts(artifact_dir)


@pytest.fixture(scope="session")
def no_backtest_dir(artifacts, tmp_path_factory) -> Path:
    """The BTC/USD artifact as `train.py --no-backtest` writes it: no summary and no paths."""
    out = tmp_path_factory.mktemp("no-backtest")
    return rewrite(
        artifacts["btc-usd"],
        out,
        backtest={"summary": None, "damping": None, "band": None, "paths": []},
        manifest={"metrics": None},
    )


def rewrite(artifact: Artifact, out: Path, **changes: Any) -> Path:
    """`artifact` written again under `out`, with `changes`: `grid`, `history` or `backtest` in
    place of its own, `manifest` keys over its own."""
    written = artifact.manifest_json.items()
    manifest = {k: v for k, v in written if k not in ("files", "schema_version")}
    write_artifact(
        out,
        model=artifact.load_model(),
        grid=changes.get("grid", artifact.grid),
        history=changes.get("history", artifact.history),
        backtest=changes.get("backtest", artifact.backtest),
        manifest={**manifest, **changes.get("manifest", {})},
    )
    return out


# 200 pairs for the dashboard's search: 40 bases, each quoted in 5 currencies.
# fmt: off
BASES = (
    "btc", "eth", "sol", "doge", "link", "ada", "xrp", "dot", "avax", "ltc", "bch", "trx",
    "near", "atom", "uni", "etc", "fil", "apt", "arb", "op", "inj", "sui", "sei", "tia", "ldo",
    "aave", "mkr", "snx", "crv", "comp", "1000pepe", "1000bonk", "wif", "floki", "shib", "ton",
    "icp", "hbar", "vet", "algo",
)
# fmt: on
QUOTES = ("usdt", "usd", "btc", "eth", "eur")


@pytest.fixture(scope="session")
def many_pairs_dir(artifact_dir, tmp_path_factory) -> Path:
    """200 pairs: BTC/USD, and the real ETH/USD artifact under 199 other names (its manifest says
    so), with the index training would write."""
    out = tmp_path_factory.mktemp("200-pairs")
    shutil.copytree(artifact_dir / "btc-usd", out / "btc-usd")
    for base in BASES:
        for quote in QUOTES:
            slug = f"{base}-{quote}"
            if slug == "btc-usd":
                continue
            shutil.copytree(artifact_dir / "eth-usd", out / slug)
            manifest = json.loads((out / slug / "manifest.json").read_text())
            manifest.update(asset=slug, symbol=f"{base}/{quote}".upper())
            (out / slug / "manifest.json").write_text(json.dumps(manifest))
    assert index_artifacts(out) == len(BASES) * len(QUOTES) == 200
    return out


@pytest.fixture
def settings(artifact_dir, tmp_path) -> Settings:
    # No minute database unless a test makes one (the default, .cache/market.db, may exist).
    return Settings(model_dir=artifact_dir, database_url=f"sqlite:///{tmp_path / 'none.db'}")


@pytest.fixture
def app(artifact_dir, settings) -> Flask:
    """The API as `api.py` builds it: the artifacts listed from the index, opened on first use."""
    return create_app(open_artifacts(artifact_dir), settings)


@pytest.fixture
def client(app) -> FlaskClient:
    return app.test_client()


@pytest.fixture(scope="session")
def spec(artifacts) -> dict[str, Any]:
    return create_app(artifacts, Settings()).test_client().get("/openapi.json").get_json()


@pytest.fixture(scope="session")
def conforms(spec) -> Callable[..., None]:
    """Check an answer against the schema the OpenAPI document declares for it."""

    def check(path: str, response) -> None:
        declared = spec["paths"][path]["get"]["responses"]
        assert str(response.status_code) in declared, f"{path} {response.status_code} undeclared"
        content = declared[str(response.status_code)].get("content", {})
        media = response.mimetype
        assert media in content, f"{path} {response.status_code} {media} undeclared"
        if media == "application/json":
            schema = _resolve(content[media]["schema"], spec)
            OAS30Validator(schema).validate(response.get_json())

    return check


def _resolve(node: Any, spec: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            name = node["$ref"].removeprefix("#/components/schemas/")
            return _resolve(spec["components"]["schemas"][name], spec)
        return {key: _resolve(value, spec) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolve(value, spec) for value in node]
    return node


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen
    log: Path


def start_server(model_dir: Path, log: Path, **env: str) -> LiveServer:
    """`python api.py` on a free loopback port; returns once it answers."""
    environment = {**os.environ, "MODEL_DIR": str(model_dir), "PORT": "0", **env}
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "api.py"], cwd=ROOT, env=environment, stderr=sink, stdout=sink
        )
    deadline = time.monotonic() + 60  # a loaded machine takes its time to import and verify
    while time.monotonic() < deadline:
        found = re.search(r"serving on (http://[0-9.]+:[0-9]+) ", log.read_text())
        if found:
            return LiveServer(found.group(1), process, log)
        if process.poll() is not None:
            raise AssertionError(f"api.py exited with {process.returncode}: {log.read_text()}")
        time.sleep(0.05)
    process.kill()
    raise AssertionError(f"api.py did not start: {log.read_text()}")


@pytest.fixture(scope="session")
def live_server(artifact_dir, tmp_path_factory) -> Iterator[LiveServer]:
    logs = tmp_path_factory.mktemp("live")
    # No minute database (the default, .cache/market.db, may exist on a developer's machine).
    server = start_server(artifact_dir, logs / "api.log", DATABASE_URL=f"sqlite:///{logs}/none.db")
    yield server
    server.process.terminate()
    server.process.wait(timeout=10)
