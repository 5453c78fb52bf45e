from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pytest
from hypothesis import settings as hypothesis_settings

from cryptopredict.assets import ASSETS
from cryptopredict.config import HistorySettings
from cryptopredict.data.snapshot import SnapshotSource
from tests import fail_on_skip
from tests.browser import CHROMIUM, FLAGS
from tests.collect.postgres import PostgresServer, PostgresUnavailableError

if TYPE_CHECKING:
    from distributed import Client

E2E = Path(__file__).parent / "e2e"

# Hypothesis draws the same examples on every run, so a commit passes or fails the same way
# each time; HYPOTHESIS_PROFILE=explore draws new ones (and keeps what fails in .hypothesis/).
hypothesis_settings.register_profile("deterministic", derandomize=True, database=None)
hypothesis_settings.register_profile("explore", derandomize=False)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))

# Dask's scheduler says each key it cancels at INFO: a failed test that trained shows thousands of
# such lines in its captured log, and CI's tail then holds nothing else. Its warnings still show.
logging.getLogger("distributed.scheduler").setLevel(logging.WARNING)


def pytest_report_header() -> str:
    """The HAProxy the edge's tests meet (tests/api/test_edge.py; `make image-test` probes the
    image's own, tests/api/edge_probes.py)."""
    found = shutil.which("haproxy")
    said = (
        subprocess.run([found, "-v"], capture_output=True, text=True, check=True) if found else None
    )
    return f"haproxy: {said.stdout.splitlines()[0] if said else 'not installed'}"


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(fail_on_skip, "cryptopredict_fail_on_skip")
    # The `make` commands tests start run as a user's would, not as sub-makes of the make that
    # started the suite: its options (.ci/run's --jobs and --output-sync, which would hold back
    # a `make run`'s output until it ends) reach them through these.
    for name in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL"):
        os.environ.pop(name, None)


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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`make test` leaves out the tests marked `e2e`, and `make e2e` (`--e2e`) runs only those
    and tests/e2e/ (a test marked `e2e(also_in_make_test=True)` runs in both)."""
    e2e = config.getoption("--e2e")
    kept, left = [], []
    for item in items:
        mark = item.get_closest_marker("e2e")
        in_e2e = mark is not None or E2E in item.path.parents
        in_test = mark is None or bool(mark.kwargs.get("also_in_make_test"))
        (kept if (in_e2e if e2e else in_test) else left).append(item)
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = kept


@pytest.fixture
def btc():
    return ASSETS["btc-usd"]


@pytest.fixture
def settings(tmp_path) -> HistorySettings:
    return HistorySettings(cache_dir=tmp_path / "cache", http_attempts=3, fetch_timeout=60.0)


@pytest.fixture(scope="session")
def snapshot_hourly() -> pd.DataFrame:
    """The embedded hourly BTC history, the real data every test slices from."""
    from cryptopredict.data.csvfile import read_ohlcv_csv

    return read_ohlcv_csv(SnapshotSource().data_dir / "btc-usd-1h.csv.gz")


@pytest.fixture(scope="session")
def chromium() -> Iterator:
    """Debian's chromium, one a worker (tests/browser.py), each test's page in a context of its
    own (`watched_page`): a launch with Playwright's driver costs 3 to 4 CPU-seconds. The only
    one: a second Playwright in the worker would not start (the first's loop counts as running)."""
    from playwright.sync_api import sync_playwright  # the browser tests' alone

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM if CHROMIUM.exists() else shutil.which("chromium")),
            args=FLAGS,
        )
        yield browser
        browser.close()


class SleepRecorder:
    """Stands in for time.sleep so retry tests run instantly and can check the waits."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


def _postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of our own on 127.0.0.1 (tests/collect/postgres.py)."""
    try:
        server = PostgresServer()
    except PostgresUnavailableError as why:
        pytest.skip(str(why))
    try:
        server.start()
        yield server
    finally:
        server.remove()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """One server's base URL (no database name), for the collector's tests and the reader's."""
    yield from (server.url for server in _postgres())


# A server for one test alone, which stops it under what it tests.
own_postgres = pytest.fixture(_postgres)


@pytest.fixture(scope="session", autouse=True)
def own_caches(tmp_path_factory) -> Iterator[None]:
    """Training's history store (`CRYPTOPREDICT_CACHE`) in this worker's temporary folder, never
    the checkout's `.cache/`: a run's results must not depend on what an earlier run (or a
    developer's `make run`) left there. A test that needs its own sets it again."""
    caches = tmp_path_factory.mktemp("caches")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CRYPTOPREDICT_CACHE", str(caches / "history"))
        yield


@pytest.fixture(scope="session")
def dask_client() -> Iterator[Client]:
    """This worker's Dask cluster, in this process (`tests/local_cluster.py`): the tests that
    train share it (`tests/local_cluster.train`, `on_the_session_cluster`) instead of each
    starting its own."""
    from tests.local_cluster import in_process_client  # Dask: imported by the tests that train

    with in_process_client() as client:
        yield client


@pytest.fixture
def on_the_session_cluster(dask_client, monkeypatch) -> str:
    """`train.py` (`cli.main`) called in this test trains on `dask_client`'s cluster, as on any
    configured scheduler (`DASK_SCHEDULER_ADDRESS`), instead of starting worker processes."""
    address = dask_client.scheduler.address
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", address)
    monkeypatch.delenv("TRAIN_WORKERS", raising=False)
    return address


@pytest.fixture
def stand_in_fit(on_the_session_cluster, monkeypatch) -> None:
    """Training in this test fits a straight line where it would fit Prophet (`tests/stand_in.py`),
    on the session's cluster (whose tasks run in this process, so the patch reaches them)."""
    from cryptopredict.model import forecasters  # Prophet: imported by the tests that train
    from tests.stand_in import fit_straight_line

    monkeypatch.setattr(forecasters, "fit_prophet", fit_straight_line)
