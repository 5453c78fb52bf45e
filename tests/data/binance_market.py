"""A local server answering Binance's `/api/v3/exchangeInfo` and `/api/v3/ticker/24hr` with the
recorded spot market of 2024-03-10 (tests/data/recorded/PROVENANCE.md), on 127.0.0.1."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from tests.loopback import Loopback, reply

RECORDED = Path(__file__).parent / "recorded"
EXCHANGE_INFO = RECORDED / "binance-exchange-info-2024-03-10.json.gz"
TICKER_24HR = RECORDED / "binance-ticker-24hr-2024-03-10.json.gz"


def recorded(path: Path) -> Any:
    with gzip.open(path, "rb") as file:
        return json.load(file)


@dataclass
class Market:
    """What the server answers: each path's body (JSON) and status; `requests` it got. While
    `slow`, each answer waits for `released` (set, at the latest, when the server stops)."""

    answers: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    slow: bool = False
    released: threading.Event = field(default_factory=threading.Event)

    def answer(self, path: str, body: Any, status: int = 200) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.answers[path] = (status, data)


@contextmanager
def binance_market(**answers: Any) -> Iterator[tuple[str, Market]]:
    """The server's base URL (for BINANCE_API_URL) and its `Market`, answering the recording
    unless `answers` (`exchange_info=`, `ticker=`) replace it."""
    market = Market()
    market.answer("/api/v3/exchangeInfo", answers.get("exchange_info", recorded(EXCHANGE_INFO)))
    market.answer("/api/v3/ticker/24hr", answers.get("ticker", recorded(TICKER_24HR)))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            market.requests.append(self.path)
            if market.slow:
                market.released.wait()
            status, body = market.answers.get(self.path.split("?")[0], (404, b"{}"))
            reply(self, status, body)

    with Loopback(Handler) as served:
        try:
            yield served.url, market
        finally:
            market.released.set()
