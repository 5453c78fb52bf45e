"""The storage path's rules, against SQLite and a real PostgreSQL server: order, repeats, the
clock (bars from the future, the retention), impossible jumps, conflicting copies, and a write
that fails."""

from __future__ import annotations

import dataclasses
import logging
import sqlite3

import pytest

from cryptopredict.collect.feed import MinuteWriter, Outcome, stamp
from cryptopredict.minutes.bars import MINUTE
from cryptopredict.minutes.store import DatabaseUnavailableError, MinuteStore
from tests.collect.helpers import Clock

YEAR_2100 = 4_102_444_800  # 2100-01-01T00:00Z


@pytest.fixture
def clock(sample_minutes):
    """Two minutes after the last of the 300 sample minutes closed."""
    return Clock(sample_minutes[-1].ts + 3 * MINUTE)


@pytest.fixture
def writer(database_url, clock):
    store = MinuteStore.open(database_url)
    writer = MinuteWriter(store, retention_days=1, clock=clock)
    yield writer
    writer.store.close()


def stored_ts(writer):
    return [row[0] for row in writer.store.bars("btc-usd", 0, 2**40)]


def test_the_first_stored_copy_of_a_minute_wins_in_any_order(writer, sample_minutes, caplog):
    m = sample_minutes
    assert writer.fill(m[:3]) == [Outcome.STORED] * 3
    assert writer.fill([m[2]]) == [Outcome.DUPLICATE]
    with caplog.at_level(logging.WARNING):
        assert writer.fill([dataclasses.replace(m[1], close=m[1].high)]) == [Outcome.CONFLICT]
    assert "ignored a different copy" in caplog.text
    assert writer.fill([m[5]]) == [Outcome.STORED]
    assert writer.fill([m[4]]) == [Outcome.STORED]  # older than the newest: a hole filled
    assert stored_ts(writer) == [m[0].ts, m[1].ts, m[2].ts, m[4].ts, m[5].ts]
    assert writer.store.bars("btc-usd", 0, 2**40)[1][4] == m[1].close  # unchanged


def test_fill_stores_missing_minutes_anywhere(writer, sample_minutes):
    m = sample_minutes
    writer.fill([m[0], m[5], m[9]])
    outcomes = writer.fill(m[:10])
    assert outcomes.count(Outcome.STORED) == 7
    assert outcomes.count(Outcome.DUPLICATE) == 3
    assert stored_ts(writer) == [bar.ts for bar in m[:10]]
    assert writer.newest("btc-usd") == m[9].ts


def test_the_writer_reads_the_newest_minute_from_the_database(database_url, sample_minutes, clock):
    with MinuteStore.open(database_url) as store:
        store.write(sample_minutes[:10])
        writer = MinuteWriter(store, retention_days=30, clock=clock)
        assert writer.newest("btc-usd") == sample_minutes[9].ts
        assert writer.fill([sample_minutes[9]]) == [Outcome.DUPLICATE]


def test_a_bar_from_the_future_is_rejected_and_changes_nothing(
    writer, sample_minutes, clock, caplog
):
    """Acceptance bar 1, at the storage path: a closed bar dated 2100 is logged and dropped;
    the newest minute, the retention and every stored row are as before, and the next real
    minute is stored."""
    m = sample_minutes
    writer.fill(m[:100])
    future = dataclasses.replace(m[100], ts=YEAR_2100)
    with caplog.at_level(logging.WARNING):
        assert writer.fill([future]) == [Outcome.FUTURE]
        assert writer.fill([future]) == [Outcome.FUTURE]
    assert f"rejected the {stamp(YEAR_2100)} bar from replay: from the future" in caplog.text
    assert writer.newest("btc-usd") == m[99].ts
    assert writer.prune() == 0
    assert stored_ts(writer) == [bar.ts for bar in m[:100]]
    assert writer.fill([m[100]]) == [Outcome.STORED]
    # The clock's own minute is still running: a closed bar for it is a minute early, and
    # allowed (clocks differ); one for the minute after is not.
    running = clock.now // MINUTE * MINUTE
    early = dataclasses.replace(m[-1], ts=running)
    assert writer.fill([early]) == [Outcome.STORED]
    assert writer.fill([dataclasses.replace(m[-1], ts=running + MINUTE)]) == [Outcome.FUTURE]


def test_retention_is_counted_from_the_clock(writer, sample_minutes, clock):
    m = sample_minutes
    writer.fill(m)
    assert writer.window_start() <= m[0].ts
    clock.now = m[202].ts + 86_400  # a day after m[202] opened: it is the first one kept
    assert writer.prune() == 202
    assert stored_ts(writer) == [bar.ts for bar in m[202:]]
    clock.now += 3600
    old = dataclasses.replace(m[0], ts=m[150].ts)
    assert writer.fill([old]) == [Outcome.EXPIRED]


def test_pruning_happens_as_bars_are_written_at_most_hourly(writer, sample_minutes, clock):
    m = sample_minutes
    writer.store.write(m[:100])

    def fresh(index):
        return dataclasses.replace(m[index], ts=int(clock.now) // MINUTE * MINUTE - MINUTE)

    clock.now = m[0].ts + 86_400 + 5 * MINUTE  # m[0] to m[4] are past the retention
    writer.fill([fresh(100)])
    assert stored_ts(writer)[0] == m[5].ts
    clock.now += 30 * MINUTE
    writer.fill([fresh(101)])
    assert stored_ts(writer)[0] == m[5].ts  # pruned at most once an hour
    clock.now += 3600
    writer.fill([fresh(102)])
    assert stored_ts(writer)[0] == m[95].ts


@pytest.mark.parametrize("factor", [1000.0, 0.001])
def test_an_impossible_jump_is_rejected(writer, sample_minutes, factor, caplog):
    m = sample_minutes
    writer.fill(m[:20])
    bar = m[20]
    wild = dataclasses.replace(
        bar,
        open=bar.open * factor,
        high=bar.high * factor,
        low=bar.low * factor,
        close=bar.close * factor,
        vwap=bar.vwap * factor,
    )
    with caplog.at_level(logging.WARNING):
        assert writer.fill([wild]) == [Outcome.JUMP]
    assert "an impossible jump" in caplog.text
    assert writer.newest("btc-usd") == m[19].ts
    assert writer.fill([m[20]]) == [Outcome.STORED]
    assert writer.fill([m[21]]) == [Outcome.STORED]


def test_one_wild_bar_never_becomes_the_yardstick(writer, sample_minutes):
    """A backfill page whose first bar is x1000, on an empty database: the batch's own median
    rejects it, and every real bar is stored."""
    m = sample_minutes[:60]
    wild = dataclasses.replace(
        m[0], high=m[0].high * 1000, close=m[0].close * 1000, vwap=m[0].vwap * 1000
    )
    outcomes = writer.fill([wild, *m[1:]])
    assert outcomes[0] is Outcome.JUMP
    assert outcomes[1:] == [Outcome.STORED] * 59
    assert writer.fill([m[0]]) == [Outcome.STORED]


def test_a_real_fall_within_the_limit_is_stored(writer, sample_minutes):
    m = sample_minutes
    writer.fill(m[:20])
    bar = m[20]
    fall = dataclasses.replace(bar, open=bar.open, low=bar.close / 2.5, close=bar.close / 2.5)
    assert writer.fill([fall]) == [Outcome.STORED]


def test_a_different_copy_of_a_stored_minute_is_logged_and_the_first_kept(
    writer, sample_minutes, caplog
):
    m = sample_minutes
    writer.fill(m[:5])
    other = dataclasses.replace(m[3], close=m[3].high, source="binance")
    with caplog.at_level(logging.WARNING):
        assert writer.fill([other]) == [Outcome.CONFLICT]
        louder = dataclasses.replace(m[4], volume=m[4].volume + 1)
        assert writer.fill([louder]) == [Outcome.CONFLICT]
    assert f"kept the stored {stamp(m[3].ts)} bar" in caplog.text
    assert f"close {m[3].close}" in caplog.text
    assert f"close {m[3].high}" in caplog.text
    rows = writer.store.bars("btc-usd", 0, 2**40)
    assert rows[3][4] == m[3].close
    assert rows[4][5] == m[4].volume
    assert writer.fill([m[3]]) == [Outcome.DUPLICATE]


def test_a_failed_write_loses_nothing_and_the_next_one_reconnects(tmp_path, sample_minutes, clock):
    m = sample_minutes
    path = tmp_path / "market.db"
    writer = MinuteWriter(MinuteStore.open(f"sqlite:///{path}", timeout=0.1), 1, clock=clock)
    writer.fill(m[:3])
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    with pytest.raises(DatabaseUnavailableError, match="database is locked"):
        writer.fill(m[3:6])
    locker.execute("ROLLBACK")
    assert writer.newest("btc-usd") == m[2].ts  # what failed is not taken as stored
    assert writer.fill(m[3:6]) == [Outcome.STORED] * 3
    assert stored_ts(writer) == [bar.ts for bar in m[:6]]
    writer.store.close()


def test_every_bar_records_where_it_came_from(writer, sample_minutes):
    m = sample_minutes
    writer.fill([m[0], dataclasses.replace(m[1], source="binance")])
    moved = dataclasses.replace(m[2], ts=m[2].ts, source="replay", shift=-3600)
    writer.fill([moved])
    last = writer.store.newest_bars()["btc-usd"]
    assert (last.source, last.shifted_by) == ("replay", -3600)
    sources = writer.store._db.execute(
        "SELECT source, shifted_by FROM minute_bars ORDER BY ts"
    ).fetchall()
    assert [tuple(row) for row in sources] == [("replay", 0), ("binance", 0), ("replay", -3600)]


def test_minutes_from_the_future_left_by_an_earlier_version_are_removed(
    writer, sample_minutes, caplog
):
    """A database where an earlier version (or a clock set back since) stored a bar dated 2100:
    the feed would take it for the newest minute. The first prune removes it."""
    m = sample_minutes
    writer.store.write([*m[:10], dataclasses.replace(m[10], ts=YEAR_2100)])
    assert writer.newest("btc-usd") == YEAR_2100
    with caplog.at_level(logging.WARNING):
        writer.prune()
    assert "removed 1 minutes dated after the clock" in caplog.text
    assert writer.newest("btc-usd") == m[9].ts
    assert writer.fill(m[10:12]) == [Outcome.STORED] * 2
    assert stored_ts(writer) == [bar.ts for bar in m[:12]]
