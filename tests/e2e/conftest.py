"""The end-to-end checks run against `python api.py` serving the real model (`training.py`).

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

from tests.api.conftest import LiveServer, start_server
from tests.e2e.training import ROOT, trained_artifacts

REPORTS = ROOT / "reports" / "e2e"


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
def reports() -> Path:
    shutil.rmtree(REPORTS, ignore_errors=True)
    REPORTS.mkdir(parents=True)
    return REPORTS


@pytest.fixture(scope="session")
def live(model_dir, reports) -> Iterator[LiveServer]:
    server = start_server(model_dir, reports / "api.log")
    yield server
    server.process.terminate()
    server.process.wait(timeout=10)


@pytest.fixture(scope="session")
def served(live) -> Served:
    catalog = requests.get(live.url + "/assets", timeout=60)
    spec = requests.get(live.url + "/openapi.json", timeout=60)
    assert catalog.status_code == 200, catalog.text
    assert spec.status_code == 200, spec.text
    return Served(live.url, catalog.json(), spec.json())
