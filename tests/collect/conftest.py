"""Fixtures for the collector: real minute bars, and a database of each kind.

`database_url` runs a test once against SQLite and once against a real PostgreSQL server
(`tests/collect/postgres.py`; `make test` installs the package as root). Where PostgreSQL
cannot run, its half is skipped and says why.
"""

from __future__ import annotations

import pytest

from cryptopredict.collect.replay import read_minutes
from cryptopredict.minutes.bars import MinuteBar
from tests.collect.postgres import new_postgres_database
from tests.paths import MINUTE_SAMPLE


@pytest.fixture(scope="session")
def all_sample_minutes() -> list[MinuteBar]:
    """The embedded real 1m sample (Binance BTCUSDT, 43,199 minutes)."""
    return read_minutes(MINUTE_SAMPLE, "btc-usd")


@pytest.fixture(scope="session")
def sample_minutes(all_sample_minutes) -> list[MinuteBar]:
    return all_sample_minutes[:300]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """A fresh, empty database: SQLite in tmp_path, or a new database on the test server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'market.db'}"
    return new_postgres_database(request.getfixturevalue("postgres_server"))
