"""Alpaca's REST crypto market data, where Binance refuses: closed minutes and the latest minute
bar of each USD pair; no keys needed (ALPACA_API_KEY and ALPACA_SECRET_KEY sent when set). Quiet
minutes have no bar, and prices are in USD where Binance's are in USDT."""

from __future__ import annotations

import urllib.parse
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec

from cryptopredict.assets import Asset
from cryptopredict.collect.rest import Page, UnavailableError, get_json, positive, within
from cryptopredict.logs import snippet
from cryptopredict.minutes.bars import MINUTE, MalformedBarError, MinuteBar, Quote
from cryptopredict.utc import iso_utc

NAME = "alpaca"
DATA_URL = "https://data.alpaca.markets"
BARS_PATH = "/v1beta3/crypto/us/bars"
LATEST_BARS_PATH = "/v1beta3/crypto/us/latest/bars"
REFUSED = frozenset({400, 401, 403, 404, 422})  # its keys, or a request it cannot answer
PAGE_BARS = 10_000  # the most Alpaca's bars answer at once


class LatestBar(msgspec.Struct):
    t: str  # the minute's open time, ISO 8601
    c: float


class LatestBars(msgspec.Struct):
    bars: dict[str, LatestBar]


def parse_bar(row: object, asset: Asset) -> MinuteBar:
    """A bar from one row of Alpaca's bars; its VWAP the typical price when Alpaca gives none."""
    try:
        if not isinstance(row, dict):
            raise TypeError("not an object")
        ts = _epoch(row["t"])  # MinuteBar refuses one that is no whole minute
        ohlcv = [float(row[key]) for key in ("o", "h", "l", "c", "v")]
        vwap = float(row.get("vw") or 0.0)
        if vwap <= 0:
            return MinuteBar.build(asset.slug, ts, *ohlcv, quote_volume=None, source=NAME)
        open_, high, low, close, volume = ohlcv
        return MinuteBar(asset.slug, ts, open_, high, low, close, volume, vwap, NAME)
    except MalformedBarError:
        raise
    except (KeyError, TypeError, ValueError) as error:
        raise MalformedBarError(f"{type(error).__name__} {error} in {row!r}"[:300]) from None


def _epoch(text: str) -> int:
    opened = datetime.fromisoformat(text)
    if opened.tzinfo is None:
        raise MalformedBarError(f"bar time {text!r} has no offset")
    seconds = opened.timestamp()
    if seconds != int(seconds):
        raise MalformedBarError(f"bar time {text!r} is not a whole minute")
    return int(seconds)


class Alpaca:
    name = NAME

    def __init__(
        self, url: str = DATA_URL, *, timeout: float, keys: tuple[str, str] | None = None
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.headers = {}
        if keys:
            self.headers = {"APCA-API-KEY-ID": keys[0], "APCA-API-SECRET-KEY": keys[1]}

    def minutes(self, asset: Asset, start: int, end: int) -> Page:
        """A page of the minutes opening in [start, end), and where the next starts."""
        query = {
            "symbols": asset.alpaca_symbol,
            "timeframe": "1Min",
            "start": iso_utc(start),
            "end": iso_utc(end - 1),  # Alpaca's end is inclusive
            "limit": PAGE_BARS,
            "sort": "asc",
        }
        page = self._get(f"{BARS_PATH}?{urllib.parse.urlencode(query)}", dict[str, Any])
        by_symbol = page.get("bars") or {}  # no bars: null, or no entry for the symbol
        rows = by_symbol.get(asset.alpaca_symbol, []) if isinstance(by_symbol, dict) else None
        if not isinstance(rows, list):
            raise UnavailableError(f"alpaca: no bar list in {snippet(page)}")
        bars, malformed = within(rows, parse_bar, asset, start, end, what="bar from Alpaca")
        more = page.get("next_page_token") and bars and bars[-1].ts + MINUTE < end
        return Page(bars, bars[-1].ts + MINUTE if more else None, malformed)

    def prices(self, assets: Sequence[Asset], now: int) -> list[Quote]:
        """The latest minute's close of each USD pair, dated when it closed (or `now`)."""
        usd = [asset for asset in assets if asset.slug.endswith("-usd")]
        wanted = {asset.alpaca_symbol: asset.slug for asset in usd}
        if not wanted:
            return []
        query = urllib.parse.urlencode({"symbols": ",".join(wanted)}, safe="/,")
        answer = self._get(f"{LATEST_BARS_PATH}?{query}", LatestBars)
        quotes = []
        for symbol, bar in answer.bars.items():
            if symbol not in wanted:
                continue
            try:
                closed = _epoch(bar.t) + MINUTE
            except (ValueError, MalformedBarError):
                said = f"Alpaca dated {symbol}'s latest bar {bar.t[:40]!r}"
                raise UnavailableError(said) from None
            quotes.append(Quote(wanted[symbol], NAME, min(closed, now), positive(bar.c, symbol)))
        return quotes

    def _get(self, path: str, shape: type[Any]) -> Any:
        return get_json(
            self.url + path,
            shape,
            source=NAME,
            timeout=self.timeout,
            refused=REFUSED,
            headers=self.headers,
        )
