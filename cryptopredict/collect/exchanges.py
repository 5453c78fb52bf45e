"""The exchanges' public REST market data, read over urllib, and how an exchange fails: it
refuses us (move to the next exchange), or is unavailable for now (poll again later).

- Binance, without keys, from its market-data host (which serves every region): closed minutes
  (1,000 a request) and every pair's last trade price (one request).
- Alpaca, where Binance refuses: closed minutes and the latest minute bar of each USD pair; no
  keys needed (ALPACA_API_KEY and ALPACA_SECRET_KEY sent when set). Quiet minutes have no bar,
  and prices are in USD where Binance's are in USDT."""

from __future__ import annotations

import http.client
import logging
import math
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import msgspec

from cryptopredict.assets import Asset
from cryptopredict.logs import snippet
from cryptopredict.minutes.bars import MINUTE, MalformedBarError, MinuteBar, Quote, stamp
from cryptopredict.retry_after import retry_after_seconds
from cryptopredict.utc import iso_utc

log = logging.getLogger(__name__)
T = TypeVar("T")


class RefusedError(RuntimeError):
    """The source will not serve this client (HTTP 451 or 403, say): retrying will not help."""


class UnavailableError(RuntimeError):
    """A failure worth another try later: a dropped connection, a timeout, 429 or 5xx, an answer
    of another shape; the message says why, in one line."""

    def __init__(self, detail: str, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class Rest:
    name: str
    refused: frozenset[int]

    def __init__(
        self, url: str, *, timeout: float, headers: Mapping[str, str] | None = None
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.headers = headers or {}

    def get(self, path: str, shape: type[T]) -> T:
        """The JSON at `url` + `path`, as `shape`. RefusedError for an HTTP status in `refused`;
        UnavailableError for any other failure (with the wait another status's Retry-After asks)."""
        url = self.url + path
        host = urllib.parse.urlsplit(url).netloc.rpartition("@")[2]  # host:port, never a user
        sent = {"Accept": "application/json", "User-Agent": "cryptopredict", **self.headers}
        request = urllib.request.Request(url, headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as error:
            detail = f"HTTP {error.code} from {host}"
            if error.code in self.refused:
                said = f"{self.name} refused: {detail}: {snippet(error.read())}"
                raise RefusedError(said) from None
            wait = retry_after_seconds(dict(error.headers.items()))
            raise UnavailableError(detail, wait) from None
        except (OSError, http.client.HTTPException) as error:
            reason = getattr(error, "reason", error)
            raise UnavailableError(f"cannot reach {host}: {reason}") from None
        try:
            return msgspec.json.decode(body, type=shape)
        except msgspec.DecodeError as error:
            raise UnavailableError(
                f"{host} answered in another shape ({error}): {snippet(body)}"
            ) from None


@dataclass(frozen=True)
class Page:
    """One answer of an exchange's minutes: the bars, where the next page starts (None after the
    last), and how many rows were malformed (skipped; their minutes are asked for again)."""

    bars: list[MinuteBar]
    following: int | None
    malformed: int


def within(
    rows: list[object],
    parse: Callable[[object, Asset], MinuteBar],
    asset: Asset,
    start: int,
    end: int,
    *,
    what: str,
) -> tuple[list[MinuteBar], int]:
    """The bars of `rows` opening in [start, end), and how many rows were malformed (skipped)."""
    bars, malformed = [], 0
    for row in rows:
        try:
            bar = parse(row, asset)
        except MalformedBarError as error:
            malformed += 1
            log.warning("%s: skipped a malformed %s: %s", asset.slug, what, error)
            continue
        if start <= bar.ts < end:
            bars.append(bar)
        else:
            log.warning("%s: skipped a %s opening %s", asset.slug, what, stamp(bar.ts))
    return bars, malformed


def positive(text: str | float, symbol: str) -> float:
    """A price an exchange gave; UnavailableError for one that is no positive number."""
    try:
        price = float(text)
    except ValueError:
        price = math.nan
    if not math.isfinite(price) or price <= 0:
        said = f"a price of {symbol} that is no positive number: {str(text)[:40]!r}"
        raise UnavailableError(said)
    return price


BINANCE = "binance"
MARKET_DATA_API_URL = "https://data-api.binance.vision"
KLINES_PATH = "/api/v3/klines"
TICKER_PATH = "/api/v3/ticker/price"
BINANCE_PAGE = 1000
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
    fields = (*ohlcv, row[7])
    try:
        if not all(isinstance(value, str) for value in fields):  # as Binance sends them
            raise ValueError("a price or volume is not a decimal string")
        values = [float(value) for value in fields]
        return MinuteBar.build(
            asset.slug, open_ms // 1000, *values[:5], quote_volume=values[5], source=BINANCE
        )
    except (ValueError, TypeError) as error:
        raise MalformedBarError(f"{error} in kline {row!r}"[:200]) from None


class Binance(Rest):
    name = BINANCE
    refused = frozenset({403, 451})  # region blocked (451), or a host that turns us away (403)

    def minutes(self, asset: Asset, start: int, end: int) -> Page:
        """Up to 1,000 closed minutes opening in [start, end), and where the next page starts."""
        query = {
            "symbol": asset.binance_symbol,
            "interval": "1m",
            "startTime": start * 1000,
            "endTime": end * 1000 - 1,
            "limit": BINANCE_PAGE,
        }
        rows = self.get(f"{KLINES_PATH}?{urllib.parse.urlencode(query)}", list[Any])
        bars, malformed = within(rows, parse_kline, asset, start, end, what="kline")
        following = bars[-1].ts + MINUTE if bars else start + BINANCE_PAGE * MINUTE
        more = len(rows) >= BINANCE_PAGE and following < end
        return Page(bars, following if more else None, malformed)

    def prices(self, assets: Sequence[Asset], now: int) -> list[Quote]:
        """The last trade price of each of `assets` Binance lists, dated `now`."""
        listed = {row.symbol: row.price for row in self.get(TICKER_PATH, list[TickerPrice])}
        return [
            Quote(asset.slug, BINANCE, now, positive(listed[symbol], symbol))
            for asset in assets
            if (symbol := asset.binance_symbol) in listed  # not served (or delisted: priced 0)
        ]


ALPACA = "alpaca"
ALPACA_URL = "https://data.alpaca.markets"
BARS_PATH = "/v1beta3/crypto/us/bars"
LATEST_BARS_PATH = "/v1beta3/crypto/us/latest/bars"
ALPACA_PAGE = 10_000  # the most Alpaca's bars answer at once


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
            return MinuteBar.build(asset.slug, ts, *ohlcv, quote_volume=None, source=ALPACA)
        open_, high, low, close, volume = ohlcv
        return MinuteBar(asset.slug, ts, open_, high, low, close, volume, vwap, ALPACA)
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


class Alpaca(Rest):
    name = ALPACA
    refused = frozenset({400, 401, 403, 404, 422})  # its keys, or a request it cannot answer

    def __init__(self, url: str, *, timeout: float, keys: tuple[str, str] | None = None) -> None:
        sent = {"APCA-API-KEY-ID": keys[0], "APCA-API-SECRET-KEY": keys[1]} if keys else None
        super().__init__(url, timeout=timeout, headers=sent)

    def minutes(self, asset: Asset, start: int, end: int) -> Page:
        """A page of the minutes opening in [start, end), and where the next starts."""
        query = {
            "symbols": asset.alpaca_symbol,
            "timeframe": "1Min",
            "start": iso_utc(start),
            "end": iso_utc(end - 1),  # Alpaca's end is inclusive
            "limit": ALPACA_PAGE,
            "sort": "asc",
        }
        page = self.get(f"{BARS_PATH}?{urllib.parse.urlencode(query)}", dict[str, Any])
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
        answer = self.get(f"{LATEST_BARS_PATH}?{query}", LatestBars)
        quotes = []
        for symbol, bar in answer.bars.items():
            if symbol not in wanted:
                continue
            try:
                closed = _epoch(bar.t) + MINUTE
            except (ValueError, MalformedBarError):
                said = f"Alpaca dated {symbol}'s latest bar {bar.t[:40]!r}"
                raise UnavailableError(said) from None
            quotes.append(Quote(wanted[symbol], ALPACA, min(closed, now), positive(bar.c, symbol)))
        return quotes
