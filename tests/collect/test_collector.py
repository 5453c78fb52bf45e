"""The collector against local servers speaking Binance's shapes: what lands in the database is
checked against the messages sent (issue 17, acceptance bars 1 and 3; issue 23, acceptance bars
1, 3 and 5; issue 22, the collector following ASSETS).

In-process tests give the collector a clock that the fake exchange's script moves, so the
exchange's present and the collector's agree; the command-line test uses the real clock, with
real minutes moved to end a few minutes ago.
"""

from __future__ import annotations

import dataclasses
import json
import signal
import subprocess
import time

import pytest

from cryptopredict.assets import Asset
from cryptopredict.collect.binance import (
    MAX_URL_CHARS,
    STREAMS_PER_CONNECTION,
    parse_event,
    shards,
    stream_url,
)
from cryptopredict.collect.collector import Backoff
from cryptopredict.collect.writer import stamp
from cryptopredict.exchanges.rest import RefusedError
from cryptopredict.minutes.bars import MINUTE, MalformedBarError
from cryptopredict.minutes.store import MinuteStore
from tests.collect.fake_binance import DROP, FakeBinance, RestAnswer, kline_event, rest_kline
from tests.collect.helpers import (
    BTC,
    COLLECTOR,
    ETH,
    Clock,
    Sleeps,
    collector_env,
    collector_for,
    minutes_ago,
    newest,
    ohlcv,
    run_to_the_end,
    shifted_to,
    stored,
    wait_for,
)
from tests.collect.running import run_until

BY_SYMBOL = {BTC.binance_symbol: BTC}
YEAR_2100_MS = 4_102_444_800_000


def running(bar, fraction=0.5):
    """The kline of a minute still running: partial close and volume, x false."""
    partial = bar.open + (bar.close - bar.open) * fraction
    return kline_event(bar, closed=False, c=f"{partial:.8f}", v=f"{bar.volume * fraction:.8f}")


@pytest.mark.slow
def test_the_collector_stores_exactly_the_closed_minutes_across_a_drop(
    sample_minutes, database_url
):
    """Issue 17's acceptance bars 1 (SQLite) and 3 (PostgreSQL): `python -m
    cryptopredict.collect` against the local servers, on the real clock. The exchange lacks
    m[2] (an outage); the stream sends a running update, a duplicate, malformed messages, an
    out-of-order bar and drops the connection, after which m[7]..m[10] must come from REST."""
    m = shifted_to(sample_minutes[:20], minutes_ago(6))
    early = [bar for index, bar in enumerate(m[:5]) if index != 2]
    expected = [m[i] for i in (0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)]
    with FakeBinance(early, []) as fake:
        fake.sessions += [
            [
                running(m[5]),
                fake.closing(m[5]),
                kline_event(m[5], closed=True),
                running(m[6]),
                "{not json",
                json.dumps({"stream": "btcusdt@kline_1m", "data": {"e": "kline", "k": {"t": 1}}}),
                kline_event(m[6], closed=True, h="-1"),
                fake.closing(m[6]),
                kline_event(m[2], closed=True),
                running(m[7]),
                fake.published(*m[7:11]),
                DROP,
            ],
            [
                running(m[11], 0.2),
                fake.closing(m[11]),
                fake.closing(m[12]),
                running(m[13]),
            ],
        ]
        collector = subprocess.Popen(
            COLLECTOR, env=collector_env(fake, database_url), stderr=subprocess.PIPE, text=True
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
    # Before each connection, the window's holes: the whole retention on the empty database
    # (m[2], a hole the exchange answered without, is not asked for again), then from the last
    # stored minute.
    starts = [int(q["startTime"]) // 1000 for q in queries]
    assert len(starts) == 2
    assert abs(starts[0] - (time.time() - 30 * 86_400)) < 300
    assert starts[1] == m[7].ts
    assert f"skipped the {stamp(m[2].ts)} bar from binance: out of order" in log
    assert log.count("skipped a malformed message") == 3
    assert "connection dropped" in log


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
            blocked,
            Clock(m[4].ts + 30),
            ws_fallback=market_data.ws_url,
            api_fallback=market_data.api_url,
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
            url, blocked, Clock(sample_minutes[0].ts), api_fallback=blocked.api_url
        )
        with pytest.raises(RefusedError, match="HTTP 451"):
            run_until(collector, lambda: False)


def test_minutes_the_stream_skips_are_backfilled(sample_minutes, tmp_path):
    m = sample_minutes[:12]
    url = f"sqlite:///{tmp_path / 'market.db'}"
    clock = Clock(m[3].ts + 30)
    with FakeBinance(m[:3], []) as fake:
        collector, writer = collector_for(url, fake, clock)
        writer.append(m[:3])
        first_window = writer.window_start()
        fake.sessions.append(
            [
                running(m[3]),
                fake.closing(m[3]),
                fake.published(*m[4:9]),
                clock.running(m[10]),
                fake.closing(m[9]),
            ]
        )
        run_until(collector, lambda: writer.newest("btc-usd") == m[9].ts)
        asked = [int(q["startTime"]) // 1000 for q in fake.rest_queries]
    # The window before m[0] (nothing there), then the minutes the stream skipped.
    assert asked == [first_window, m[4].ts]
    assert [row[:6] for row in stored(url)] == ohlcv(m[:10])


def test_a_long_backfill_pages_1000_minutes_at_a_time(all_sample_minutes, tmp_path):
    m = all_sample_minutes[:2600]
    url = f"sqlite:///{tmp_path / 'market.db'}"
    with FakeBinance(m, [[running(m[2500])]]) as fake:
        collector, writer = collector_for(url, fake, Clock(m[2500].ts + 30))
        run_until(collector, lambda: writer.newest("btc-usd") == m[2499].ts)
        starts = [int(q["startTime"]) // 1000 for q in fake.rest_queries]
    assert starts == [writer.window_start(), m[1000].ts, m[2000].ts]
    assert [row[0] for row in stored(url)] == [bar.ts for bar in m[:2500]]


def test_every_asset_streams_on_one_connection(sample_minutes, tmp_path):
    """BTC and ETH on the combined stream (the ETH bars are BTC's prices relabelled: no real ETH
    minutes are embedded), each backfilled and stored on its own."""
    btc = sample_minutes[:6]
    eth = [dataclasses.replace(bar, asset="eth-usd") for bar in sample_minutes[:6]]
    url = f"sqlite:///{tmp_path / 'market.db'}"
    session = [running(btc[3]), running(eth[3]), kline_event(eth[3], closed=True)]
    session += [kline_event(btc[3], closed=True)]
    with FakeBinance(btc[:3] + eth[:3], [session]) as fake:
        collector, writer = collector_for(url, fake, Clock(btc[3].ts + 59), assets=(BTC, ETH))
        run_until(
            collector,
            lambda: (writer.newest("btc-usd"), writer.newest("eth-usd")) == (btc[3].ts, eth[3].ts),
        )
        assert fake.stream_paths == ["/stream?streams=btcusdt@kline_1m/ethusdt@kline_1m"]
        assert sorted(q["symbol"] for q in fake.rest_queries) == ["BTCUSDT", "ETHUSDT"]
    assert [row[0] for row in stored(url, "btc-usd")] == [bar.ts for bar in btc[:4]]
    assert [row[0] for row in stored(url, "eth-usd")] == [bar.ts for bar in eth[:4]]


def test_a_pair_added_to_assets_gets_its_history_first_then_its_stream(sample_minutes, tmp_path):
    """BTC has been collected; ETH joins ASSETS: its retention window comes over REST before
    the stream (now carrying both) is opened, and then its stream bars are stored after it."""
    btc = sample_minutes[:8]
    eth = [dataclasses.replace(bar, asset="eth-usd") for bar in sample_minutes[:8]]
    url = f"sqlite:///{tmp_path / 'market.db'}"
    clock = Clock(btc[6].ts + 30)
    session = [running(btc[6]), running(eth[6]), kline_event(eth[6], closed=True)]
    with FakeBinance(btc[:6] + eth[:6], [session]) as fake:
        collector, writer = collector_for(url, fake, clock, assets=(BTC, ETH))
        writer.append(btc[:6])
        run_until(collector, lambda: writer.newest("eth-usd") == eth[6].ts)
        events = list(fake.events)
    opened = events.index(("stream", "/stream?streams=btcusdt@kline_1m/ethusdt@kline_1m"))
    assert ("rest", "ETHUSDT") in events[:opened]
    assert ("rest", "ETHUSDT") not in events[opened:]
    assert [row[0] for row in stored(url, "eth-usd")] == [bar.ts for bar in eth[:7]]


def test_pairs_past_one_connections_limits_are_split_over_several():
    """Binance's limit (1024 streams a connection) and the URL's length both split the pairs;
    the split keeps ASSETS' order and leaves no pair out."""
    pairs = [
        Asset(f"p{i}-usd", f"P{i}/USD", f"P{i}/USD", f"P{i:04d}USDT", "1h") for i in range(2100)
    ]
    base = "wss://stream.binance.com:9443"
    groups = shards(base, pairs)
    assert [asset for group in groups for asset in group] == pairs
    assert all(len(stream_url(base, group)) <= MAX_URL_CHARS for group in groups)
    assert len(groups) == 6  # 22 characters a stream: 362 streams fit in 8,000 characters
    roomy = shards(base, pairs, max_chars=10**6)
    assert [len(group) for group in roomy] == [STREAMS_PER_CONNECTION, STREAMS_PER_CONNECTION, 52]
    assert shards(base, pairs[:2]) == [pairs[:2]]


def test_each_shard_streams_on_its_own_connection(sample_minutes, tmp_path):
    btc = sample_minutes[:5]
    eth = [dataclasses.replace(bar, asset="eth-usd") for bar in sample_minutes[:5]]
    url = f"sqlite:///{tmp_path / 'market.db'}"
    sessions = [
        [running(btc[3]), kline_event(btc[3], closed=True)],
        [running(eth[3]), kline_event(eth[3], closed=True)],
    ]
    with FakeBinance(btc[:3] + eth[:3], sessions) as fake:
        collector, writer = collector_for(
            url, fake, Clock(btc[3].ts + 59), assets=(BTC, ETH), streams_per_connection=1
        )
        run_until(
            collector,
            lambda: (writer.newest("btc-usd"), writer.newest("eth-usd")) == (btc[3].ts, eth[3].ts),
        )
        assert sorted(fake.stream_paths) == [
            "/stream?streams=btcusdt@kline_1m",
            "/stream?streams=ethusdt@kline_1m",
        ]


def test_a_closed_kline_from_the_future_is_rejected(sample_minutes, tmp_path, caplog):
    """Issue 23, acceptance bar 1: a closed kline dated 2100-01-01 (and a running one, and a
    REST row) is rejected and logged; the stored minutes are unchanged, and the next real
    minutes are stored. (The storage path's own check: tests/collect/test_writer.py.)"""
    m = sample_minutes[:12]
    url = f"sqlite:///{tmp_path / 'market.db'}"
    clock = Clock(m[5].ts + 30)
    future = YEAR_2100_MS

    def with_a_future_row(query, rows):
        return [*rows, rest_kline(dataclasses.replace(m[0], ts=future // 1000))]

    with FakeBinance(m[:5], [], rest_hook=with_a_future_row) as fake:
        collector, writer = collector_for(url, fake, clock)
        fake.sessions.append(
            [
                kline_event(m[0], closed=False, t=future, T=future + 59_999),
                running(m[5]),
                kline_event(m[5], closed=True, t=future, T=future + 59_999),
                fake.closing(m[5]),
                clock.running(m[6]),
                running(m[6]),
                fake.closing(m[6]),
                clock.running(m[7]),
                fake.closing(m[7]),
            ]
        )
        with caplog.at_level("WARNING"):
            run_until(collector, lambda: writer.newest("btc-usd") == m[7].ts)
    assert [row[:6] for row in stored(url)] == ohlcv(m[:8])
    assert "rejected a running kline opening 2100-01-01T00:00Z: from the future" in caplog.text
    assert "rejected a closed kline opening 2100-01-01T00:00Z: from the future" in caplog.text
    assert "skipped a REST kline opening 2100-01-01T00:00Z, outside the" in caplog.text


def test_a_database_an_earlier_version_wedged_with_a_bar_from_2100_heals(sample_minutes, tmp_path):
    """The issue's attack on the old collector left a 2100 bar stored, after which every real
    minute was out of order, restart or not. Started on such a database, the collector removes
    it and carries on."""
    m = sample_minutes[:8]
    url = f"sqlite:///{tmp_path / 'market.db'}"
    with MinuteStore.open(url) as store:
        store.write([*m[:5], dataclasses.replace(m[5], ts=YEAR_2100_MS // 1000)])
    clock = Clock(m[5].ts + 30)
    with FakeBinance(m[:5], []) as fake:
        collector, writer = collector_for(url, fake, clock)
        fake.sessions.append([running(m[5]), fake.closing(m[5])])
        run_until(collector, lambda: writer.newest("btc-usd") == m[5].ts)
    assert [row[:6] for row in stored(url)] == ohlcv(m[:6])


def test_a_kline_with_an_impossible_jump_is_rejected(sample_minutes, tmp_path, caplog):
    m = sample_minutes[:30]
    url = f"sqlite:///{tmp_path / 'market.db'}"
    clock = Clock(m[20].ts + 30)
    wild = {"h": f"{m[20].high * 1000:.8f}", "c": f"{m[20].close * 1000:.8f}"}
    with FakeBinance(m[:20], []) as fake:
        collector, writer = collector_for(url, fake, clock)
        fake.sessions.append(
            [
                running(m[20]),
                kline_event(m[20], closed=True, **wild),
                fake.published(m[20]),
                clock.running(m[21]),
                fake.closing(m[21]),
            ]
        )
        with caplog.at_level("WARNING"):
            run_until(collector, lambda: writer.newest("btc-usd") == m[21].ts)
        # m[20] was rejected: the close of m[21] asked REST for it, which has it right.
        assert [int(q["startTime"]) // 1000 for q in fake.rest_queries][-1] == m[20].ts
    assert "an impossible jump" in caplog.text
    assert [row[:6] for row in stored(url)] == ohlcv(m[:22])


HOSTILE = [
    "[" * 50_000 + "]" * 50_000,  # deeper than json's recursion limit: RecursionError
    '{"a":' * 30_000 + "1" + "}" * 30_000,
    "[]",
    "17",
    "null",
    '"kline"',
    '{"result": null, "id": 1}',
    '{"stream": "btcusdt@kline_1m", "data": []}',
    '{"stream": "btcusdt@kline_1m", "data": {"e": "kline", "k": null}}',
    b"\xff\xfe\x00binary",
]


def test_hostile_messages_are_logged_and_the_stream_goes_on(sample_minutes, tmp_path, caplog):
    m = sample_minutes[:8]
    url = f"sqlite:///{tmp_path / 'market.db'}"
    clock = Clock(m[5].ts + 30)
    with FakeBinance(m[:5], [[running(m[5]), *HOSTILE, kline_event(m[5], closed=True)]]) as fake:
        collector, writer = collector_for(url, fake, clock)
        with caplog.at_level("WARNING"):
            run_until(collector, lambda: writer.newest("btc-usd") == m[5].ts)
        assert fake.connections == 1  # never dropped
    assert caplog.text.count("skipped a malformed message") == len(HOSTILE)
    assert "RecursionError" in caplog.text
    assert [row[0] for row in stored(url)] == [bar.ts for bar in m[:6]]


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


def test_backoff_doubles_to_its_cap_and_takes_the_servers_hint():
    backoff = Backoff()
    assert [backoff.next() for _ in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert backoff.next(hint=90.0) == 90.0  # the server's Retry-After wins
    backoff.reset()
    assert backoff.next() == 1.0


DOCUMENTED = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0]


@pytest.mark.parametrize(
    "fault",
    ["503", "html", "451 then unreachable"],
)
def test_a_rest_side_that_keeps_failing_slows_to_the_documented_backoff(
    sample_minutes, tmp_path, fault
):
    """Issue 23, acceptance bar 3: with REST failing every time (a 503, an HTML error page with
    200, or a 451 whose market-data host cannot be reached), each attempt waits twice as long
    as the last, up to 60 s; the stream is not opened while the backfill fails, so nothing
    resets the wait."""
    m = sample_minutes[:5]
    url = f"sqlite:///{tmp_path / 'market.db'}"
    answers = {
        "503": RestAnswer(503, '{"code": -1001, "msg": "Internal error"}'),
        "html": RestAnswer(200, "<html><body>Bad gateway</body></html>", "text/html"),
        "451 then unreachable": RestAnswer(451, '{"code": 0, "msg": "restricted location"}'),
    }
    sleeps = Sleeps(limit=len(DOCUMENTED))
    with FakeBinance(m, [], rest_hook=lambda query, rows: answers[fault]) as fake:
        collector, _ = collector_for(
            url,
            fake,
            Clock(m[4].ts + 30),
            backoff=Backoff(),
            sleep=sleeps,
            api_fallback="http://127.0.0.1:9",  # nothing listens there
        )
        run_to_the_end(collector)
        assert sleeps.waits == DOCUMENTED
        assert len(fake.rest_queries) == (1 if fault.startswith("451") else len(DOCUMENTED))
        assert fake.connections == 0


def test_the_backoff_resets_only_after_a_backfill_succeeds(sample_minutes, tmp_path):
    """REST fails twice, then answers: the waits grow, then the stream opens, the backfill
    succeeds, and the next drop waits 1 s again. A stream that refuses while REST answers never
    resets it."""
    m = sample_minutes[:8]
    url = f"sqlite:///{tmp_path / 'market.db'}"
    failures = iter([RestAnswer(503, "{}")] * 2)
    sleeps = Sleeps(limit=4)
    sessions = [[running(m[4]), DROP], [running(m[4]), DROP]]
    with FakeBinance(m[:4], sessions, rest_hook=lambda q, rows: next(failures, rows)) as fake:
        collector, _ = collector_for(
            url, fake, Clock(m[4].ts + 30), backoff=Backoff(), sleep=sleeps
        )
        run_to_the_end(collector)
    assert sleeps.waits == [1.0, 2.0, 1.0, 1.0]
    sleeps = Sleeps(limit=4)
    with FakeBinance(m[:4], [], refuse_stream=503) as fake:
        collector, _ = collector_for(
            url, fake, Clock(m[4].ts + 30), backoff=Backoff(), sleep=sleeps
        )
        run_to_the_end(collector)
    assert sleeps.waits == [1.0, 2.0, 4.0, 8.0]


def test_a_server_that_keeps_refusing_connections_is_retried(tmp_path, sample_minutes):
    """Nothing listening: every attempt fails, each after a longer wait."""
    url = f"sqlite:///{tmp_path / 'market.db'}"

    class Nowhere:
        ws_url, api_url = "ws://127.0.0.1:9", "http://127.0.0.1:9"

    sleeps = Sleeps(limit=4)
    collector, _ = collector_for(
        url, Nowhere, Clock(sample_minutes[0].ts), backoff=Backoff(), sleep=sleeps
    )
    run_to_the_end(collector)
    assert sleeps.waits == [1.0, 2.0, 4.0, 8.0]


def test_a_malformed_rest_row_is_fetched_again_later(sample_minutes, tmp_path, caplog):
    """Issue 23, acceptance bar 5: the REST row of m[10] is malformed the first time it is
    served; the minutes after it are stored, and the next search for holes asks for m[10]
    again: no permanent hole. The exchange's own hole (m[3]) is asked for once."""
    m = sample_minutes[:40]
    url = f"sqlite:///{tmp_path / 'market.db'}"
    history = [bar for index, bar in enumerate(m[:30]) if index != 3]
    broken = []

    def break_m10_once(query, rows):
        if broken or not any(row[0] == m[10].ts * 1000 for row in rows):
            return rows
        broken.append(query)
        return [[*row[:4], "n/a", *row[5:]] if row[0] == m[10].ts * 1000 else row for row in rows]

    with FakeBinance(history, [[running(m[30])]], rest_hook=break_m10_once) as fake:
        collector, writer = collector_for(url, fake, Clock(m[30].ts + 30), repair_every=0.2)
        window = writer.window_start()
        whole = []

        def whole_for_a_second() -> bool:
            if len(stored(url)) == len(history):
                whole.append(time.monotonic())
            return bool(whole) and time.monotonic() - whole[0] > 1.0  # five more searches

        with caplog.at_level("WARNING"):
            run_until(collector, whole_for_a_second)
        queries = [
            (int(q["startTime"]) // 1000, (int(q["endTime"]) + 1) // 1000)
            for q in fake.rest_queries
        ]
    assert "skipped a malformed REST kline" in caplog.text
    assert [row[0] for row in stored(url)] == [bar.ts for bar in history]
    # The window; then the holes left (before m[0]; m[3], the exchange's own; m[10], malformed,
    # with m[3] in one request); after that clean answer, none is asked for again.
    assert queries == [(window, m[30].ts), (window, m[0].ts), (m[3].ts, m[11].ts)]
