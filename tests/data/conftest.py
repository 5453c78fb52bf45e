from __future__ import annotations

import pandas as pd
import pytest

from cryptopredict.data.frame import Bars
from tests.data.hourly import HOUR


@pytest.fixture
def week_of_bars(snapshot_hourly) -> Bars:
    start = pd.Timestamp("2022-02-07", tz="UTC")
    in_week = snapshot_hourly["timestamp"].between(start, start + pd.Timedelta(hours=167))
    frame = snapshot_hourly[in_week].reset_index(drop=True)
    return Bars(frame, "BTC/USD", HOUR, "snapshot")
