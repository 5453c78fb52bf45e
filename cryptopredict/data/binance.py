"""Binance spot klines through python-binance, paged past the 1000-bar limit, and the spot
market's listing that `top:N` ranks. A request answered HTTP 451 (some regions, GitHub's runners
among them) moves, once, to the market-data-only host. Prices are in USDT."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import pandas as pd
import requests
from binance.client import Client
from binance.exceptions import BinanceAPIException, BinanceRequestException

from cryptopredict.data.errors import SourceError
from cryptopredict.data.frame import BarQuery, empty_frame, make_frame, typical_price
from cryptopredict.data.retry import (
    NetworkSource,
    malformed,
    progress,
    status_error,
    transport_error,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

NAME = "binance"
PAGE_BARS = 1000
MARKET_DATA_API_URL = "https://data-api.binance.vision/api"
REGION_BLOCKED = 451
INTERVALS = frozenset(
    {"1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w"}
)
# A kline is [open time, open, high, low, close, volume, close time, quote volume, ...].
_KLINE_FIELDS = 8


class BinanceSource(NetworkSource):
    name = NAME

    def fetch(self, query: BarQuery) -> pd.DataFrame:
        if query.interval.label not in INTERVALS:
            raise SourceError(NAME, f"Binance has no {query.interval} klines")
        client, deadline = self._client(), self.deadline()
        klines: list[list] = []
        start_ms, end_ms = query.start.value // 1_000_000, query.end.value // 1_000_000
        step_ms = query.interval.delta // pd.Timedelta(milliseconds=1)
        pages = max(1, -(-query.bar_count() // PAGE_BARS))
        done = progress(pages, f"binance {query.asset.binance_symbol} {query.interval}")
        while start_ms < end_ms:
            params = {
                "symbol": query.asset.binance_symbol,
                "interval": query.interval.label,
                "startTime": start_ms,
                "endTime": end_ms - 1,
                "limit": PAGE_BARS,
            }
            page = self._call(client, deadline, functools.partial(_klines, client, params))
            done()
            klines.extend(page)
            if len(page) < PAGE_BARS:
                break
            start_ms = int(page[-1][0]) + step_ms
        return _frame(klines)

    def market(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """`/api/v3/exchangeInfo` and every symbol's `/api/v3/ticker/24hr`."""
        client, deadline = self._client(), self.deadline()
        info = self._call(client, deadline, lambda: _answer(client.get_exchange_info, dict))
        tickers = self._call(client, deadline, lambda: _answer(client.get_ticker, list))
        if not isinstance(info.get("symbols"), list):
            raise malformed(NAME, repr(info)[:200])
        return info, tickers

    def _client(self) -> Client:
        client = Client(
            requests_params={
                "timeout": (self.settings.http_connect_timeout, self.settings.http_read_timeout)
            },
            ping=False,
        )
        client.API_URL = f"{self.settings.binance_api_url.rstrip('/')}/api"
        return client

    def _call(self, client: Client, deadline: float, request: Callable[[], T]) -> T:
        """`request` with retries; on HTTP 451, once more from the market-data host."""
        try:
            return self.call(deadline, request)
        except SourceError as error:
            if error.status != REGION_BLOCKED or client.API_URL == MARKET_DATA_API_URL:
                raise
            log.warning(
                "binance: HTTP 451 (not served in this region); retrying on %s",
                MARKET_DATA_API_URL,
            )
            client.API_URL = MARKET_DATA_API_URL
            return self.call(deadline, request)


def _answer(request: Callable[..., Any], kind: type[T], **params: Any) -> T:
    """The JSON answer of a python-binance request; a source's errors."""
    try:
        answer = request(**params)
    except BinanceAPIException as error:
        headers, body = error.response.headers, error.response.text
        raise status_error(NAME, error.status_code, headers, body) from error
    except BinanceRequestException as error:
        raise malformed(NAME, error.message) from error
    except requests.RequestException as error:
        raise transport_error(NAME, error) from error
    if not isinstance(answer, kind):
        raise malformed(NAME, repr(answer)[:200])
    return answer


def _klines(client: Client, params: dict) -> list[list]:
    page = _answer(client.get_klines, list, **params)
    if not all(isinstance(kline, list) and len(kline) >= _KLINE_FIELDS for kline in page):
        raise malformed(NAME, repr(page))
    return page


def _frame(klines: list[list]) -> pd.DataFrame:
    if not klines:
        return empty_frame()
    raw = pd.DataFrame([kline[:_KLINE_FIELDS] for kline in klines])
    raw.columns = ["open_time", "open", "high", "low", "close", "volume", "close_time", "quote"]
    raw["timestamp"] = pd.to_datetime(raw["open_time"].astype("int64"), unit="ms", utc=True)
    frame = make_frame(raw)
    quote = pd.to_numeric(raw["quote"], errors="coerce").astype("float64")
    # Quote volume over base volume is the bar's VWAP; when nothing traded, the typical price.
    frame["vwap"] = (quote / frame["volume"]).where(frame["volume"] > 0, typical_price(frame))
    return frame
