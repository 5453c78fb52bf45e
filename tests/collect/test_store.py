"""The minute-bar database, against SQLite and a real PostgreSQL server alike."""

from __future__ import annotations

import dataclasses
import logging
import re
import sqlite3
import subprocess
import sys

import pytest

from cryptopredict.logs import RedactingFormatter, redact, scrub
from cryptopredict.minutes.bars import FeedStatus, Quote
from cryptopredict.minutes.store import (
    SCHEMA_VERSION,
    DatabaseUnavailableError,
    MinuteStore,
    NoDatabaseError,
    StoreError,
    Window,
)
from tests.paths import ROOT


def rows(bars):
    return [(b.ts, b.open, b.high, b.low, b.close, b.volume, b.vwap) for b in bars]


def test_a_new_database_gets_the_schema_and_its_version(database_url, sample_minutes):
    with MinuteStore.open(database_url) as store:
        assert "btc-usd" not in store.windows()
        store.write(sample_minutes[:3])
    with MinuteStore.open(database_url, create=False) as again:
        assert again.windows()["btc-usd"] == Window(sample_minutes[0].ts, sample_minutes[2].ts, 3)
        version = again._db.execute("SELECT value FROM schema_info").fetchone()[0]
        assert version == str(SCHEMA_VERSION)


def test_bars_read_back_exactly_as_written(database_url, sample_minutes):
    bars = sample_minutes[:50]
    with MinuteStore.open(database_url) as store:
        assert store.write(bars) == 50
        assert store.bars("btc-usd", bars[0].ts, bars[-1].ts + 60) == rows(bars)
        assert store.bars("btc-usd", bars[10].ts, bars[20].ts) == rows(bars[10:20])
        last = store.newest_bars()["btc-usd"]
        assert last.ohlcv == rows(bars[-1:])[0]
        assert (last.source, last.shifted_by) == ("replay", 0)
        assert store.bars("eth-usd", 0, 2**40) == []


def test_writing_a_bar_twice_changes_nothing(database_url, sample_minutes):
    bars = sample_minutes[:5]
    altered = dataclasses.replace(bars[2], close=bars[2].high, source="other")
    with MinuteStore.open(database_url) as store:
        assert store.write(bars) == 5
        assert store.write([*bars, altered]) == 0
        assert store.bars("btc-usd", 0, 2**40) == rows(bars)
        assert store.windows()["btc-usd"].count == 5


def test_a_failed_write_stores_none_of_its_bars(database_url, sample_minutes):
    bars = sample_minutes[:3]
    with MinuteStore.open(database_url) as store:
        broken = [*bars, dataclasses.replace(bars[0], ts=bars[0].ts + 3600)]
        object.__setattr__(broken[-1], "open", None)  # NOT NULL fails mid-transaction
        with pytest.raises(Exception, match=r"(?i)null"):
            store.write(broken)
        assert "btc-usd" not in store.windows()
        assert store.write(bars) == 3


def test_prune_removes_only_older_bars(database_url, sample_minutes):
    btc = sample_minutes[:10]
    eth = [dataclasses.replace(bar, asset="eth-usd") for bar in btc]
    with MinuteStore.open(database_url) as store:
        store.write(btc + eth)
        assert store.prune(btc[6].ts) == 6 + 6
        assert store.windows()["btc-usd"] == Window(btc[6].ts, btc[-1].ts, 4)
        assert store.windows()["eth-usd"] == Window(btc[6].ts, btc[-1].ts, 4)
        assert store.windows("eth-usd") == {"eth-usd": Window(btc[6].ts, btc[-1].ts, 4)}
        assert list(store.newest_bars("eth-usd")) == ["eth-usd"]


def test_a_reader_sees_new_rows_without_reopening(database_url, sample_minutes):
    with MinuteStore.open(database_url) as writer, MinuteStore.open(database_url) as reader:
        writer.write(sample_minutes[:2])
        assert reader.windows()["btc-usd"].count == 2
        writer.write(sample_minutes[2:7])
        assert reader.windows()["btc-usd"].count == 7
        assert reader.newest_bars()["btc-usd"].ohlcv[0] == sample_minutes[6].ts


def test_latest_prices_and_the_feed_s_status_are_replaced_by_the_next(database_url):
    with MinuteStore.open(database_url) as store:
        store.write_quotes(
            [Quote("btc-usd", "binance", 100, 1.5), Quote("eth-usd", "alpaca", 90, 2)]
        )
        store.write_quotes([Quote("btc-usd", "alpaca", 160, 1.25)])
        failing = FeedStatus(("binance", "alpaca"), 60, "HTTP 503 from x", 120, 120)
        store.write_status(failing)
        assert store.status() == failing
        store.write_status(FeedStatus(("binance",), 180, "HTTP 503 from x", 120))
    with MinuteStore.open(database_url, create=False) as reader:
        assert sorted(reader.quotes(), key=lambda quote: quote.asset) == [
            Quote("btc-usd", "alpaca", 160, 1.25),
            Quote("eth-usd", "alpaca", 90, 2.0),
        ]
        assert reader.status() == FeedStatus(("binance",), 180, "HTTP 503 from x", 120)


def test_another_schema_version_is_refused(database_url, sample_minutes):
    with MinuteStore.open(database_url) as store:
        store._db.execute("UPDATE schema_info SET value = '99' WHERE name = 'version'")
    with pytest.raises(StoreError, match=rf"schema version 99, and this code .* {SCHEMA_VERSION}"):
        MinuteStore.open(database_url)


def test_a_table_of_someone_else_is_not_written_into(database_url):
    with MinuteStore.open(database_url) as store:
        store._db.execute("DROP TABLE schema_info")
    with pytest.raises(StoreError, match="not made by the market feed"):
        MinuteStore.open(database_url)


def test_sqlite_runs_in_wal_mode(tmp_path):
    path = tmp_path / "nested" / "market.db"
    MinuteStore.open(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as plain:
        assert plain.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_opening_for_reading_creates_nothing(tmp_path):
    with pytest.raises(NoDatabaseError, match="no minute-bar database"):
        MinuteStore.open(f"sqlite:///{tmp_path / 'absent.db'}", create=False)
    assert not (tmp_path / "absent.db").exists()


@pytest.mark.parametrize("url", ["mysql://u@h/db", "sqlite:/relative.db", ".cache/market.db"])
def test_an_unknown_url_is_a_clear_error(url):
    with pytest.raises(StoreError, match="sqlite:///PATH or postgresql://"):
        MinuteStore.open(url)


def test_passwords_never_reach_messages():
    with pytest.raises(DatabaseUnavailableError) as raised:
        MinuteStore.open("postgresql://app:s3cret@127.0.0.1:1/market")
    assert "s3cret" not in str(raised.value)
    assert "Connection refused" in str(raised.value)


# libpq quotes a URL it cannot parse whole, or the part it choked on; it takes a password's # and
# ? as they are, and reads one with a / as a host and port (issue 104).
MALFORMED = [
    ("postgresql://app:s3cret@[::1/market", "IPv6 host address"),
    ("postgresql://app:s3%zzcret@127.0.0.1/market", "percent-encoded"),
    ("postgresql://app:s3cret@127.0.0.1/market?bogus=1", "invalid URI query parameter"),
    ("postgresql://app:s3cret@127.0.0.1:notaport/market", "notaport"),
    ("postgresql://app:s3#cret@127.0.0.1:1/market", "Connection refused"),
    ("postgresql://app:s3?cret@127.0.0.1:1/market", "Connection refused"),
    ("postgresql://app:s3/cret@127.0.0.1:1/market", "cannot connect to"),
    ("postgresql://app:s3 cret@127.0.0.1/market", "unexpected spaces"),
    *[(f"postgresql://app:s3{quote}cret@127.0.0.1:1/market", "refused") for quote in "'\"<>"],
]


@pytest.mark.parametrize(("url", "reason"), MALFORMED)
def test_a_postgresql_url_that_fails_says_why_without_its_password(url, reason):
    with pytest.raises(StoreError, match=reason) as raised:
        MinuteStore.open(url)
    assert "s3" not in str(raised.value).replace("s3%zz", "")  # the password, in any form
    assert "cret" not in str(raised.value)


def test_text_is_scrubbed_of_any_password():
    url = "postgresql://app:pa%40ss@db/market"
    text = f"failed: {url} and pa@ss and pa%40ss; host=db password=other"
    cleaned = scrub(text, url)
    assert "pa@ss" not in cleaned
    assert "pa%40ss" not in cleaned
    assert "other" not in cleaned


# The shapes of a secret (issue 104): docs/operations.md's table, each row a case; and text left
# alone.
SHAPES = re.findall(
    r"^\| \d+ \| .+ \| `(.+)` \| `(.+)` \|$", (ROOT / "docs/operations.md").read_text(), re.M
)
KEPT = [
    "http://example.org/a@b, KeyError: 'x', me@example.org, sqlite:///.cache/market.db",
    "https://host:443/path?email=me@example.org, http://[::1]:8080/x at 2026-07-26T17:10:02",
    f"sha256 {'0123456789abcdef' * 4}, tokens: 5, keys 3, the secret_sauce module",
    "password authentication failed for user app, a global-long-running-session-name, sk-learn",
]


def test_the_docs_table_holds_97_shapes():
    assert len(SHAPES) == 97


@pytest.mark.parametrize(("text", "said"), SHAPES + [(text, text) for text in KEPT])
def test_every_shape_of_secret_is_redacted_in_text_and_log_lines(text, said):
    assert redact(text) == said
    record = logging.LogRecord("feed", logging.WARNING, __file__, 1, "failed: %s", (text,), None)
    assert RedactingFormatter("%(message)s").format(record) == f"failed: {said}"


def test_the_kinds_of_fault_are_told_apart(tmp_path):
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database, " * 400)
    for create in (True, False):
        with pytest.raises(StoreError, match="not a database") as raised:
            MinuteStore.open(f"sqlite:///{garbage}", create=create)
        assert not isinstance(raised.value, DatabaseUnavailableError)  # it will not heal
    with pytest.raises(DatabaseUnavailableError, match="unable to open"):
        MinuteStore.open(f"sqlite:///{tmp_path}")  # a directory


def test_a_locked_sqlite_database_is_unavailable_not_broken(tmp_path, sample_minutes):
    url = f"sqlite:///{tmp_path / 'market.db'}"
    with MinuteStore.open(url, timeout=0.1) as store:
        locker = sqlite3.connect(tmp_path / "market.db", isolation_level=None)
        locker.execute("BEGIN EXCLUSIVE")
        with pytest.raises(DatabaseUnavailableError, match="database is locked"):
            store.write(sample_minutes[:3])
        locker.execute("ROLLBACK")
        assert store.write(sample_minutes[:3]) == 3  # the same connection carries on


def test_gaps_are_found_anywhere_in_a_range(database_url, sample_minutes):
    m = sample_minutes
    with MinuteStore.open(database_url) as store:
        assert store.gaps("btc-usd", m[0].ts, m[10].ts) == [(m[0].ts, m[10].ts)]
        store.write([m[i] for i in (2, 3, 5, 8)])
        assert store.gaps("btc-usd", m[0].ts, m[10].ts) == [
            (m[0].ts, m[2].ts),
            (m[4].ts, m[5].ts),
            (m[6].ts, m[8].ts),
            (m[9].ts, m[10].ts),
        ]
        assert store.gaps("btc-usd", m[2].ts, m[4].ts) == []
        assert store.gaps("btc-usd", m[2].ts, m[2].ts) == []
        assert store.gaps("eth-usd", m[0].ts, m[2].ts) == [(m[0].ts, m[2].ts)]


def test_pruning_gives_sqlite_space_back(tmp_path, all_sample_minutes):
    path = tmp_path / "market.db"
    bars = all_sample_minutes[:20_000]
    with MinuteStore.open(f"sqlite:///{path}") as store:
        store.write(bars)
        store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        full = path.stat().st_size
        assert store.prune(bars[18_000].ts) == 18_000
        assert path.stat().st_size < full * 0.2
        assert store.windows()["btc-usd"].count == 2000


def test_the_store_imports_neither_pandas_nor_the_network_stack():
    code = (
        "import sys, cryptopredict.minutes.store; "
        "print(sorted({'pandas', 'websockets', 'psycopg'} & set(sys.modules)))"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]"
