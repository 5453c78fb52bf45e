"""The market feed against local servers speaking Binance's and Alpaca's REST shapes, on a clock
the test moves (the exchanges' present and the feed's agree): what lands in the database is
checked against what the exchanges hold; how a round fails is what `/healthz` reads."""

from __future__ import annotations

import dataclasses
import sqlite3

import pytest

from cryptopredict.assets import asset_for_symbol
from cryptopredict.collect.cli import polled
from cryptopredict.collect.exchanges import (
    ALPACA_URL,
    Alpaca,
    UnavailableError,
    parse_bar,
    parse_kline,
)
from cryptopredict.collect.feed import SETTLE
from cryptopredict.config import CollectorSettings
from cryptopredict.minutes.bars import MINUTE, FeedStatus, MalformedBarError, Quote
from cryptopredict.minutes.store import MinuteStore
from cryptopredict.utc import iso_utc
from tests.collect.fake_alpaca import FakeAlpaca, alpaca_bar
from tests.collect.fake_binance import FakeBinance, RestAnswer, rest_kline
from tests.collect.helpers import (
    BTC,
    ETH,
    Clock,
    binance,
    feed_for,
    ohlcv,
    shifted_to,
    stored,
)

WINDOW = 30 * 86_400


def quotes(url: str) -> list[Quote]:
    with MinuteStore.open(url, create=False) as store:
        return sorted(store.quotes(), key=lambda quote: quote.asset)


def status(url: str) -> FeedStatus | None:
    with MinuteStore.open(url, create=False) as store:
        return store.status()


def test_the_first_round_backfills_the_window_and_each_later_one_the_minute_that_closed(
    database_url, sample_minutes
):
    m = sample_minutes[:102]
    clock = Clock(m[99].ts + MINUTE + SETTLE)  # m[0] .. m[99] have closed
    with FakeBinance(m, clock=clock) as fake:
        feed = feed_for(database_url, clock, [binance(fake)])
        delay = feed.round()
        assert [row[:6] for row in stored(database_url)] == ohlcv(m[:100])
        assert quotes(database_url) == [Quote("btc-usd", "binance", int(clock()), m[99].close)]
        clock.now += MINUTE
        feed.round()
        asked = fake.klines_asked()
    rows = stored(database_url)
    assert [row[:6] for row in rows] == ohlcv(m[:101])
    for row, bar in zip(rows, m, strict=False):
        assert row[6] == pytest.approx(bar.vwap, rel=1e-9)
    # The whole retention on the empty database, then from the newest stored minute on.
    starts = [int(query["startTime"]) // 1000 for query in asked]
    assert starts == [(int(clock()) - MINUTE - WINDOW) // MINUTE * MINUTE, m[100].ts]
    assert delay == pytest.approx(MINUTE)  # two seconds after the next minute closes
    assert status(database_url) == FeedStatus(("binance",), last_success=int(clock()))


def test_a_long_backfill_pages_1000_minutes_at_a_time(all_sample_minutes, tmp_path):
    m = all_sample_minutes[:2500]
    url = f"sqlite:///{tmp_path / 'market.db'}"
    clock = Clock(m[-1].ts + MINUTE + SETTLE)
    with FakeBinance(m, clock=clock) as fake:
        feed_for(url, clock, [binance(fake)]).round()
        pages = [int(query["startTime"]) // 1000 for query in fake.klines_asked()]
    assert pages[1:] == [m[1000].ts, m[2000].ts]
    assert len(stored(url)) == 2500


def test_a_hole_the_exchange_lacks_is_asked_once_and_a_malformed_row_until_it_comes(
    sample_minutes, tmp_path, caplog
):
    m = shifted_to(sample_minutes[:20], sample_minutes[19].ts)
    url = f"sqlite:///{tmp_path / 'market.db'}"
    clock = Clock(m[17].ts + MINUTE + SETTLE)
    broken = {"times": 0}

    def hook(query, rows):  # m[10]'s row is malformed the first time it is sent
        for index, row in enumerate(rows):
            if row[0] == m[10].ts * 1000 and not broken["times"]:
                broken["times"] += 1
                rows[index] = [*row[:4], "-1", *row[5:]]
        return rows

    lacking = [bar for index, bar in enumerate(m) if index != 5]  # an outage at the exchange
    with FakeBinance(lacking, clock=clock, rest_hook=hook) as fake:
        feed = feed_for(url, clock, [binance(fake)])
        with caplog.at_level("WARNING"):
            feed.round()
        assert "skipped a malformed kline" in caplog.text
        assert [row[0] for row in stored(url)] == [bar.ts for bar in lacking[:17] if bar != m[10]]
        for _ in range(2):
            clock.now += MINUTE
            feed.round()
        starts = [int(query["startTime"]) // 1000 for query in fake.klines_asked()]
    assert [row[0] for row in stored(url)] == [bar.ts for bar in lacking]
    # After the malformed row every hole again (m[5] and m[10] in one request, and the window's
    # start, which the exchange lacks too); after the clean answer only the minute that closed.
    assert starts[1] < m[0].ts
    assert starts[2:] == [m[5].ts, m[19].ts]


def test_where_binance_refuses_the_feed_moves_to_alpaca(sample_minutes, tmp_path, caplog):
    """HTTP 451 on Binance's market-data host: Alpaca's bars and latest bar, without keys, from
    then on; Alpaca's quiet minutes (no trade, no bar) are its own holes, not asked again."""
    m = [dataclasses.replace(bar, source="alpaca") for bar in sample_minutes[:30]]
    quiet = [bar for index, bar in enumerate(m) if index % 7 != 3]
    url = f"sqlite:///{tmp_path / 'market.db'}"
    clock = Clock(m[27].ts + MINUTE + SETTLE)
    with (
        FakeBinance(m, clock=clock, refuse=451) as refusing,
        FakeAlpaca(quiet, clock=clock) as alpaca,
    ):
        feed = feed_for(url, clock, [binance(refusing), Alpaca(alpaca.url, timeout=5)])
        with caplog.at_level("ERROR"):
            feed.round()
        clock.now += MINUTE
        feed.round()
        asked = [(path.split("/us/")[1], query.get("start")) for path, query, _ in alpaca.requests]
        sent_keys = [headers for _, _, headers in alpaca.requests if "APCA-API-KEY-ID" in headers]
        binance_asked = len(refusing.requests)
    assert [row[:6] for row in stored(url)] == ohlcv([bar for bar in quiet if bar.ts <= m[28].ts])
    assert "binance refused: HTTP 451" in caplog.text
    assert "moving to alpaca" in caplog.text
    assert binance_asked == 1  # its ticker, once
    # Prices, then the window; a minute later prices, then only the minute that closed.
    assert asked == [
        ("latest/bars", None),
        asked[1],
        ("latest/bars", None),
        ("bars", iso_utc(m[28].ts)),
    ]
    assert asked[1][0] == "bars"
    assert sent_keys == []
    assert quotes(url) == [Quote("btc-usd", "alpaca", m[29].ts, m[28].close)]


def test_when_every_exchange_refuses_the_round_fails_and_says_so(sample_minutes, tmp_path):
    m = sample_minutes[:5]
    url = f"sqlite:///{tmp_path / 'market.db'}"
    clock = Clock(m[-1].ts + MINUTE)
    with (
        FakeBinance(m, clock=clock, refuse=403) as one,
        FakeBinance(m, clock=clock, refuse=451) as two,
    ):
        feed = feed_for(url, clock, [binance(one), binance(two)])
        delays = [feed.round(), feed.round()]
    said = status(url)
    assert delays == [0.05, 0.1]  # the backoff
    assert said.failing_since == said.last_error_at == int(clock())
    assert said.last_success is None
    assert said.last_error.startswith("binance refused: HTTP 451")


class Leaking:
    """An exchange whose every failure quotes secrets, as a library's exception text can."""

    name = "binance"
    said = "https://me:s3cret@host/x?key=s3cret {'APCA-API-SECRET-KEY': 's3cret'} password=s3cret"

    def prices(self, assets, now):
        raise UnavailableError(self.said)

    def minutes(self, asset, start, end):
        raise ValueError(self.said)


def test_no_secret_in_a_failure_reaches_the_status_row(tmp_path):
    """Issue 95: the row `/healthz` publishes (`last_error`, `reasons`) holds no secret."""
    url = f"sqlite:///{tmp_path / 'market.db'}"
    feed_for(url, Clock(1_800_000_000), [Leaking()]).round()
    said = status(url).last_error
    assert said.startswith("https://me:***@host/x?key=***")
    assert "s3cret" not in said


def test_a_failing_exchange_is_polled_again_after_its_retry_after_then_the_backoff(
    sample_minutes, tmp_path
):
    m = sample_minutes[:5]
    url = f"sqlite:///{tmp_path / 'market.db'}"
    clock = Clock(m[-1].ts + MINUTE + SETTLE)
    answers = [
        RestAnswer(503, '{"code": -1001}', headers=(("Retry-After", "7"),)),
        RestAnswer(200, "<html>Bad Gateway</html>", "text/html"),
    ]
    with FakeBinance(
        m, clock=clock, rest_hook=lambda q, rows: answers.pop(0) if answers else rows
    ) as fake:
        feed = feed_for(url, clock, [binance(fake)])
        delays = [feed.round()]
        failed = status(url)
        clock.now += 10
        delays.append(feed.round())
        clock.now += 10
        delays.append(feed.round())
    assert delays[:2] == [7.0, 0.1]
    assert failed.last_error == f"HTTP 503 from {fake.url.removeprefix('http://')}"
    assert failed.failing_since == int(clock()) - 20
    healed = status(url)
    assert healed.failing_since is None
    assert healed.last_success == int(clock())
    assert (healed.last_error, healed.last_error_at) == (None, failed.last_error_at + 10)
    assert len(stored(url)) == 5


def test_every_priced_pair_s_latest_price_comes_in_one_request(sample_minutes, tmp_path):
    btc = sample_minutes[:3]
    eth = [dataclasses.replace(bar, asset="eth-usd") for bar in btc]
    url = f"sqlite:///{tmp_path / 'market.db'}"
    clock = Clock(btc[-1].ts + MINUTE + SETTLE)
    priced = [BTC, ETH, asset_for_symbol("sol-usd")]  # not listed: no price
    with FakeBinance(btc + eth, clock=clock) as fake:
        feed_for(url, clock, [binance(fake)], priced=lambda: priced).round()
        tickers = [path for path, _ in fake.requests if path.endswith("/ticker/price")]
    at = int(clock())
    assert quotes(url) == [
        Quote("btc-usd", "binance", at, btc[-1].close),
        Quote("eth-usd", "binance", at, eth[-1].close),
    ]
    assert len(tickers) == 1


def test_a_locked_database_fails_the_round_and_the_next_stores_everything(sample_minutes, tmp_path):
    m = sample_minutes[:30]
    path = tmp_path / "market.db"
    url = f"sqlite:///{path}"
    clock = Clock(m[19].ts + MINUTE + SETTLE)
    with FakeBinance(m, clock=clock) as fake:
        feed = feed_for(url, clock, [binance(fake)], timeout=0.2)
        feed.round()
        locker = sqlite3.connect(path, isolation_level=None)
        locker.execute("BEGIN EXCLUSIVE")
        clock.now += 5 * MINUTE
        feed.round()
        failed = feed.status
        locker.execute("ROLLBACK")
        locker.close()
        feed.round()
    assert "database is locked" in failed.last_error
    assert [row[:6] for row in stored(url)] == ohlcv(m[:25])
    assert status(url).failing_since is None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda row: [*row[:2], "1", *row[3:]], "low"),  # high below the open
        (lambda row: [row[0] + 1, *row[1:]], "whole minute"),
        (lambda row: [*row[:4], 68000.5, *row[5:]], "decimal string"),
        (lambda row: row[:5], "not a kline"),
    ],
)
def test_a_malformed_kline_says_why(sample_minutes, change, reason):
    with pytest.raises(MalformedBarError, match=reason):
        parse_kline(
            change(rest_kline(dataclasses.replace(sample_minutes[0], source="binance"))), BTC
        )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"t": "2026-02-01T00:00:30Z"}, "whole minute"),
        ({"t": "2026-02-01T00:00:00"}, "no offset"),
        ({"h": "lots"}, "ValueError"),
        ({"c": None}, "TypeError"),
    ],
)
def test_a_malformed_alpaca_bar_says_why(sample_minutes, change, reason):
    with pytest.raises(MalformedBarError, match=reason):
        parse_bar({**alpaca_bar(sample_minutes[0]), **change}, BTC)


def test_latest_prices_names_the_exchanges_in_order_each_with_its_url_or_the_default():
    keys = {"alpaca_api_key": "id", "alpaca_secret_key": "secret"}
    settings = CollectorSettings(latest_prices="Binance=http://127.0.0.1:9, alpaca", **keys)
    binance, alpaca = polled(settings)
    assert (binance.name, binance.url) == ("binance", "http://127.0.0.1:9")
    assert (alpaca.name, alpaca.url) == ("alpaca", ALPACA_URL)
    assert alpaca.headers == {"APCA-API-KEY-ID": "id", "APCA-API-SECRET-KEY": "secret"}
    assert [exchange.name for exchange in polled(CollectorSettings())] == ["binance", "alpaca"]
