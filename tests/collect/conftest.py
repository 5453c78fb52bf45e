"""Fixtures for the collector: real minute bars, and a database of each kind.

`database` runs a test once against SQLite and once against a real PostgreSQL server, started
here from Debian's `postgresql` package in a temporary directory as an unprivileged user
(`make test` installs the package as root). Where PostgreSQL cannot run, its half is skipped
and says why.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cryptopredict.collect.bars import MinuteBar
from cryptopredict.collect.replay import read_minutes
from tests.collect.postgres import PostgresServer, PostgresUnavailableError

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "btc-usd-1m.csv.gz"
_names = itertools.count()


@pytest.fixture(scope="session")
def all_sample_minutes() -> list[MinuteBar]:
    """The embedded real 1m sample (Binance BTCUSDT, 43,199 minutes)."""
    return read_minutes(SAMPLE, "btc-usd")


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


def new_postgres_database(server_url: str) -> str:
    import psycopg

    name = f"test_{os.getpid()}_{next(_names)}"
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    return f"{server_url}/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """A fresh, empty database: SQLite in tmp_path, or a new database on the test server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'market.db'}"
    return new_postgres_database(request.getfixturevalue("postgres_server"))


def run_until(collector, condition, timeout=20.0) -> None:
    """Run `collector` until `condition()` holds (re-raising its error if it stops), then
    cancel it."""

    async def main():
        task = asyncio.ensure_future(collector.run())
        deadline = time.monotonic() + timeout
        try:
            while not condition():
                if task.done():
                    task.result()
                assert time.monotonic() < deadline, "timed out"
                await asyncio.sleep(0.05)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    asyncio.run(main())
