"""The collector against local servers speaking Binance's shapes: what lands in the database is
checked against the messages sent (issue 17, acceptance bars 1 and 3)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cryptopredict.assets import ASSETS
from cryptopredict.collect.bars import MINUTE, MalformedBarError
from cryptopredict.collect.binance import parse_event
from cryptopredict.collect.collector import Backoff, BinanceCollector
from cryptopredict.collect.errors import RefusedError
from cryptopredict.collect.store import MinuteStore
from cryptopredict.collect.writer import MinuteWriter, stamp
from cryptopredict.config import Settings
from tests.collect.fake_binance import DROP, FakeBinance, kline_event
from tests.collect.running import run_until

ROOT = Path(__file__).resolve().parents[2]
BTC = ASSETS["btc-usd"]
BY_SYMBOL = {BTC.binance_symbol: BTC}
RETENTION = 30 * 86_400


def ohlcv(bars):
    return [(b.ts, b.open, b.high, b.low, b.close, b.volume) for b in bars]


def stored(url):
    with MinuteStore.open(url, create=False) as store:
        return store.bars("btc-usd", 0, 2**40)


def running(bar, fraction=0.5):
    """The kline of a minute still running: partial close and volume, x false."""
    partial = bar.open + (bar.close - bar.open) * fraction
    return kline_event(bar, closed=False, c=f"{partial:.8f}", v=f"{bar.volume * fraction:.8f}")


@pytest.fixture
def scenario(sample_minutes):
    """Twenty real minutes; the exchange has all but m[2] (an outage), and the stream sends a
    running update, a duplicate, malformed messages, an out-of-order bar and drops the
    connection, after which m[7]..m[10] must come from REST."""
    m = sample_minutes[:20]
    history = [bar for index, bar in enumerate(m) if index != 2]
    sessions = [
        [
            running(m[5]),
            kline_event(m[5], closed=True),
            kline_event(m[5], closed=True),
            running(m[6]),
            "{not json",
            json.dumps({"stream": "btcusdt@kline_1m", "data": {"e": "kline", "k": {"t": 1}}}),
            kline_event(m[6], closed=True, h="-1"),
            kline_event(m[6], closed=True),
            kline_event(m[2], closed=True),
            running(m[7]),
            DROP,
        ],
        [
            running(m[11], 0.2),
            kline_event(m[11], closed=True),
            kline_event(m[12], closed=True),
            running(m[13]),
        ],
    ]
    expected = [m[i] for i in (0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)]
    return m, history, sessions, expected


def wait_for(condition, timeout=30.0, what="the condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def newest(url):
    try:
        with MinuteStore.open(url, create=False) as store:
            return store.last_minute("btc-usd")
    except Exception:  # not created yet
        return None


@pytest.mark.slow
def test_the_collector_stores_exactly_the_closed_minutes_across_a_drop(scenario, database_url):
    """Acceptance bars 1 (SQLite) and 3 (PostgreSQL): `python -m cryptopredict.collect` with
    the three URLs pointing at local servers."""
    m, history, sessions, expected = scenario
    with FakeBinance(history, sessions) as fake:
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "BINANCE_WS_URL": fake.ws_url,
            "BINANCE_API_URL": fake.api_url,
            "ASSETS": "btc-usd",
            "PYTHONPATH": str(ROOT),
        }
        collector = subprocess.Popen(
            [sys.executable, "-m", "cryptopredict.collect"],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_for(lambda: newest(database_url) == m[12].ts, what="the m[12] minute")
            time.sleep(0.3)  # m[13]'s running update arrives; it must not be stored
        finally:
            collector.send_signal(signal.SIGTERM)
            _, log = collector.communicate(timeout=30)
        assert collector.returncode == 0, log
        queries = fake.rest_queries
        connections = fake.connections
    assert "stopped by a signal" in log
    rows = stored(database_url)
    assert [row[:6] for row in rows] == ohlcv(expected)
    for row, bar in zip(rows, expected, strict=True):
        assert row[6] == pytest.approx(bar.vwap, rel=1e-9)
    assert connections == 2
    # Backfill asked for the retention on the empty database, then from the last stored minute.
    asked = [(int(q["startTime"]) // 1000, (int(q["endTime"]) + 1) // 1000) for q in queries]
    assert asked == [(m[5].ts - RETENTION, m[5].ts), (m[7].ts, m[11].ts)]
    assert f"skipped the {stamp(m[2].ts)} bar from binance: out of order" in log
    assert log.count("skipped a malformed message") == 3
    assert "connection dropped" in log


def collector_for(url, ws_url, api_url, assets=(BTC,), **kwargs):
    settings = Settings(database_url=url, binance_ws_url=ws_url, binance_api_url=api_url)
    writer = MinuteWriter(MinuteStore.open(url), settings.minute_retention_days)
    return BinanceCollector(list(assets), writer, settings, **kwargs), writer


async def no_wait(seconds):
    await asyncio.sleep(0)


def test_http_451_moves_stream_and_rest_to_the_market_data_hosts(sample_minutes, tmp_path):
    m = sample_minutes[:10]
    url = f"sqlite:///{tmp_path / 'market.db'}"
    sessions = [[running(m[4]), kline_event(m[4], closed=True)]]
    with (
        FakeBinance(m, [], refuse=451) as blocked,
        FakeBinance(m, sessions) as market_data,
    ):
        collector, writer = collector_for(
            url,
            blocked.ws_url,
            blocked.api_url,
            ws_fallback=market_data.ws_url,
            api_fallback=market_data.api_url,
            sleep=no_wait,
        )
        run_until(collector, lambda: writer.newest("btc-usd") == m[4].ts)
        assert blocked.stream_paths == ["/stream?streams=btcusdt@kline_1m"]
        # One try each on the blocked host, then everything on the market-data one.
        assert len(blocked.rest_queries) == 1
        assert market_data.rest_queries == blocked.rest_queries
    assert [row[0] for row in stored(url)] == [bar.ts for bar in m[:5]]


def test_refused_everywhere_is_raised_for_the_alpaca_fallback(sample_minutes, tmp_path):
    url = f"sqlite:///{tmp_path / 'market.db'}"
    with FakeBinance([], [], refuse=451) as blocked:
        collector, _ = collector_for(
            url, blocked.ws_url, blocked.api_url, ws_fallback=blocked.ws_url, sleep=no_wait
        )
        with pytest.raises(RefusedError, match="HTTP 451"):
            asyncio.run(collector.run())


def test_minutes_the_stream_skips_are_backfilled(sample_minutes, tmp_path):
    m = sample_minutes[:12]
    url = f"sqlite:///{tmp_path / 'market.db'}"
    with MinuteStore.open(url) as store:
        store.write(m[:3])
    sessions = [[running(m[3]), kline_event(m[3], closed=True), kline_event(m[9], closed=True)]]
    with FakeBinance(m, sessions) as fake:
        collector, writer = collector_for(url, fake.ws_url, fake.api_url)
        run_until(collector, lambda: writer.newest("btc-usd") == m[9].ts)
        asked = [int(q["startTime"]) // 1000 for q in fake.rest_queries]
    assert asked == [m[4].ts]  # nothing before m[3] was asked: the database had it
    assert [row[:6] for row in stored(url)] == ohlcv(m[:10])


def test_a_long_backfill_pages_1000_minutes_at_a_time(all_sample_minutes, tmp_path):
    m = all_sample_minutes[:2600]
    url = f"sqlite:///{tmp_path / 'market.db'}"
    with FakeBinance(m, [[running(m[2500])]]) as fake:
        collector, writer = collector_for(url, fake.ws_url, fake.api_url)
        run_until(collector, lambda: writer.newest("btc-usd") == m[2499].ts)
        starts = [int(q["startTime"]) // 1000 for q in fake.rest_queries]
    assert starts == [m[2500].ts - RETENTION, m[1000].ts, m[2000].ts]
    assert [row[0] for row in stored(url)] == [bar.ts for bar in m[:2500]]


def test_every_asset_streams_on_one_connection(sample_minutes, tmp_path):
    """BTC and ETH on the combined stream (the ETH bars are BTC's prices relabelled: no real ETH
    minutes are embedded), each backfilled and stored on its own."""
    btc = sample_minutes[:6]
    eth = [dataclasses.replace(bar, asset="eth-usd") for bar in sample_minutes[:6]]
    url = f"sqlite:///{tmp_path / 'market.db'}"
    session = [running(btc[3]), running(eth[2]), kline_event(eth[2], closed=True)]
    session += [kline_event(btc[3], closed=True), kline_event(eth[3], closed=True)]
    with FakeBinance(btc + eth, [session]) as fake:
        settings = Settings(
            database_url=url, binance_ws_url=fake.ws_url, binance_api_url=fake.api_url
        )
        writer = MinuteWriter(MinuteStore.open(url), 30)
        both = [BTC, ASSETS["eth-usd"]]
        collector = BinanceCollector(both, writer, settings)
        run_until(
            collector,
            lambda: (writer.newest("btc-usd"), writer.newest("eth-usd")) == (btc[3].ts, eth[3].ts),
        )
        assert fake.stream_paths == ["/stream?streams=btcusdt@kline_1m/ethusdt@kline_1m"]
        assert sorted(q["symbol"] for q in fake.rest_queries) == ["BTCUSDT", "ETHUSDT"]
    with MinuteStore.open(url) as store:
        assert store.window("btc-usd").count == 4
        assert store.window("eth-usd").count == 4


def test_reconnections_back_off_and_reset_after_data():
    backoff = Backoff(first=1.0, cap=8.0)
    assert [backoff.next() for _ in range(5)] == [1.0, 2.0, 4.0, 8.0, 8.0]
    assert backoff.next(hint=30.0) == 30.0  # the server's Retry-After wins
    backoff.reset()
    assert backoff.next() == 1.0


def test_a_server_that_keeps_refusing_connections_is_retried(sample_minutes, tmp_path):
    """Nothing listening: every attempt fails, each after a longer wait."""
    waits = []

    async def record(seconds):
        waits.append(seconds)
        if len(waits) == 4:
            raise asyncio.CancelledError

    url = f"sqlite:///{tmp_path / 'market.db'}"
    collector, _ = collector_for(url, "ws://127.0.0.1:9", "http://127.0.0.1:9", sleep=record)
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(collector.run())
    assert waits == [1.0, 2.0, 4.0, 8.0]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"x": "true"}, "not true or false"),
        ({"t": 1_700_000_000_123}, "whole minute"),
        ({"c": 12.5}, "decimal string"),
        ({"c": "abc"}, "could not convert"),
        ({"h": "1"}, "low .* high"),
        ({"v": "-3"}, "volume"),
        ({"i": "5m"}, "not a 1m kline"),
        ({"s": "DOGEUSDT"}, "KeyError"),
    ],
)
def test_malformed_events_are_rejected_with_the_reason(sample_minutes, change, reason):
    event = kline_event(sample_minutes[0], closed=True, **change)
    with pytest.raises(MalformedBarError, match=reason):
        parse_event(event, BY_SYMBOL)


def test_a_valid_event_parses_to_the_bar_sent(sample_minutes):
    bar = sample_minutes[7]
    kline = parse_event(kline_event(bar, closed=True), BY_SYMBOL)
    assert kline.closed
    assert dataclasses.astuple(kline.bar)[:7] == dataclasses.astuple(bar)[:7]
    assert kline.bar.source == "binance"
    assert kline.bar.ts % MINUTE == 0
