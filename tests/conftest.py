from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from cryptopredict.assets import ASSETS
from cryptopredict.candles import Interval
from cryptopredict.config import Settings
from cryptopredict.data.frame import Bars
from cryptopredict.data.snapshot import SnapshotSource

HOUR = Interval.parse("1h")


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
