"""Fixtures for the collector: real minute bars, and a database of each kind.

`database_url` runs a test once against SQLite and once against a real PostgreSQL server
(`tests/collect/postgres.py`; `make test` installs the package as root). Where PostgreSQL
cannot run, its half is skipped and says why.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cryptopredict.collect.bars import MinuteBar
from cryptopredict.collect.replay import read_minutes
from tests.collect.postgres import PostgresServer, PostgresUnavailableError, new_postgres_database
from tests.paths import MINUTE_SAMPLE


@pytest.fixture(scope="session")
def all_sample_minutes() -> list[MinuteBar]:
    """The embedded real 1m sample (Binance BTCUSDT, 43,199 minutes)."""
    return read_minutes(MINUTE_SAMPLE, "btc-usd")


@pytest.fixture(scope="session")
def sample_minutes(all_sample_minutes) -> list[MinuteBar]:
    return all_sample_minutes[:300]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL server of our own on 127.0.0.1 (tests/collect/postgres.py); yields its base
    URL (no database name)."""
    try:
        server = PostgresServer()
    except PostgresUnavailableError as why:
        pytest.skip(str(why))
    try:
        server.start()
        yield server.url
    finally:
        server.remove()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """A fresh, empty database: SQLite in tmp_path, or a new database on the test server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'market.db'}"
    return new_postgres_database(request.getfixturevalue("postgres_server"))
