"""Alpaca's crypto bars through alpaca-py: no keys needed (keys raise the rate limit). Built from
quotes: quiet hours may be missing and volume 0."""

from __future__ import annotations

import functools

import pandas as pd
import requests
from alpaca.common.exceptions import APIError
from alpaca.data.historical.crypto import CryptoHistoricalDataClient
from alpaca.data.requests import CryptoBarsRequest
from alpaca.data.timeframe import TimeFrame
from alpaca.data.timeframe import TimeFrameUnit as Unit

from cryptopredict.data.errors import SourceError, TransientSourceError
from cryptopredict.data.frame import BarQuery, empty_frame, make_frame
from cryptopredict.data.retry import (
    NetworkSource,
    malformed,
    progress,
    status_error,
    transport_error,
)

NAME = "alpaca"
PAGE_BARS = 10_000  # alpaca-py's page size for bars
_UNITS = {"m": (Unit.Minute, 59), "h": (Unit.Hour, 23), "d": (Unit.Day, 1), "w": (Unit.Week, 1)}
_FIELDS = {"t": "timestamp", "o": "open", "h": "high", "l": "low", "c": "close", "v": "volume"}


class TimeoutSession(requests.Session):
    """alpaca-py's session: a timeout on every request, and one fetch of pages asking for a page
    token twice (an empty page naming itself, which alpaca-py would follow forever) is refused."""

    def __init__(self, timeout: tuple[float, float]) -> None:
        super().__init__()
        self.timeout = timeout
        self.tokens: set[str] = set()  # asked for since the fetch's first page

    def request(self, method, url, **kwargs):
        kwargs.setdefault("timeout", self.timeout)
        token = (kwargs.get("params") or {}).get("page_token")
        if token in self.tokens:
            raise TransientSourceError(f"page token {token!r} again: its pages do not advance")
        self.tokens = {*self.tokens, token} if token is not None else set()
        return super().request(method, url, **kwargs)


class AlpacaSource(NetworkSource):
    name = NAME

    def fetch(self, query: BarQuery) -> pd.DataFrame:
        timeframe = _timeframe(query)
        client, deadline = self._client(), self.deadline()
        span = query.interval.delta * PAGE_BARS
        starts = pd.date_range(query.start, query.end, freq=span, inclusive="left")
        rows: list[dict] = []
        done = progress(len(starts), f"alpaca {query.asset.alpaca_symbol} {query.interval}")
        for start in starts:
            end = min(start + span, query.end)
            request = CryptoBarsRequest(
                symbol_or_symbols=query.asset.alpaca_symbol,
                timeframe=timeframe,
                start=start.to_pydatetime(),
                end=(end - pd.Timedelta(seconds=1)).to_pydatetime(),
            )
            rows.extend(self.call(deadline, functools.partial(self._bars, client, request)))
            done()
        if not rows:
            return empty_frame()
        if missing := [key for key in _FIELDS if key not in rows[0]]:
            raise malformed(NAME, f"a bar without {', '.join(missing)}: {rows[0]!r}")
        raw = pd.DataFrame(rows).rename(columns={**_FIELDS, "vw": "vwap"})
        return make_frame(raw)

    def _client(self) -> CryptoHistoricalDataClient:
        keys = (self.settings.alpaca_api_key, self.settings.alpaca_secret_key)
        keys, url = keys if all(keys) else (None, None), self.settings.alpaca_data_url
        client = CryptoHistoricalDataClient(*keys, raw_data=True, url_override=url)
        # alpaca-py sets no timeout and retries 429s ignoring Retry-After, and takes neither as an
        # argument: its private attributes, checked by tests/data/test_alpaca_internals.py.
        client._session = TimeoutSession(
            (self.settings.http_connect_timeout, self.settings.http_read_timeout)
        )
        client._retry = 0
        return client

    def _bars(self, client: CryptoHistoricalDataClient, request: CryptoBarsRequest) -> list[dict]:
        try:
            answer = client.get_crypto_bars(request)
        except APIError as error:
            response = error.response
            headers = response.headers if response is not None else {}
            raise status_error(NAME, error.status_code or 0, headers, str(error)) from error
        except requests.JSONDecodeError as error:
            raise malformed(NAME, error.doc) from error
        except requests.RequestException as error:
            raise transport_error(NAME, error) from error
        except ValueError as error:  # alpaca-py: "data in response does not match any known keys"
            raise malformed(NAME, str(error)) from error
        if not isinstance(answer, dict):
            raise malformed(NAME, repr(answer))
        bars = answer.get(str(request.symbol_or_symbols), [])  # one symbol is asked for
        if not isinstance(bars, list) or not all(isinstance(bar, dict) for bar in bars):
            raise malformed(NAME, repr(bars))
        return bars


def _timeframe(query: BarQuery) -> TimeFrame:
    unit, largest = _UNITS[query.interval.unit]
    if query.interval.amount > largest:
        raise SourceError(NAME, f"Alpaca has no {query.interval} bars")
    return TimeFrame(query.interval.amount, unit)
