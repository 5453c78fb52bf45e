"""The Alpaca fallback: alpaca-py's crypto stream against a local server speaking Alpaca's
msgpack protocol (connected, auth, subscription, `b` bar frames), and Alpaca's historical bars
(their recorded shape, from a local HTTP server) filling a gap."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import msgpack
import pandas as pd
import pytest
from websockets.asyncio.server import ServerConnection, serve

from cryptopredict.assets import configured_assets
from cryptopredict.collect import alpaca
from cryptopredict.collect.alpaca import (
    AlpacaCollector,
    HistoryClient,
    parse_bar,
    parse_history_bar,
)
from cryptopredict.collect.writer import MinuteWriter
from cryptopredict.config import CollectorSettings
from cryptopredict.exchanges.alpaca import BARS_PATH
from cryptopredict.exchanges.rest import MissingKeysError, RefusedError, UnavailableError
from cryptopredict.minutes.bars import MalformedBarError
from cryptopredict.minutes.store import MinuteStore
from tests.collect.running import run_until
from tests.data.http_shapes import alpaca_bars

BTC = configured_assets("btc-usd")[0]
KEYS = {"alpaca_api_key": "key-id", "alpaca_secret_key": "secret"}


def bar_frame(bar) -> dict:
    return {
        "T": "b",
        "S": "BTC/USD",
        "o": bar.open,
        "h": bar.high,
        "l": bar.low,
        "c": bar.close,
        "v": bar.volume,
        "t": msgpack.Timestamp.from_unix(bar.ts),
        "n": 12,
        "vw": bar.vwap,
    }


class FakeAlpaca:
    """Speaks the stream's handshake, then sends the scripted frames and stays open."""

    def __init__(self, frames: list[dict], auth_reply: dict | None = None) -> None:
        self.frames = frames
        self.auth_reply = auth_reply or {"T": "success", "msg": "authenticated"}
        self.received: list[dict] = []
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve)
        self._thread.daemon = True

    def _serve(self) -> None:
        # Like asyncio.run: what is left is cancelled and awaited, not destroyed pending later.
        with asyncio.Runner(loop_factory=lambda: self._loop) as runner:
            runner.run(self._main())

    async def _main(self) -> None:
        self._stop = self._loop.create_future()
        async with serve(self._session, "127.0.0.1", 0) as server:
            self.port = next(iter(server.sockets)).getsockname()[1]
            self._ready.set()
            await self._stop

    async def _session(self, socket: ServerConnection) -> None:
        await socket.send(msgpack.packb([{"T": "success", "msg": "connected"}]))
        self.received.append(msgpack.unpackb(await socket.recv()))
        await socket.send(msgpack.packb([self.auth_reply]))
        subscribe = msgpack.unpackb(await socket.recv())
        self.received.append(subscribe)
        await socket.send(msgpack.packb([{"T": "subscription", "bars": subscribe["bars"]}]))
        for frame in self.frames:
            await socket.send(msgpack.packb([frame], datetime=False))
        await socket.wait_closed()

    def __enter__(self) -> FakeAlpaca:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set_result, None)
        self._thread.join(10)


class FakeHistory:
    """Answers Alpaca's historical bars from a script: each request gets the next answer, a
    (status, JSON body, headers); records each request's query and headers."""

    def __init__(self, answers: list[tuple[int, object, dict]]) -> None:
        self.answers = list(answers)
        # Each request's path, query and headers (their names in lower case).
        self.requests: list[tuple[str, dict[str, list[str]], dict[str, str]]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                sent = {name.lower(): value for name, value in self.headers.items()}
                fake.requests.append((url.path, urllib.parse.parse_qs(url.query), sent))
                status, body, headers = fake.answers.pop(0)
                raw = json.dumps(body).encode()
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeHistory:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def history_page(bars, token: str | None = None) -> dict:
    """Alpaca's historical bars of `bars` (MinuteBars), in their recorded shape."""
    frame = pd.DataFrame(
        {
            "timestamp": [pd.Timestamp(bar.ts, unit="s", tz="UTC") for bar in bars],
            **{key: [getattr(bar, key) for bar in bars] for key in ("open", "high", "low")},
            "close": [bar.close for bar in bars],
            "volume": [bar.volume for bar in bars],
        }
    )
    return alpaca_bars(frame, token=token)


def test_alpaca_bars_are_stored_and_a_gap_is_filled_from_history(sample_minutes, tmp_path):
    m = sample_minutes[:8]
    url = f"sqlite:///{tmp_path / 'market.db'}"
    store = MinuteStore.open(url)
    store.write(m[:2])
    broken = {**bar_frame(m[5]), "h": "lots"}
    frames = [bar_frame(m[2]), broken, bar_frame(m[5]), bar_frame(m[2]), bar_frame(m[6])]
    writer = MinuteWriter(store, 30, clock=lambda: m[7].ts)
    # The gap m[3]..m[4] comes from Alpaca's historical bars.
    with FakeAlpaca(frames) as fake, FakeHistory([(200, history_page(m[3:5]), {})]) as history:
        settings = CollectorSettings(database_url=url, **KEYS)
        collector = AlpacaCollector(
            [BTC], writer, settings, url=f"ws://127.0.0.1:{fake.port}", history_url=history.url
        )
        run_until(collector, lambda: writer.newest("btc-usd") == m[6].ts)
        auth, subscribe = fake.received
    assert auth == {"action": "auth", "key": "key-id", "secret": "secret"}
    assert subscribe["bars"] == ["BTC/USD"]
    rows = store.bars("btc-usd", 0, 2**40)
    assert [row[0] for row in rows] == [bar.ts for bar in m[:7]]
    assert [row[4] for row in rows] == [bar.close for bar in m[:7]]
    sources = store._db.execute("SELECT source FROM minute_bars ORDER BY ts").fetchall()
    assert [row[0] for row in sources] == ["replay"] * 2 + ["alpaca"] * 5
    ((path, query, headers),) = history.requests
    assert path == BARS_PATH
    assert query == {
        "symbols": ["BTC/USD"],
        "timeframe": ["1Min"],
        "start": [stamp_seconds(m[3].ts)],  # the minute after the newest stored, m[2]
        "end": [stamp_seconds(m[5].ts - 1)],
        "limit": ["10000"],
        "sort": ["asc"],
    }
    assert (headers["apca-api-key-id"], headers["apca-api-secret-key"]) == ("key-id", "secret")
    store.close()


def stamp_seconds(epoch: int) -> str:
    return pd.Timestamp(epoch, unit="s", tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def test_the_history_follows_pages_and_skips_what_it_cannot_store(sample_minutes, caplog):
    m = sample_minutes[:6]
    first = history_page(m[:3], token="next-page")
    first["bars"]["BTC/USD"][1]["h"] = "lots"  # malformed: skipped and logged
    outside = history_page([m[5]])  # past the range asked for: skipped
    second = history_page(m[3:5])
    second["bars"]["BTC/USD"] += outside["bars"]["BTC/USD"]
    with FakeHistory([(200, first, {}), (200, second, {})]) as history:
        client = HistoryClient(("key-id", "secret"), 5.0, 1, history.url)
        bars = client.minutes(BTC, m[0].ts, m[5].ts)
    assert [bar.ts for bar in bars] == [m[0].ts, m[2].ts, m[3].ts, m[4].ts]
    assert [bar.close for bar in bars] == [m[0].close, m[2].close, m[3].close, m[4].close]
    assert all(bar.source == "alpaca" for bar in bars)
    assert "page_token" not in history.requests[0][1]
    assert history.requests[1][1]["page_token"] == ["next-page"]
    assert "skipped a malformed historical bar" in caplog.text


def test_the_history_tries_again_on_503_and_names_a_refusal():
    waits: list[float] = []
    answers = [(503, {"message": "busy"}, {"Retry-After": "7"}), (200, {"bars": {}}, {})]
    with FakeHistory(answers) as history:
        client = HistoryClient(("k", "s"), 5.0, 3, history.url, sleep=waits.append)
        assert client.minutes(BTC, 0, 600) == []
    assert waits == [7.0]
    with FakeHistory([(503, {}, {"Retry-After": "3600"})] * 2) as history:
        client = HistoryClient(("k", "s"), 5.0, 2, history.url, sleep=waits.append)
        with pytest.raises(UnavailableError, match="HTTP 503"):
            client.minutes(BTC, 0, 600)
    assert waits == [7.0, 30.0]  # Retry-After, at most 30 s
    with FakeHistory([(403, {"message": "forbidden"}, {})]) as history:
        client = HistoryClient(("k", "s"), 5.0, 3, history.url, sleep=waits.append)
        with pytest.raises(RefusedError, match=r"HTTP 403 .*forbidden"):
            client.minutes(BTC, 0, 600)
    assert waits == [7.0, 30.0]  # a refusal is not tried again
    with FakeHistory([(200, {"bars": ["not", "a", "map"]}, {})]) as history:
        client = HistoryClient(("k", "s"), 5.0, 1, history.url)
        with pytest.raises(UnavailableError, match="no bar list"):
            client.minutes(BTC, 0, 600)


def test_a_historical_bar_without_a_whole_minute_or_an_offset_is_malformed(sample_minutes):
    (row,) = history_page(sample_minutes[:1])["bars"]["BTC/USD"]
    assert parse_history_bar(row, BTC).ts == sample_minutes[0].ts
    with pytest.raises(MalformedBarError, match="not a whole minute"):
        parse_history_bar({**row, "t": row["t"].replace(":00Z", ":30Z")}, BTC)
    with pytest.raises(MalformedBarError, match="no offset"):
        parse_history_bar({**row, "t": row["t"].rstrip("Z")}, BTC)
    with pytest.raises(MalformedBarError, match="KeyError"):
        parse_history_bar({key: value for key, value in row.items() if key != "c"}, BTC)


def test_the_fallback_needs_keys(tmp_path):
    writer = MinuteWriter(MinuteStore.open(f"sqlite:///{tmp_path / 'm.db'}"), 30)
    with pytest.raises(MissingKeysError, match="ALPACA_API_KEY and ALPACA_SECRET_KEY"):
        AlpacaCollector([BTC], writer, CollectorSettings())


def test_alpaca_bars_parse_and_malformed_ones_say_why(sample_minutes):
    bar = sample_minutes[0]
    parsed = parse_bar(bar_frame(bar), {"BTC/USD": BTC})
    assert (parsed.ts, parsed.close, parsed.vwap, parsed.source) == (
        bar.ts,
        bar.close,
        bar.vwap,
        "alpaca",
    )
    with pytest.raises(MalformedBarError, match="KeyError"):
        parse_bar({**bar_frame(bar), "S": "DOGE/USD"}, {"BTC/USD": BTC})
    with pytest.raises(MalformedBarError, match="whole minute"):
        parse_bar({**bar_frame(bar), "t": msgpack.Timestamp(bar.ts + 30, 0)}, {"BTC/USD": BTC})


def test_a_stream_thread_that_ends_is_noticed(tmp_path, monkeypatch):
    """alpaca-py's thread gives up for good on some refusals ("insufficient subscription"):
    the collector notices its silence, and raises for the supervisor to try again later."""
    monkeypatch.setattr(alpaca, "QUIET_SECONDS", 0.2)
    writer = MinuteWriter(MinuteStore.open(f"sqlite:///{tmp_path / 'm.db'}"), 30)
    refusal = {"T": "error", "code": 409, "msg": "insufficient subscription"}
    with FakeAlpaca([], auth_reply=refusal) as fake:
        settings = CollectorSettings(**KEYS)
        collector = AlpacaCollector([BTC], writer, settings, url=f"ws://127.0.0.1:{fake.port}")
        with pytest.raises(UnavailableError, match="its thread stopped"):
            asyncio.run(asyncio.wait_for(collector.run(), 30))
    writer.store.close()
