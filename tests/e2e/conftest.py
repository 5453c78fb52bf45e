"""The end-to-end checks run against `python api.py` serving the real model (`training.py`),
beside a minute-bar database holding the embedded minute sample, replayed to end now (as
`make live` does, all at once), so that the live routes and panel have data.

Run by `make e2e` (`pytest tests/e2e --e2e`); `make test` leaves this directory out.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.training import ROOT, trained_artifacts
from tests.live_server import LiveServer, replay, start_server
from tests.shared import built_once, worker

REPORTS = ROOT / "reports" / "e2e"
MINUTES = ROOT / "data" / "btc-usd-1m.csv.gz"


@dataclass(frozen=True)
class Served:
    """The live server and what it says it serves."""

    url: str
    catalog: dict[str, Any]  # /assets
    spec: dict[str, Any]  # /openapi.json

    @property
    def assets(self) -> list[dict[str, Any]]:
        return self.catalog["assets"]

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return requests.get(self.url + path, timeout=60, **kwargs)


@pytest.fixture(scope="session")
def model_dir() -> Path:
    return trained_artifacts()


@pytest.fixture(scope="session")
def reports(tmp_path_factory) -> Path:
    """reports/e2e/, emptied once per run (by the first worker to ask, `tests/shared.py`)."""

    def empty(_: Path) -> None:
        shutil.rmtree(REPORTS, ignore_errors=True)
        REPORTS.mkdir(parents=True)

    built_once(tmp_path_factory, "e2e-reports-emptied", empty)
    return REPORTS


@pytest.fixture(scope="session")
def minute_database(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('minutes') / 'market.db'}"
    replay(url, str(MINUTES), "--play-minutes", "0")
    return url


@pytest.fixture(scope="session")
def live(model_dir, reports, minute_database) -> Iterator[LiveServer]:
    log = reports / f"api-{worker()}.log"  # one server per worker
    # Behind HAProxy, as the image and `make serve` serve it.
    with start_server(model_dir, log, proxied=True, DATABASE_URL=minute_database) as server:
        yield server


@pytest.fixture(scope="session")
def served(live) -> Served:
    catalog = requests.get(live.url + "/assets", timeout=60)
    spec = requests.get(live.url + "/openapi.json", timeout=60)
    assert catalog.status_code == 200, catalog.text
    assert spec.status_code == 200, spec.text
    return Served(live.url, catalog.json(), spec.json())
