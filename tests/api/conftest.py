"""The API's fixtures: two small real models trained by training's own code
(`tests/api/artifacts.py`), once per session, and apps and a live server serving them."""

from __future__ import annotations

import functools
import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient

from cryptopredict.api.app import create_app
from cryptopredict.artifact.index import record
from cryptopredict.artifact.read import Artifact
from cryptopredict.artifact.store import open_artifacts
from cryptopredict.config import ApiSettings
from tests.api.artifacts import BTC_VERSION, HOUR, rewrite, write_test_artifacts
from tests.api.documented import check_conforms
from tests.artifact_files import load_artifacts
from tests.live_server import LiveServer, start_server
from tests.shared import built_once


@dataclass(frozen=True)
class Facts:
    """What the fixture artifact holds, for tests to compute expected answers: instants (the
    forecast at instant t is the price at t, a bar's close) but for `last_bar`."""

    first_bar: int  # the open time of the first bar
    first: int  # the first instant answered: its close
    last_bar: int  # the open time of the last bar
    data_end: int  # its close
    grid_end: int  # the last instant of the grid
    gap: int  # the close of a bar left out of the history
    model_version: str


@pytest.fixture(scope="session")
def facts(artifact_dir) -> Facts:
    artifact = load_artifacts(artifact_dir)["btc-usd"]
    ds = artifact.history.ds
    gap = int(ds[np.flatnonzero(np.diff(ds) == 2 * HOUR)[0]] + 2 * HOUR)
    return Facts(
        first_bar=int(ds[0]),
        first=int(ds[0]) + HOUR,
        last_bar=int(ds[-1]),
        data_end=int(ds[-1]) + HOUR,
        grid_end=int(artifact.grid.ds[-1]) + HOUR,
        gap=gap,
        model_version=BTC_VERSION,
    )


@pytest.fixture(scope="session")
def artifact_dir(tmp_path_factory, dask_client) -> Path:
    """The two models, trained once for the whole run (`tests/shared.py`): read, never written."""
    return built_once(
        tmp_path_factory, "api-artifacts", lambda out: write_test_artifacts(out, dask_client)
    )


@pytest.fixture
def copy(artifact_dir, tmp_path) -> Path:
    """The models copied, for a test to change."""
    return shutil.copytree(artifact_dir, tmp_path / "artifacts")


@pytest.fixture(scope="session")
def artifacts(artifact_dir) -> dict[str, Artifact]:
    return load_artifacts(artifact_dir)


@pytest.fixture(scope="session")
def no_backtest_dir(artifacts, tmp_path_factory) -> Path:
    """The BTC/USD artifact as `train.py --no-backtest` writes it: no summary and no rows."""
    out = tmp_path_factory.mktemp("no-backtest")
    return rewrite(
        artifacts["btc-usd"],
        out,
        backtest=msgspec.structs.replace(artifacts["btc-usd"].backtest, summary=None, band=None),
        origins=None,
        manifest={"metrics": None, "backtest_boundary": None},
    )


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
    record(out, None, afresh=True)
    return out


@pytest.fixture
def settings(artifact_dir, tmp_path) -> ApiSettings:
    # No minute database unless a test makes one (the default, .cache/market.db, may exist). The
    # fixture's data ends months ago: how the service says so is test_staleness.py's subject.
    return ApiSettings(
        model_dir=artifact_dir,
        database_url=f"sqlite:///{tmp_path / 'none.db'}",
        stale_after_hours=1e6,
    )


@pytest.fixture
def app(artifact_dir, settings) -> Flask:
    """The API as `api.py` builds it: the artifacts listed from the index, opened on first use."""
    return create_app(open_artifacts(artifact_dir), settings)


@pytest.fixture
def client(app) -> FlaskClient:
    return app.test_client()


@pytest.fixture(scope="session")
def spec(artifacts) -> dict[str, Any]:
    return create_app(artifacts, ApiSettings()).test_client().get("/openapi.json").get_json()


@pytest.fixture(scope="session")
def conforms(spec) -> Callable[..., None]:
    """Check an answer against the schema the OpenAPI document declares for it."""
    return functools.partial(check_conforms, spec)


@pytest.fixture(scope="session")
def live_server(artifact_dir, tmp_path_factory) -> Iterator[LiveServer]:
    logs = tmp_path_factory.mktemp("live")
    # No minute database (the default, .cache/market.db, may exist on a developer's machine).
    with start_server(
        artifact_dir, logs / "api.log", DATABASE_URL=f"sqlite:///{logs}/none.db"
    ) as server:
        yield server
