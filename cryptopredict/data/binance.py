"""Binance spot klines through python-binance, paged past the 1000-bar limit.

Binance answers HTTP 451 to some regions (GitHub-hosted runners among them); the fetch then moves,
once, to Binance's public market-data-only host. Prices are quoted in USDT.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import pandas as pd
import requests
from binance.client import Client
from binance.exceptions import BinanceAPIException, BinanceRequestException

from cryptopredict.config import Settings
from cryptopredict.data.errors import SourceError
from cryptopredict.data.frame import empty_frame, make_frame, typical_price
from cryptopredict.data.progress import progress
from cryptopredict.data.query import BarQuery
from cryptopredict.data.retry import (
    RetryPolicy,
    call_with_retries,
    malformed,
    status_error,
    transport_error,
)

log = logging.getLogger(__name__)

NAME = "binance"
PAGE_BARS = 1000
MARKET_DATA_API_URL = "https://data-api.binance.vision/api"
REGION_BLOCKED = 451
INTERVALS = frozenset(
    {"1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w"}
)
# A kline is [open time, open, high, low, close, volume, close time, quote volume, ...].
_KLINE_FIELDS = 8


class BinanceSource:
    name = NAME

    def __init__(self, settings: Settings, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.sleep = sleep

    def fetch(self, query: BarQuery) -> pd.DataFrame:
        if query.interval.label not in INTERVALS:
            raise SourceError(NAME, f"Binance has no {query.interval} klines")
        client = Client(
            requests_params={
                "timeout": (self.settings.http_connect_timeout, self.settings.http_read_timeout)
            },
            ping=False,
        )
        policy = RetryPolicy.starting_now(
            self.settings.http_attempts, self.settings.fetch_timeout, self.sleep
        )
        klines: list[list] = []
        start_ms, end_ms = _millis(query.start), _millis(query.end)
        step_ms = query.interval.delta // pd.Timedelta(milliseconds=1)
        pages = max(1, -(-query.bar_count() // PAGE_BARS))
        label = f"binance {query.asset.binance_symbol} {query.interval}"
        with progress(pages, label) as done:
            while start_ms < end_ms:
                params = {
                    "symbol": query.asset.binance_symbol,
                    "interval": query.interval.label,
                    "startTime": start_ms,
                    "endTime": end_ms - 1,
                    "limit": PAGE_BARS,
                }
                page = self._page(client, policy, params)
                done()
                klines.extend(page)
                if len(page) < PAGE_BARS:
                    break
                start_ms = int(page[-1][0]) + step_ms
        return _frame(klines)

    def _page(self, client: Client, policy: RetryPolicy, params: dict) -> list[list]:
        try:
            return call_with_retries(NAME, policy, lambda: _klines(client, params))
        except SourceError as error:
            if error.status != REGION_BLOCKED or client.API_URL == MARKET_DATA_API_URL:
                raise
            log.warning(
                "binance: HTTP 451 (not served in this region); retrying on %s",
                MARKET_DATA_API_URL,
            )
            client.API_URL = MARKET_DATA_API_URL
            return call_with_retries(NAME, policy, lambda: _klines(client, params))


def _klines(client: Client, params: dict) -> list[list]:
    try:
        page = client.get_klines(**params)
    except BinanceAPIException as error:
        headers, body = error.response.headers, error.response.text
        raise status_error(NAME, error.status_code, headers, body) from error
    except BinanceRequestException as error:
        raise malformed(NAME, error.message) from error
    except requests.RequestException as error:
        raise transport_error(NAME, error) from error
    if not isinstance(page, list) or not all(
        isinstance(kline, list) and len(kline) >= _KLINE_FIELDS for kline in page
    ):
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


def _millis(stamp: pd.Timestamp) -> int:
    return int(stamp.value // 1_000_000)
