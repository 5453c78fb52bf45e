"""The history store: atomic replacement, resume points, and crash safety under kill -9."""

from __future__ import annotations

import textwrap

import pandas as pd
import pytest

from cryptopredict.data.frame import FrameError, check_frame
from cryptopredict.data.history import HistoryStore, StoredHistory, drop_open_bar
from tests.crash import kill_9_after
from tests.data.hourly import HOUR


def test_saved_history_loads_back_identically(tmp_path, week_of_bars):
    store = HistoryStore(tmp_path)
    covers_from = pd.Timestamp("2022-01-01", tz="UTC")
    store.save("binance", "btc-usd", HOUR, StoredHistory(week_of_bars.frame, covers_from))
    loaded = store.load("binance", "btc-usd", HOUR)
    pd.testing.assert_frame_equal(loaded.frame, week_of_bars.frame)
    assert loaded.covers_from == covers_from
    assert store.load("alpaca", "btc-usd", HOUR) is None


def test_a_corrupt_store_is_ignored_with_a_warning(tmp_path, caplog):
    store = HistoryStore(tmp_path)
    path = store.path("binance", "btc-usd", HOUR)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"PAR1 this is not parquet")
    assert store.load("binance", "btc-usd", HOUR) is None
    assert "unreadable history store" in caplog.text


def test_a_non_canonical_frame_is_never_saved(tmp_path, week_of_bars):
    store = HistoryStore(tmp_path)
    reversed_frame = week_of_bars.frame.iloc[::-1]
    with pytest.raises(FrameError, match="not sorted"):
        store.save("binance", "btc-usd", HOUR, StoredHistory(reversed_frame, week_of_bars.first))
    assert not store.path("binance", "btc-usd", HOUR).exists()


def test_resume_starts_at_the_last_stored_bar(week_of_bars):
    stored = StoredHistory(week_of_bars.frame, week_of_bars.first)
    assert stored.resume_start(week_of_bars.first) == week_of_bars.last
    earlier = week_of_bars.first - pd.Timedelta(days=30)
    assert stored.resume_start(earlier) == earlier  # the store does not cover it: fetch it all


def test_merge_prefers_the_fetched_bar(week_of_bars):
    stored = StoredHistory(week_of_bars.frame.iloc[:100], week_of_bars.first)
    refetched = week_of_bars.frame.iloc[99:].copy()
    refetched.loc[99, "close"] += 1
    merged = stored.merge(refetched)
    check_frame(merged)
    assert len(merged) == len(week_of_bars.frame)
    assert merged["close"].iloc[99] == refetched["close"].iloc[0]


def test_the_still_open_bar_is_dropped(week_of_bars):
    last = week_of_bars.last
    assert len(drop_open_bar(week_of_bars.frame, HOUR, last + pd.Timedelta(minutes=59))) == 167
    assert len(drop_open_bar(week_of_bars.frame, HOUR, last + HOUR.delta)) == 168


WRITER = textwrap.dedent(
    """
    import sys
    import pandas as pd
    from cryptopredict.data.history import HistoryStore, StoredHistory
    from cryptopredict.candles import Interval

    store = HistoryStore(sys.argv[1])
    frame = pd.read_parquet(sys.argv[2])
    version = 0
    while True:
        version += 1
        big = pd.concat([frame] * 40, ignore_index=True)
        stamps = pd.date_range("2000-01-01", periods=len(big), freq="h", tz="UTC", unit="ns")
        big["timestamp"] = stamps
        big["close"] = float(version)
        stored = StoredHistory(big, stamps[0])
        store.save("binance", "btc-usd", Interval.parse("1h"), stored)
        if version == 1:  # the kill comes after one replacement, into the next
            print("ready", flush=True)
    """
)


@pytest.mark.slow
def test_kill_9_mid_write_leaves_a_readable_store(tmp_path, snapshot_hourly):
    store = HistoryStore(tmp_path / "store")
    seed = tmp_path / "seed.parquet"
    snapshot_hourly.iloc[:5000].to_parquet(seed)
    original = StoredHistory(snapshot_hourly.iloc[:100], snapshot_hourly["timestamp"][0])
    store.save("binance", "btc-usd", HOUR, original)
    versions_seen = set()
    for delay in (0.05, 0.3, 0.55, 0.8, 1.05, 1.3):
        kill_9_after(WRITER, [str(store.root), str(seed)], delay)
        loaded = store.load("binance", "btc-usd", HOUR)
        assert loaded is not None, "the store must stay readable after a crash"
        check_frame(loaded.frame)
        versions_seen.add(loaded.frame["close"].iloc[-1])
        assert loaded.frame["close"].nunique() == 1 or loaded.frame.equals(original.frame)
    replaced = versions_seen - {original.frame["close"].iloc[-1]}
    assert replaced, "a replacement the writer had finished was lost"
