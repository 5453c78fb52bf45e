from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import settings as hypothesis_settings

from cryptopredict.assets import ASSETS
from cryptopredict.candles import Interval
from cryptopredict.config import Settings
from cryptopredict.data.frame import Bars
from cryptopredict.data.snapshot import SnapshotSource

HOUR = Interval.parse("1h")
E2E = Path(__file__).parent / "e2e"

# Hypothesis draws the same examples on every run, so a commit passes or fails the same way
# each time; HYPOTHESIS_PROFILE=explore draws new ones (and keeps what fails in .hypothesis/).
hypothesis_settings.register_profile("deterministic", derandomize=True, database=None)
hypothesis_settings.register_profile("explore", derandomize=False)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))


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


def kill_9_after(script: str, args: list[str], delay: float) -> None:
    """Run `script` in a new Python; `delay` seconds after it prints "ready", kill -9 it."""
    writer = subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path.cwd())},
    )
    assert writer.stdout.readline() == b"ready\n"
    time.sleep(delay)
    writer.send_signal(signal.SIGKILL)
    writer.wait()


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


@pytest.fixture
def week_of_bars(snapshot_hourly) -> Bars:
    start = pd.Timestamp("2022-02-07", tz="UTC")
    in_week = snapshot_hourly["timestamp"].between(start, start + pd.Timedelta(hours=167))
    frame = snapshot_hourly[in_week].reset_index(drop=True)
    return Bars(frame, "BTC/USD", HOUR, "snapshot")


class SleepRecorder:
    """Stands in for time.sleep so retry tests run instantly and can check the waits."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()
