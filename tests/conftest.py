from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import settings as hypothesis_settings

from cryptopredict.assets import ASSETS
from cryptopredict.config import Settings
from cryptopredict.data.snapshot import SnapshotSource
from tests import fail_on_skip
from tests.collect.postgres import PostgresServer, PostgresUnavailableError

E2E = Path(__file__).parent / "e2e"

# Hypothesis draws the same examples on every run, so a commit passes or fails the same way
# each time; HYPOTHESIS_PROFILE=explore draws new ones (and keeps what fails in .hypothesis/).
hypothesis_settings.register_profile("deterministic", derandomize=True, database=None)
hypothesis_settings.register_profile("explore", derandomize=False)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(fail_on_skip, "cryptopredict_fail_on_skip")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--e2e",
        action="store_true",
        help="run the end-to-end checks of tests/e2e on the real model (`make e2e`)",
    )


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """tests/e2e trains the real model: only `make e2e` (`--e2e`) collects it."""
    if collection_path == E2E and not config.getoption("--e2e"):
        return True
    return None


@pytest.fixture
def btc():
    return ASSETS["btc-usd"]


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(cache_dir=tmp_path / "cache", http_attempts=3, fetch_timeout=60.0)


@pytest.fixture(scope="session")
def snapshot_hourly() -> pd.DataFrame:
    """The embedded hourly BTC history, the real data every test slices from."""
    from cryptopredict.data.csvfile import read_ohlcv_csv

    return read_ohlcv_csv(SnapshotSource().data_dir / "btc-usd-1h.csv.gz")


class SleepRecorder:
    """Stands in for time.sleep so retry tests run instantly and can check the waits."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL server of our own on 127.0.0.1 (tests/collect/postgres.py); yields its base
    URL (no database name): the collector's tests and the archive's."""
    try:
        server = PostgresServer()
    except PostgresUnavailableError as why:
        pytest.skip(str(why))
    try:
        server.start()
        yield server.url
    finally:
        server.remove()
