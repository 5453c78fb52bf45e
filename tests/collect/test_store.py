"""The minute-bar database, against SQLite and a real PostgreSQL server alike."""

from __future__ import annotations

import dataclasses
import sqlite3
import subprocess
import sys

import pytest

from cryptopredict.collect.store import SCHEMA_VERSION, MinuteStore, StoreError, Window, redact


def rows(bars):
    return [(b.ts, b.open, b.high, b.low, b.close, b.volume, b.vwap) for b in bars]


def test_a_new_database_gets_the_schema_and_its_version(database_url, sample_minutes):
    with MinuteStore.open(database_url) as store:
        assert store.window("btc-usd") is None
        assert store.last_minute("btc-usd") is None
        store.write(sample_minutes[:3])
    with MinuteStore.open(database_url, create=False) as again:
        assert again.window("btc-usd") == Window(sample_minutes[0].ts, sample_minutes[2].ts, 3)
        version = again._db.execute("SELECT value FROM schema_info").fetchone()[0]
        assert version == str(SCHEMA_VERSION)


def test_bars_read_back_exactly_as_written(database_url, sample_minutes):
    bars = sample_minutes[:50]
    with MinuteStore.open(database_url) as store:
        assert store.write(bars) == 50
        assert store.bars("btc-usd", bars[0].ts, bars[-1].ts + 60) == rows(bars)
        assert store.bars("btc-usd", bars[10].ts, bars[20].ts) == rows(bars[10:20])
        assert store.last_bar("btc-usd") == rows(bars[-1:])[0]
        assert store.bars("eth-usd", 0, 2**40) == []


def test_writing_a_bar_twice_changes_nothing(database_url, sample_minutes):
    bars = sample_minutes[:5]
    altered = dataclasses.replace(bars[2], close=bars[2].high, source="other")
    with MinuteStore.open(database_url) as store:
        assert store.write(bars) == 5
        assert store.write([*bars, altered]) == 0
        assert store.bars("btc-usd", 0, 2**40) == rows(bars)
        assert store.window("btc-usd").count == 5


def test_a_failed_write_stores_none_of_its_bars(database_url, sample_minutes):
    bars = sample_minutes[:3]
    with MinuteStore.open(database_url) as store:
        broken = [*bars, dataclasses.replace(bars[0], ts=bars[0].ts + 3600)]
        object.__setattr__(broken[-1], "open", None)  # NOT NULL fails mid-transaction
        with pytest.raises(Exception, match=r"(?i)null"):
            store.write(broken)
        assert store.window("btc-usd") is None
        assert store.write(bars) == 3


def test_prune_removes_only_older_bars_of_that_asset(database_url, sample_minutes):
    btc = sample_minutes[:10]
    eth = [dataclasses.replace(bar, asset="eth-usd") for bar in btc]
    with MinuteStore.open(database_url) as store:
        store.write(btc + eth)
        assert store.prune("btc-usd", btc[4].ts) == 4
        assert store.window("btc-usd") == Window(btc[4].ts, btc[-1].ts, 6)
        assert store.window("eth-usd").count == 10


def test_a_reader_sees_new_rows_without_reopening(database_url, sample_minutes):
    with MinuteStore.open(database_url) as writer, MinuteStore.open(database_url) as reader:
        writer.write(sample_minutes[:2])
        assert reader.window("btc-usd").count == 2
        writer.write(sample_minutes[2:7])
        assert reader.window("btc-usd").count == 7
        assert reader.last_bar("btc-usd")[0] == sample_minutes[6].ts


def test_another_schema_version_is_refused(database_url, sample_minutes):
    with MinuteStore.open(database_url) as store:
        store._db.execute("UPDATE schema_info SET value = '99' WHERE name = 'version'")
    with pytest.raises(StoreError, match=rf"schema version 99, and this code .* {SCHEMA_VERSION}"):
        MinuteStore.open(database_url)


def test_a_table_of_someone_else_is_not_written_into(database_url):
    with MinuteStore.open(database_url) as store:
        store._db.execute("DROP TABLE schema_info")
    with pytest.raises(StoreError, match="not made by this collector"):
        MinuteStore.open(database_url)


def test_sqlite_runs_in_wal_mode(tmp_path):
    path = tmp_path / "nested" / "market.db"
    MinuteStore.open(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as plain:
        assert plain.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_opening_for_reading_creates_nothing(tmp_path):
    with pytest.raises(StoreError, match="no minute-bar database"):
        MinuteStore.open(f"sqlite:///{tmp_path / 'absent.db'}", create=False)
    assert not (tmp_path / "absent.db").exists()


@pytest.mark.parametrize("url", ["mysql://u@h/db", "sqlite:/relative.db", ".cache/market.db"])
def test_an_unknown_url_is_a_clear_error(url):
    with pytest.raises(StoreError, match="sqlite:///PATH or postgresql://"):
        MinuteStore.open(url)


def test_passwords_never_reach_messages():
    assert redact("postgresql://app:s3cret@db:5432/market") == "postgresql://app:***@db:5432/market"
    assert redact("sqlite:///.cache/market.db") == "sqlite:///.cache/market.db"
    with pytest.raises(StoreError) as raised:
        MinuteStore.open("postgresql://app:s3cret@127.0.0.1:1/market")
    assert "s3cret" not in str(raised.value)


def test_the_store_imports_neither_pandas_nor_the_network_stack():
    code = (
        "import sys, cryptopredict.collect.store; "
        "print(sorted({'pandas', 'websockets', 'psycopg'} & set(sys.modules)))"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]"
