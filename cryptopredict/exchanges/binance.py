"""Binance's REST market data: the minutes the collector backfills (`/api/v3/klines`) and the
last trade price of every pair the API polls (`/api/v3/ticker/price`)."""

from __future__ import annotations

import urllib.parse
from typing import Any

import msgspec

from cryptopredict.exchanges.rest import get_json

NAME = "binance"
MARKET_DATA_API_URL = "https://data-api.binance.vision"  # market data only, in every region
KLINES_PATH = "/api/v3/klines"
TICKER_PATH = "/api/v3/ticker/price"
REFUSED = frozenset({403, 451})  # region blocked (451), or a host that turns us away (403)


class TickerPrice(msgspec.Struct):
    symbol: str
    price: str


def klines(base_url: str, query: dict[str, Any], *, timeout: float) -> list[Any]:
    """The klines `query` asks for: rows of [open time, open, high, low, close, volume, ...]."""
    url = f"{base_url}{KLINES_PATH}?{urllib.parse.urlencode(query)}"
    return get_json(url, list[Any], source=NAME, timeout=timeout, refused=REFUSED)


def ticker(base_url: str, *, timeout: float) -> list[TickerPrice]:
    """The last trade price of every symbol Binance lists, in one request."""
    url = base_url + TICKER_PATH
    return get_json(url, list[TickerPrice], source=NAME, timeout=timeout, refused=REFUSED)
