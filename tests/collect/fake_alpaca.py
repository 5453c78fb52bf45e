"""A local server speaking Alpaca's crypto market data, on 127.0.0.1: the minute bars
(`/v1beta3/crypto/us/bars`, `limit` a page, then `next_page_token`) and each symbol's latest
bar (`.../latest/bars`), from real minutes, in their recorded shape. It serves the minutes that
have closed by its clock; `requests` records each one's path, query and headers."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler

from cryptopredict.assets import asset_for_symbol
from cryptopredict.minutes.bars import MINUTE, MinuteBar
from tests.loopback import Loopback, reply


def alpaca_bar(bar: MinuteBar) -> dict:
    opened = datetime.fromtimestamp(bar.ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "t": opened, "o": bar.open, "h": bar.high, "l": bar.low, "c": bar.close,
        "v": bar.volume, "n": 37, "vw": bar.vwap,
    }  # fmt: skip


class FakeAlpaca(Loopback):
    def __init__(self, history: Iterable[MinuteBar], *, clock: Callable[[], float]) -> None:
        self.history = sorted(history, key=lambda bar: bar.ts)
        self.clock = clock
        self.requests: list[tuple[str, dict[str, str], dict[str, str]]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                fake.requests.append((url.path, query, dict(self.headers.items())))
                body = fake._answer(url.path, query)
                reply(self, 200 if body is not None else 404, body)

        super().__init__(Handler)

    def _closed(self, symbol: str) -> list[MinuteBar]:
        now = self.clock()
        return [
            bar
            for bar in self.history
            if asset_for_symbol(bar.asset).alpaca_symbol == symbol and bar.ts + MINUTE <= now
        ]

    def _answer(self, path: str, query: dict[str, str]) -> dict | None:
        if path == "/v1beta3/crypto/us/latest/bars":
            found = {s: self._closed(s) for s in query["symbols"].split(",")}
            return {"bars": {s: alpaca_bar(bars[-1]) for s, bars in found.items() if bars}}
        if path != "/v1beta3/crypto/us/bars":
            return None
        start, end = (datetime.fromisoformat(query[key]).timestamp() for key in ("start", "end"))
        symbol = query["symbols"]
        bars = [bar for bar in self._closed(symbol) if start <= bar.ts <= end]
        limit = int(query["limit"])
        token = "more" if len(bars) > limit else None
        rows = [alpaca_bar(bar) for bar in bars[:limit]]
        return {"bars": {symbol: rows} if rows else {}, "next_page_token": token}
