"""The Alpaca fallback: alpaca-py's crypto stream against a local server speaking Alpaca's
msgpack protocol (connected, auth, subscription, `b` bar frames), and Alpaca's historical bars
(recorded shape, through `responses`) filling a gap."""

from __future__ import annotations

import asyncio
import threading

import msgpack
import pandas as pd
import pytest
import responses
from websockets.asyncio.server import ServerConnection, serve

from cryptopredict.assets import ASSETS
from cryptopredict.collect import alpaca
from cryptopredict.collect.alpaca import AlpacaCollector, MissingKeysError, parse_bar
from cryptopredict.collect.bars import MalformedBarError
from cryptopredict.collect.errors import UnavailableError
from cryptopredict.collect.store import MinuteStore
from cryptopredict.collect.writer import MinuteWriter
from cryptopredict.config import Settings
from tests.collect.running import run_until
from tests.data.http_shapes import ALPACA_BARS_URL, alpaca_bars

BTC = ASSETS["btc-usd"]
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


@responses.activate
def test_alpaca_bars_are_stored_and_a_gap_is_filled_from_history(sample_minutes, tmp_path):
    m = sample_minutes[:8]
    url = f"sqlite:///{tmp_path / 'market.db'}"
    store = MinuteStore.open(url)
    store.write(m[:2])
    # The gap m[3]..m[4] comes from Alpaca's historical bars, in their recorded shape.
    gap = pd.DataFrame(
        {
            "timestamp": [pd.Timestamp(bar.ts, unit="s", tz="UTC") for bar in m[3:5]],
            **{key: [getattr(bar, key) for bar in m[3:5]] for key in ("open", "high", "low")},
            "close": [bar.close for bar in m[3:5]],
            "volume": [bar.volume for bar in m[3:5]],
        }
    )
    responses.get(ALPACA_BARS_URL, json=alpaca_bars(gap))
    broken = {**bar_frame(m[5]), "h": "lots"}
    frames = [bar_frame(m[2]), broken, bar_frame(m[5]), bar_frame(m[2]), bar_frame(m[6])]
    writer = MinuteWriter(store, 30, clock=lambda: m[7].ts)
    with FakeAlpaca(frames) as fake:
        settings = Settings(database_url=url, **KEYS)
        collector = AlpacaCollector([BTC], writer, settings, url=f"ws://127.0.0.1:{fake.port}")
        run_until(collector, lambda: writer.newest("btc-usd") == m[6].ts)
        auth, subscribe = fake.received
    assert auth == {"action": "auth", "key": "key-id", "secret": "secret"}
    assert subscribe["bars"] == ["BTC/USD"]
    rows = store.bars("btc-usd", 0, 2**40)
    assert [row[0] for row in rows] == [bar.ts for bar in m[:7]]
    assert [row[4] for row in rows] == [bar.close for bar in m[:7]]
    sources = store._db.execute("SELECT source FROM minute_bars ORDER BY ts").fetchall()
    assert [row[0] for row in sources] == ["replay"] * 2 + ["alpaca"] * 5
    (request,) = responses.calls
    assert "start=" in request.request.url
    store.close()


def test_the_fallback_needs_keys(tmp_path):
    writer = MinuteWriter(MinuteStore.open(f"sqlite:///{tmp_path / 'm.db'}"), 30)
    with pytest.raises(MissingKeysError, match="ALPACA_API_KEY and ALPACA_SECRET_KEY"):
        AlpacaCollector([BTC], writer, Settings())


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
        settings = Settings(**KEYS)
        collector = AlpacaCollector([BTC], writer, settings, url=f"ws://127.0.0.1:{fake.port}")
        with pytest.raises(UnavailableError, match="its thread stopped"):
            asyncio.run(asyncio.wait_for(collector.run(), 30))
    writer.store.close()
