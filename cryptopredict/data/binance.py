"""Binance spot klines through python-binance, paged past the 1000-bar limit, and the spot
market's listing that `top:N` ranks. A request answered HTTP 451 (some regions, GitHub's runners
among them) moves, once, to the market-data-only host. Prices are in USDT.

`top:N`: the N spot pairs against USDT most traded on Binance by 24-hour quote volume, from
Binance's own listing, leaving out (each with why, docs/model.md) stablecoins and fiat money
(named in `pairs.toml`, or trading within `PEG_BAND` of 1 USDT), leveraged tokens, and bases no
slug can spell; named `<base>-usdt`, most traded first."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from typing import Any, TypeVar

import pandas as pd
import requests
from binance.client import Client
from binance.exceptions import BinanceAPIException, BinanceRequestException

from cryptopredict.artifact.run import LeftOut, MarketRanking, RankedPair
from cryptopredict.assets import read_pairs_file
from cryptopredict.config import HistorySettings
from cryptopredict.data.errors import SourceError
from cryptopredict.data.frame import BarQuery, empty_frame, make_frame, typical_price
from cryptopredict.data.retry import (
    NetworkSource,
    malformed,
    progress,
    status_error,
    transport_error,
)
from cryptopredict.utc import utc_datetime

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
        pages = max(1, -(-(end_ms - start_ms) // (step_ms * PAGE_BARS)))
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


QUOTE = "USDT"
PEG_BAND = 0.01  # a high and low within 1% of 1 USDT: a dollar stablecoin
LEVERAGED = re.compile(r"^(?P<stem>[A-Z0-9]*?)(UP|DOWN|BULL|BEAR)$")
_BASE = re.compile(r"[A-Z0-9]+", re.ASCII)


BY = "24-hour quote volume of the spot pairs against USDT on Binance"


def top_pairs(count: int, settings: HistorySettings) -> MarketRanking:
    """The `count` most traded USDT spot pairs on Binance now; SourceError."""
    info, tickers = BinanceSource(settings).market()
    return rank_pairs(info, tickers, count)


def rank_pairs(info: dict[str, Any], tickers: list[Any], count: int) -> MarketRanking:
    """`count` pairs ranked from an exchange-information answer and a 24-hour ticker answer."""
    symbols = [entry for entry in info["symbols"] if isinstance(entry, dict)]
    bases = {str(entry.get("baseAsset", "")) for entry in symbols}
    listed = {
        entry["symbol"]: str(entry.get("baseAsset", ""))
        for entry in symbols
        if entry.get("quoteAsset") == QUOTE
        and entry.get("status") == "TRADING"
        and entry.get("isSpotTradingAllowed", True)
    }
    stablecoins = frozenset(name.upper() for name in read_pairs_file().top.stablecoins)
    eligible: list[tuple[float, str, str]] = []
    excluded: list[LeftOut] = []
    as_of = 0
    for ticker in tickers:
        symbol = ticker.get("symbol") if isinstance(ticker, dict) else None
        if not isinstance(symbol, str) or symbol not in listed:
            continue
        volume = _number(ticker, "quoteVolume")
        as_of = max(as_of, int(_number(ticker, "closeTime")) // 1000)
        why = _why_not(listed[symbol], ticker, bases, stablecoins)
        if why is not None:
            excluded.append(LeftOut(symbol=symbol, quote_volume=volume, why=why))
        elif volume > 0:
            eligible.append((-volume, symbol, listed[symbol]))
    chosen = sorted(eligible)[:count]
    pairs = tuple(
        RankedPair(
            asset=f"{base.lower()}-{QUOTE.lower()}", symbol=symbol, rank=rank, quote_volume=-neg
        )
        for rank, (neg, symbol, base) in enumerate(chosen, start=1)
    )
    floor = pairs[-1].quote_volume if len(pairs) == count else 0.0
    left_out = tuple(
        sorted(
            (out for out in excluded if out.quote_volume >= floor and out.quote_volume > 0),
            key=lambda out: (-out.quote_volume, out.symbol),
        )
    )
    return MarketRanking(
        asked=count, as_of=utc_datetime(as_of), by=BY, pairs=pairs, left_out=left_out
    )


def _why_not(
    base: str, ticker: dict[str, Any], bases: set[str], stablecoins: frozenset[str]
) -> str | None:
    if not _BASE.fullmatch(base):
        return f"its base {base!r} cannot be spelt in a slug ([a-z0-9])"
    if base in stablecoins:
        return f"{base} is a stablecoin or fiat money ([top] stablecoins in pairs.toml)"
    leveraged = LEVERAGED.fullmatch(base)
    if leveraged and (leveraged["stem"] == "" or leveraged["stem"] in bases):
        return f"{base} is a leveraged token"
    high, low = _number(ticker, "highPrice"), _number(ticker, "lowPrice")
    if 1 - PEG_BAND <= low <= high <= 1 + PEG_BAND:
        return (
            f"{base} trades as a dollar stablecoin (24-hour low {low:g}, high {high:g} USDT, "
            f"within {PEG_BAND:.0%} of 1)"
        )
    return None


def _number(ticker: dict[str, Any], name: str) -> float:
    try:
        return float(ticker[name])
    except (KeyError, TypeError, ValueError):
        raise SourceError(
            "binance", f"a 24-hour ticker has no number {name}: {str(ticker)[:200]}"
        ) from None
