"""A local websocket server and REST server speaking Binance's kline shapes, on 127.0.0.1.

Kline events are shaped as Binance's combined stream sends them
(`{"stream": "btcusdt@kline_1m", "data": {"e": "kline", ..., "k": {...}}}`), REST klines as
`/api/v3/klines` answers (arrays of twelve fields, decimals as strings), both built from real
minute bars. Each websocket connection plays the next scripted session: its messages in order,
then either an abrupt drop (DROP: the TCP connection is cut, no close frame) or silence until
the test ends.
"""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request, Response

from cryptopredict.assets import ASSETS
from cryptopredict.collect.bars import MINUTE, MinuteBar

DROP = object()


def _decimal(value: float) -> str:
    return f"{value:.8f}"


def quote_volume(bar: MinuteBar) -> float:
    return bar.volume * bar.vwap


def symbol_of(bar: MinuteBar) -> str:
    return ASSETS[bar.asset].binance_symbol


def kline_event(bar: MinuteBar, *, closed: bool, **changes: Any) -> str:
    """A combined-stream kline message for `bar`; `changes` overrides kline fields (e.g. a
    running minute's partial close and volume)."""
    symbol = symbol_of(bar)
    open_ms = bar.ts * 1000
    kline = {
        "t": open_ms,
        "T": open_ms + MINUTE * 1000 - 1,
        "s": symbol,
        "i": "1m",
        "f": 100,
        "L": 200,
        "o": _decimal(bar.open),
        "c": _decimal(bar.close),
        "h": _decimal(bar.high),
        "l": _decimal(bar.low),
        "v": _decimal(bar.volume),
        "n": 101,
        "x": closed,
        "q": _decimal(quote_volume(bar)),
        "V": _decimal(bar.volume / 2),
        "Q": _decimal(quote_volume(bar) / 2),
        "B": "0",
        **changes,
    }
    event_ms = open_ms + (MINUTE * 1000 - 1 if closed else 30_000)
    data = {"e": "kline", "E": event_ms, "s": symbol, "k": kline}
    return json.dumps({"stream": f"{symbol.lower()}@kline_1m", "data": data})


def rest_kline(bar: MinuteBar) -> list:
    open_ms = bar.ts * 1000
    return [
        open_ms,
        _decimal(bar.open),
        _decimal(bar.high),
        _decimal(bar.low),
        _decimal(bar.close),
        _decimal(bar.volume),
        open_ms + MINUTE * 1000 - 1,
        _decimal(quote_volume(bar)),
        101,
        _decimal(bar.volume / 2),
        _decimal(quote_volume(bar) / 2),
        "0",
    ]


class FakeBinance:
    def __init__(
        self,
        history: list[MinuteBar],
        sessions: list[list[Any]],
        *,
        refuse: int | None = None,
    ) -> None:
        self.history = sorted(history, key=lambda bar: bar.ts)
        self.sessions = list(sessions)
        self.refuse = refuse  # answer every request and handshake with this HTTP status
        self.rest_queries: list[dict[str, str]] = []
        self.stream_paths: list[str] = []
        self.connections = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Future[None] | None = None
        self._thread = threading.Thread(target=self._serve_ws, daemon=True)
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._http_thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        self.ws_port = 0

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.ws_port}"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}"

    def __enter__(self) -> FakeBinance:
        self._thread.start()
        self._http_thread.start()
        assert self._ready.wait(10), "the websocket server did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._stop_serving)
        self._thread.join(10)
        self._http.shutdown()
        self._http.server_close()

    def _stop_serving(self) -> None:
        if self._stop is not None and not self._stop.done():
            self._stop.set_result(None)

    def _serve_ws(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._main())

    async def _main(self) -> None:
        self._stop = self._loop.create_future()
        async with serve(self._session, "127.0.0.1", 0, process_request=self._gate) as server:
            self.ws_port = next(iter(server.sockets)).getsockname()[1]
            self._ready.set()
            await self._stop

    def _gate(self, connection: ServerConnection, request: Request) -> Response | None:
        self.stream_paths.append(request.path)
        if self.refuse is not None:
            return connection.respond(self.refuse, "refused\n")
        return None

    async def _session(self, socket: ServerConnection) -> None:
        self.connections += 1
        script = self.sessions.pop(0) if self.sessions else []
        for message in script:
            if message is DROP:
                socket.transport.abort()
                return
            await socket.send(message)
            await asyncio.sleep(0.01)
        await socket.wait_closed()

    def _klines(self, query: dict[str, str]) -> list[list]:
        start = int(query.get("startTime", 0)) // 1000
        end = int(query.get("endTime", 2**62)) // 1000
        limit = int(query.get("limit", 500))
        chosen = [
            bar
            for bar in self.history
            if symbol_of(bar) == query["symbol"] and start <= bar.ts <= end
        ]
        return [rest_kline(bar) for bar in chosen[:limit]]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                fake.rest_queries.append(query)
                if fake.refuse is not None:
                    self._answer(
                        fake.refuse,
                        {"code": 0, "msg": "Service unavailable from a restricted location"},
                    )
                elif url.path != "/api/v3/klines":
                    self._answer(404, {"code": -1, "msg": "not found"})
                else:
                    self._answer(200, fake._klines(query))

            def _answer(self, status: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                return

        return Handler
