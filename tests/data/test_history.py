"""The source chain, strict mode, and the store's resume behaviour."""

from __future__ import annotations

import dataclasses
import logging
import time

import pandas as pd
import pytest
import requests
import responses
import urllib3.exceptions

from cryptopredict.data.alpaca import AlpacaSource
from cryptopredict.data.binance import BinanceSource
from cryptopredict.data.errors import SourceError
from cryptopredict.data.frame import check_frame
from cryptopredict.data.history import HistoryStore, NoHistoryError, load_history
from cryptopredict.data.snapshot import SnapshotSource
from tests.data.hourly import HOUR
from tests.data.http_shapes import ALPACA_BARS_URL, BINANCE_KLINES_URL

SINCE = pd.Timestamp("2024-01-01", tz="UTC")


class FakeSource:
    """A live source serving a slice of real bars, recording what it was asked for."""

    def __init__(self, name: str, frame: pd.DataFrame | None = None, error: str | None = None):
        self.name, self.frame, self.error = name, frame, error
        self.queries = []

    def fetch(self, query):
        self.queries.append(query)
        if self.error:
            raise SourceError(self.name, self.error)
        frame = self.frame
        return frame[(frame["timestamp"] >= query.start) & (frame["timestamp"] < query.end)]


@pytest.fixture
def january(snapshot_hourly) -> pd.DataFrame:
    in_january = snapshot_hourly["timestamp"].between(SINCE, "2024-01-31 23:00")
    return snapshot_hourly[in_january].reset_index(drop=True)


def test_auto_falls_back_in_order_and_records_the_source(btc, settings, january, caplog):
    chain = [
        FakeSource("alpaca", error="HTTP 403: forbidden"),
        FakeSource("binance", error="cannot resolve api.binance.com"),
        SnapshotSource(),
    ]
    with caplog.at_level(logging.INFO, logger="cryptopredict.data.history"):
        history = load_history(
            btc, "1h", SINCE, settings, sources=chain, now=pd.Timestamp("2024-02-01", tz="UTC")
        )
    assert history.bars.source == "snapshot"
    assert history.failures == (
        "alpaca: HTTP 403: forbidden",
        "binance: cannot resolve api.binance.com",
    )
    # Falling back is the normal path offline: said at INFO, each line naming the pair.
    # (Only the history's lines: another test's API may still be archiving on its own thread.)
    said = [
        (record.levelname, record.getMessage())
        for record in caplog.records
        if record.name == "cryptopredict.data.history"
    ]
    assert said[:2] == [
        ("INFO", "btc-usd: source alpaca failed: HTTP 403: forbidden"),
        ("INFO", "btc-usd: source binance failed: cannot resolve api.binance.com"),
    ]
    assert said[2][0] == "INFO"
    assert said[2][1].startswith("btc-usd: source snapshot served 1h 744 bars from 2024-01-01")
    pd.testing.assert_frame_equal(history.bars.frame, january)


def test_the_first_source_that_answers_wins(btc, settings, january):
    binance = FakeSource("binance", january)
    history = load_history(
        btc,
        "1h",
        SINCE,
        settings,
        sources=[FakeSource("alpaca", january), binance],
        now=pd.Timestamp("2024-02-01", tz="UTC"),
    )
    assert history.bars.source == "alpaca"
    assert binance.queries == []


def test_a_source_with_bad_data_is_skipped_and_its_reason_named(btc, settings, january):
    broken = january.copy()
    broken.loc[100, "close"] = float("nan")
    chain = [FakeSource("alpaca", broken), FakeSource("binance", january)]
    history = load_history(
        btc, "1h", SINCE, settings, sources=chain, now=pd.Timestamp("2024-02-01", tz="UTC")
    )
    assert history.bars.source == "binance"
    assert "2024-01-05T04:00:00Z" in history.failures[0]
    assert HistoryStore(settings.cache_dir).load("alpaca", "btc-usd", HOUR) is None


def test_no_source_at_all_lists_every_reason(btc, settings):
    chain = [FakeSource("alpaca", error="HTTP 500 x3"), FakeSource("binance", error="HTTP 451")]
    with pytest.raises(NoHistoryError, match="alpaca: HTTP 500 x3; binance: HTTP 451"):
        load_history(btc, "1h", SINCE, settings, sources=chain)


def test_strict_mode_skips_the_snapshot_and_rejects_stale_live_data(btc, settings, january):
    strict = dataclasses.replace(settings, require_fresh_hours=6)
    now = january["timestamp"].iloc[-1] + pd.Timedelta(hours=30)
    chain = [FakeSource("alpaca", january), FakeSource("binance", error="HTTP 451")]
    with pytest.raises(NoHistoryError, match=r"alpaca: .*closed 29.0 h ago.*binance: HTTP 451"):
        load_history(btc, "1h", SINCE, strict, sources=chain, now=now)
    fresh_now = january["timestamp"].iloc[-1] + pd.Timedelta(hours=3)
    assert (
        load_history(btc, "1h", SINCE, strict, sources=chain, now=fresh_now).bars.source == "alpaca"
    )


def test_strict_auto_never_builds_the_snapshot(btc, settings):
    strict = dataclasses.replace(settings, require_fresh_hours=6, http_attempts=1)
    with responses.RequestsMock() as mocked:
        offline = requests.exceptions.ConnectionError("refused")
        mocked.get(ALPACA_BARS_URL, body=offline)
        mocked.get(BINANCE_KLINES_URL, body=offline)
        with pytest.raises(NoHistoryError) as failure:
            load_history(btc, "1h", SINCE, strict)
    assert "snapshot" not in str(failure.value)


def test_fetches_resume_from_the_last_stored_bar(btc, settings, january):
    first_half = january.iloc[:300]
    source = FakeSource("binance", first_half)
    now = first_half["timestamp"].iloc[-1] + pd.Timedelta(minutes=30)  # last bar still open
    history = load_history(btc, "1h", SINCE, settings, sources=[source], now=now)
    assert len(history.bars.frame) == 299
    stored = HistoryStore(settings.cache_dir).load("binance", "btc-usd", HOUR)
    pd.testing.assert_frame_equal(stored.frame, history.bars.frame)

    revised = january.copy()
    revised.loc[298, "close"] *= 1.001  # the last stored bar, revised upstream
    source.frame = revised
    later = january["timestamp"].iloc[-1] + HOUR.delta
    history = load_history(btc, "1h", SINCE, settings, sources=[source], now=later)
    assert source.queries[-1].start == january["timestamp"].iloc[298]
    assert history.bars.frame["close"].iloc[298] == revised["close"].iloc[298]
    pd.testing.assert_frame_equal(history.bars.frame, revised)
    check_frame(HistoryStore(settings.cache_dir).load("binance", "btc-usd", HOUR).frame)


def test_a_rejected_fetch_leaves_the_store_as_it_was(btc, settings, january):
    source = FakeSource("binance", january.iloc[:300])
    load_history(btc, "1h", SINCE, settings, sources=[source], now=january["timestamp"].iloc[300])
    before = HistoryStore(settings.cache_dir).load("binance", "btc-usd", HOUR).frame
    spiked = january.copy()
    spiked.loc[400, ["high", "close"]] *= 100
    source.frame = spiked
    with pytest.raises(NoHistoryError, match="MAX_BAR_JUMP"):
        load_history(
            btc, "1h", SINCE, settings, sources=[source], now=january["timestamp"].iloc[-1]
        )
    after = HistoryStore(settings.cache_dir).load("binance", "btc-usd", HOUR).frame
    pd.testing.assert_frame_equal(after, before)


def test_an_earlier_since_refetches_what_the_store_lacks(btc, settings, january):
    source = FakeSource("binance", january)
    now = january["timestamp"].iloc[-1] + HOUR.delta
    load_history(btc, "1h", SINCE + pd.Timedelta(days=10), settings, sources=[source], now=now)
    history = load_history(btc, "1h", SINCE, settings, sources=[source], now=now)
    assert source.queries[-1].start == SINCE
    pd.testing.assert_frame_equal(history.bars.frame, january)


def test_offline_auto_reaches_the_snapshot_quickly_through_the_real_clients(btc, settings):
    cause = urllib3.exceptions.NameResolutionError("host", None, OSError("no DNS"))
    offline = requests.exceptions.ConnectionError(
        urllib3.exceptions.MaxRetryError(None, "/", cause)
    )
    started = time.monotonic()
    with responses.RequestsMock() as mocked:
        mocked.get(ALPACA_BARS_URL, body=offline)
        mocked.get(BINANCE_KLINES_URL, body=offline)
        history = load_history(btc, "1h", pd.Timestamp("2021-01-01", tz="UTC"), settings)
    assert time.monotonic() - started < 10
    assert history.bars.source == "snapshot"
    assert [failure.split(":")[0] for failure in history.failures] == ["alpaca", "binance"]
    assert all("cannot resolve" in failure for failure in history.failures)
    assert history.report.rows == 48771


def test_live_sources_through_responses_fill_the_store(btc, settings, january):
    from tests.data.http_shapes import binance_klines

    with responses.RequestsMock() as mocked:
        mocked.get(ALPACA_BARS_URL, status=403, json={"message": "forbidden"})
        mocked.get(BINANCE_KLINES_URL, json=binance_klines(january))
        chain = [AlpacaSource(settings), BinanceSource(settings)]
        history = load_history(
            btc,
            "1h",
            SINCE,
            settings,
            sources=chain,
            now=january["timestamp"].iloc[-1] + HOUR.delta,
        )
    assert history.bars.source == "binance"
    assert history.failures == ('alpaca: HTTP 403: {"message": "forbidden"}',)
    assert len(HistoryStore(settings.cache_dir).load("binance", "btc-usd", HOUR).frame) == len(
        january
    )


def test_until_reads_the_history_as_it_stood_and_leaves_the_store_alone(btc, settings, january):
    """A live source with `until`: the bars closed by then, from the store and the source; the
    store keeps what it held (a past training must not forget the bars after it)."""
    source = FakeSource("binance", january)
    now = january["timestamp"].iloc[-1] + HOUR.delta
    load_history(btc, "1h", SINCE, settings, sources=[source], now=now)
    stored = HistoryStore(settings.cache_dir).load("binance", "btc-usd", HOUR).frame
    until = january["timestamp"].iloc[200] + pd.Timedelta(minutes=30)  # bar 200 still open
    history = load_history(btc, "1h", SINCE, settings, sources=[source], now=now, until=until)
    pd.testing.assert_frame_equal(history.bars.frame, january.iloc[:200])
    after = HistoryStore(settings.cache_dir).load("binance", "btc-usd", HOUR).frame
    pd.testing.assert_frame_equal(after, stored)


def test_until_cuts_an_embedded_history_at_the_last_bar_closed(btc, settings):
    until = pd.Timestamp("2026-02-16T00:30", tz="UTC")
    history = load_history(btc, "1h", SINCE, settings, source="snapshot", until=until)
    assert history.bars.frame["timestamp"].iloc[-1] == pd.Timestamp("2026-02-15T23:00", tz="UTC")
