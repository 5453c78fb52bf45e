from __future__ import annotations

import pandas as pd
import pytest

from cryptopredict.assets import ASSETS
from cryptopredict.data.history import History, load_history


@pytest.fixture(scope="session")
def recent_history(tmp_path_factory) -> History:
    from cryptopredict.config import HistorySettings

    settings = HistorySettings(cache_dir=tmp_path_factory.mktemp("cache"))
    since = pd.Timestamp("2026-01-01", tz="UTC")
    return load_history(ASSETS["btc-usd"], "1h", since, settings, source="snapshot")
