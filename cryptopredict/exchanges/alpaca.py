"""Alpaca's REST crypto market data: the historical minute bars the collector fills gaps from
(`/v1beta3/crypto/us/bars`, with its keys) and the latest bars the API polls (`.../latest/bars`,
without keys)."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from cryptopredict.exchanges.rest import get_json

NAME = "alpaca"
DATA_URL = "https://data.alpaca.markets"
BARS_PATH = "/v1beta3/crypto/us/bars"
LATEST_BARS_PATH = "/v1beta3/crypto/us/latest/bars"
REFUSED = frozenset({400, 401, 403, 404, 422})  # its keys, or a request it cannot answer


class LatestBar(msgspec.Struct):
    t: str  # the minute's open time, ISO 8601
    c: float


class LatestBars(msgspec.Struct):
    bars: dict[str, LatestBar]


def bars(
    base_url: str, query: Mapping[str, Any], *, timeout: float, headers: Mapping[str, str]
) -> dict[str, Any]:
    """One page of the historical bars `query` asks for (the keys in `headers`)."""
    url = f"{base_url}{BARS_PATH}?{urllib.parse.urlencode(query)}"
    return get_json(
        url, dict[str, Any], source=NAME, timeout=timeout, refused=REFUSED, headers=headers
    )


def latest_bars(base_url: str, symbols: Iterable[str], *, timeout: float) -> LatestBars:
    """The latest minute bar of each of `symbols` (`BTC/USD`), in one request."""
    query = urllib.parse.urlencode({"symbols": ",".join(symbols)}, safe="/,")
    url = f"{base_url}{LATEST_BARS_PATH}?{query}"
    return get_json(url, LatestBars, source=NAME, timeout=timeout, refused=REFUSED)
