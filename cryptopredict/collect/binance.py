"""Binance's public REST market data, without keys, from its market-data host (which serves
every region): closed minutes (1,000 a request) and every pair's last trade price (one request)."""

from __future__ import annotations

import urllib.parse
from collections.abc import Sequence
from typing import Any

import msgspec

from cryptopredict.assets import Asset
from cryptopredict.collect.rest import Page, get_json, positive, within
from cryptopredict.minutes.bars import MINUTE, MalformedBarError, MinuteBar, Quote

NAME = "binance"
MARKET_DATA_API_URL = "https://data-api.binance.vision"
KLINES_PATH = "/api/v3/klines"
TICKER_PATH = "/api/v3/ticker/price"
REFUSED = frozenset({403, 451})  # region blocked (451), or a host that turns us away (403)
PAGE_BARS = 1000
# A REST kline is [open time, open, high, low, close, volume, close time, quote volume, ...].
_KLINE_FIELDS = 8


class TickerPrice(msgspec.Struct):
    symbol: str
    price: str


def parse_kline(row: object, asset: Asset) -> MinuteBar:
    if not isinstance(row, list) or len(row) < _KLINE_FIELDS:
        raise MalformedBarError(f"not a kline: {row!r}"[:200])
    open_ms, *ohlcv = row[:6]
    if not isinstance(open_ms, int) or isinstance(open_ms, bool) or open_ms % (MINUTE * 1000):
        raise MalformedBarError(f"open time {open_ms!r} is not a whole minute in milliseconds")
    try:
        values = [_decimal(value) for value in (*ohlcv, row[7])]
        return MinuteBar.build(
            asset.slug, open_ms // 1000, *values[:5], quote_volume=values[5], source=NAME
        )
    except (ValueError, TypeError) as error:
        raise MalformedBarError(f"{error} in kline {row!r}"[:200]) from None


def _decimal(value: object) -> float:
    # Binance sends prices and volumes as decimal strings; anything else is malformed.
    if not isinstance(value, str):
        raise MalformedBarError(f"{value!r} is not a decimal string")
    return float(value)


class Binance:
    name = NAME

    def __init__(self, url: str = MARKET_DATA_API_URL, *, timeout: float) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def minutes(self, asset: Asset, start: int, end: int) -> Page:
        """Up to 1,000 closed minutes opening in [start, end), and where the next page starts."""
        query = {
            "symbol": asset.binance_symbol,
            "interval": "1m",
            "startTime": start * 1000,
            "endTime": end * 1000 - 1,
            "limit": PAGE_BARS,
        }
        url = f"{self.url}{KLINES_PATH}?{urllib.parse.urlencode(query)}"
        rows = self._get(url, list[Any])
        bars, malformed = within(rows, parse_kline, asset, start, end, what="kline")
        following = bars[-1].ts + MINUTE if bars else start + PAGE_BARS * MINUTE
        more = len(rows) >= PAGE_BARS and following < end
        return Page(bars, following if more else None, malformed)

    def prices(self, assets: Sequence[Asset], now: int) -> list[Quote]:
        """The last trade price of each of `assets` Binance lists, dated `now`."""
        wanted: dict[str, list[str]] = {}
        for asset in assets:
            wanted.setdefault(asset.binance_symbol, []).append(asset.slug)
        quotes = []
        for row in self._get(self.url + TICKER_PATH, list[TickerPrice]):
            for slug in wanted.get(row.symbol, ()):  # not served (or delisted: priced 0)
                quotes.append(Quote(slug, NAME, now, positive(row.price, row.symbol)))
        return quotes

    def _get(self, url: str, shape: type[Any]) -> Any:
        return get_json(url, shape, source=NAME, timeout=self.timeout, refused=REFUSED)
