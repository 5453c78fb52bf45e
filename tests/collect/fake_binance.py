"""A local websocket server and REST server speaking Binance's kline shapes, on 127.0.0.1.

Kline events are shaped as Binance's combined stream sends them
(`{"stream": "btcusdt@kline_1m", "data": {"e": "kline", ..., "k": {...}}}`), REST klines as
`/api/v3/klines` answers (arrays of twelve fields, decimals as strings), both built from real
minute bars. Each websocket connection plays the next scripted session: its messages in order,
then either an abrupt drop (DROP: the TCP connection is cut, no close frame) or silence until
the test ends. A session's items are messages (text), DROP, pauses (a number of seconds) or
callables that return the message when its turn comes (to publish a minute to REST as it is
streamed, say). Once the scripted sessions are used up, connections share one `tail`: each new
one carries on where the last one stopped, as an exchange's present does.

`rest_hook(query, rows)` may replace a REST answer: return `RestAnswer` (a status, a body) or
other rows; `events` records REST requests and stream connections in the order they came.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request, Response

from cryptopredict.assets import configured_assets
from cryptopredict.minutes.bars import MINUTE, MinuteBar
from tests.loopback import POLL

DROP = object()


@dataclass(frozen=True)
class RestAnswer:
    status: int
    body: str
    content_type: str = "application/json"


def _decimal(value: float) -> str:
    return f"{value:.8f}"


def quote_volume(bar: MinuteBar) -> float:
    return bar.volume * bar.vwap


def symbol_of(bar: MinuteBar) -> str:
    return configured_assets(bar.asset)[0].binance_symbol


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
        refuse_stream: int | None = None,
        tail: Iterable[Any] = (),
        rest_hook: Callable[[dict[str, str], list[list]], RestAnswer | list[list]] | None = None,
    ) -> None:
        self.history = sorted(history, key=lambda bar: bar.ts)
        self.sessions = list(sessions)
        self.refuse = refuse  # answer every request and handshake with this HTTP status
        self.refuse_stream = refuse_stream  # the same, for the stream's handshakes only
        self.tail: Iterator[Any] = iter(tail)
        self.rest_hook = rest_hook
        self.rest_queries: list[dict[str, str]] = []
        self.rest_times: list[float] = []  # time.monotonic() of each REST request
        self.stream_paths: list[str] = []
        self.events: list[tuple[str, str]] = []  # ("rest", symbol) and ("stream", path)
        self.connections = 0
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Future[None] | None = None
        self._thread = threading.Thread(target=self._serve_ws, daemon=True)
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._http_thread = threading.Thread(
            target=self._http.serve_forever, kwargs=POLL, daemon=True
        )
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
        # asyncio.run ends by cancelling and awaiting what is left (a handshake in progress
        # when the test ends, say), so no task is left to be destroyed pending later.
        with asyncio.Runner(loop_factory=lambda: self._loop) as runner:
            runner.run(self._main())

    async def _main(self) -> None:
        self._stop = self._loop.create_future()
        async with serve(self._session, "127.0.0.1", 0, process_request=self._gate) as server:
            self.ws_port = next(iter(server.sockets)).getsockname()[1]
            self._ready.set()
            await self._stop

    def publish(self, bars: Iterable[MinuteBar]) -> None:
        """Add minutes to what REST serves (they have happened)."""
        with self._lock:
            self.history = sorted([*self.history, *bars], key=lambda bar: bar.ts)

    def published(self, *bars: MinuteBar) -> Callable[[], None]:
        """A script step: these minutes reach REST."""
        return lambda: self.publish(bars)

    def closing(self, bar: MinuteBar, **changes: Any) -> Callable[[], str]:
        """A script step: `bar`'s minute closes, so REST has it, and the stream says so."""

        def step() -> str:
            self.publish([bar])
            return kline_event(bar, closed=True, **changes)

        return step

    def _gate(self, connection: ServerConnection, request: Request) -> Response | None:
        self.stream_paths.append(request.path)
        self.events.append(("stream", request.path))
        refuse = self.refuse if self.refuse is not None else self.refuse_stream
        if refuse is not None:
            return connection.respond(refuse, "refused\n")
        return None

    async def _session(self, socket: ServerConnection) -> None:
        self.connections += 1
        script = iter(self.sessions.pop(0)) if self.sessions else self.tail
        for item in script:
            if item is DROP:
                socket.transport.abort()
                return
            if isinstance(item, int | float):
                await asyncio.sleep(item)
                continue
            message = item() if callable(item) else item
            if message is not None:  # a step that only acts (publishes, moves a clock)
                await socket.send(message)
            await asyncio.sleep(0.01)
        await socket.wait_closed()

    def _klines(self, query: dict[str, str]) -> list[list]:
        start = int(query.get("startTime", 0)) // 1000
        end = int(query.get("endTime", 2**62)) // 1000
        limit = int(query.get("limit", 500))
        with self._lock:
            history = self.history
        chosen = [
            bar for bar in history if symbol_of(bar) == query["symbol"] and start <= bar.ts <= end
        ]
        return [rest_kline(bar) for bar in chosen[:limit]]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                fake.rest_queries.append(query)
                fake.rest_times.append(time.monotonic())
                fake.events.append(("rest", query.get("symbol", "")))
                if fake.refuse is not None:
                    self._answer(
                        fake.refuse,
                        {"code": 0, "msg": "Service unavailable from a restricted location"},
                    )
                elif url.path != "/api/v3/klines":
                    self._answer(404, {"code": -1, "msg": "not found"})
                else:
                    rows = fake._klines(query)
                    answer = rows if fake.rest_hook is None else fake.rest_hook(query, rows)
                    if isinstance(answer, RestAnswer):
                        self._answer(answer.status, answer.body, answer.content_type)
                    else:
                        self._answer(200, answer)

            def _answer(
                self, status: int, body: object, content_type: str = "application/json"
            ) -> None:
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                return

        return Handler
