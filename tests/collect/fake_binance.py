"""A local server speaking Binance's public REST market data, on 127.0.0.1: `/api/v3/klines`
(arrays of twelve fields, decimals as strings) and `/api/v3/ticker/price`, built from real minute
bars. It serves the minutes that have closed by its clock (the exchange's present; the test's
own clock, or the real one), and each symbol's last price is the close of its newest one.

`rest_hook(query, rows)` may replace a klines answer: return `RestAnswer` (a status, a body) or
other rows; `refuse` answers every request with that status; `requests` records each one's
path and query.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler

from cryptopredict.assets import asset_for_symbol
from cryptopredict.minutes.bars import MINUTE, MinuteBar
from tests.loopback import Loopback, reply


@dataclass(frozen=True)
class RestAnswer:
    status: int
    body: str
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()


def _decimal(value: float) -> str:
    return f"{value:.8f}"


def symbol_of(bar: MinuteBar) -> str:
    return asset_for_symbol(bar.asset).binance_symbol


def rest_kline(bar: MinuteBar) -> list:
    open_ms = bar.ts * 1000
    quote = bar.volume * bar.vwap
    return [
        open_ms,
        _decimal(bar.open),
        _decimal(bar.high),
        _decimal(bar.low),
        _decimal(bar.close),
        _decimal(bar.volume),
        open_ms + MINUTE * 1000 - 1,
        _decimal(quote),
        101,
        _decimal(bar.volume / 2),
        _decimal(quote / 2),
        "0",
    ]


class FakeBinance(Loopback):
    def __init__(
        self,
        history: Iterable[MinuteBar],
        *,
        clock: Callable[[], float] = time.time,
        refuse: int | None = None,
        rest_hook: Callable[[dict[str, str], list[list]], RestAnswer | list[list]] | None = None,
    ) -> None:
        self.history = sorted(history, key=lambda bar: bar.ts)
        self.clock = clock
        self.refuse = refuse
        self.rest_hook = rest_hook
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._lock = threading.Lock()
        super().__init__(self._handler())

    def publish(self, bars: Iterable[MinuteBar]) -> None:
        with self._lock:
            self.history = sorted([*self.history, *bars], key=lambda bar: bar.ts)

    def klines_asked(self) -> list[dict[str, str]]:
        return [query for path, query in self.requests if path.endswith("/klines")]

    def closed(self) -> list[MinuteBar]:
        """The minutes closed by the exchange's clock."""
        now = self.clock()
        with self._lock:
            return [bar for bar in self.history if bar.ts + MINUTE <= now]

    def _klines(self, query: dict[str, str]) -> list[list]:
        start = int(query.get("startTime", 0)) // 1000
        end = int(query.get("endTime", 2**62)) // 1000
        chosen = [
            bar
            for bar in self.closed()
            if symbol_of(bar) == query["symbol"] and start <= bar.ts <= end
        ]
        return [rest_kline(bar) for bar in chosen[: int(query.get("limit", 500))]]

    def _ticker(self) -> list[dict[str, str]]:
        last = {symbol_of(bar): bar.close for bar in self.closed()}
        return [{"symbol": symbol, "price": _decimal(price)} for symbol, price in last.items()]

    def _answer(self, path: str, query: dict[str, str]) -> RestAnswer:
        self.requests.append((path, query))
        if self.refuse is not None:
            body = {"code": 0, "msg": "Service unavailable from a restricted location"}
            return RestAnswer(self.refuse, json.dumps(body))
        if path == "/api/v3/ticker/price":
            return RestAnswer(200, json.dumps(self._ticker()))
        if path != "/api/v3/klines":
            return RestAnswer(404, json.dumps({"code": -1, "msg": "not found"}))
        rows = self._klines(query)
        answer = rows if self.rest_hook is None else self.rest_hook(query, rows)
        return answer if isinstance(answer, RestAnswer) else RestAnswer(200, json.dumps(answer))

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                got = fake._answer(url.path, dict(urllib.parse.parse_qsl(url.query)))
                reply(self, got.status, got.body.encode(), got.content_type, got.headers)

        return Handler
