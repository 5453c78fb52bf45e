"""The latest price of each served asset, read on a background thread, which the forecasts start
from (`serving.anchor`): no request ever waits on a source.

The sources:

- `minutes`: the collector's minute bars (DATABASE_URL), the close of each asset's newest
  minute, read at most every LIVE_CACHE_SECONDS. Only minutes at their own time count: an
  exchange's, or a replay's written with `--no-shift`; a replay moved to now is not the price
  then.
- `binance`: Binance's public ticker (`/api/v3/ticker/price`), every symbol in one request.
- `alpaca`: Alpaca's latest minute bars (`/v1beta3/crypto/us/latest/bars`) of the served USD
  pairs, in one request, without keys.

The last two are polled only when LATEST_PRICES names them, at most every LATEST_PRICE_SECONDS
(at least a minute), each connection and read bounded by LATEST_PRICE_TIMEOUT.

One `LatestPrices` a process, made beside the server and handed to every application built
(`create_app`), which tells it the assets it serves (`serve`). A lookup (`LatestPrices.of`)
answers at once from what the sources gave last, and wakes its one thread, which reads in turn
each source due a read (or not yet read for the assets served now): sources are read once at
start-up and then only while forecasts are asked for. A source that fails or is slow keeps the
prices it gave before; its failure is logged when it starts and when it ends, never with a key
or password (there is none: the Binance and Alpaca endpoints are public).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from cryptopredict.api.live import SOURCES, minute_reader
from cryptopredict.api.serving.anchor import LatestPrice
from cryptopredict.api.types.forecast import AnchorSource
from cryptopredict.assets import asset_for_symbol
from cryptopredict.config import ApiSettings
from cryptopredict.exchanges import alpaca, binance
from cryptopredict.exchanges.rest import RefusedError, UnavailableError
from cryptopredict.minutes.bars import MINUTE
from cryptopredict.minutes.reader import MinuteReader
from cryptopredict.minutes.store import StoreError

log = logging.getLogger(__name__)


class PriceSource(Protocol):
    name: str
    every: float  # seconds from the end of one read to the next

    def read(self, slugs: Sequence[str]) -> dict[str, LatestPrice]:
        """The latest price of each of `slugs` the source has one of."""


@dataclass
class _Feed:
    source: PriceSource
    prices: dict[str, LatestPrice] = field(default_factory=dict)
    due: float = 0.0  # the clock's time of the next read
    slugs: tuple[str, ...] | None = None  # the assets of its last read
    failing: str | None = None


class LatestPrices:
    """The newest price of each asset any source gave (see the module's doc)."""

    def __init__(
        self, sources: Sequence[PriceSource], *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._feeds = [_Feed(source) for source in sources]
        self._clock = clock
        self._slugs: tuple[str, ...] = ()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="latest-prices", daemon=True)
        self._lock = threading.Lock()

    def serve(self, slugs: Iterable[str]) -> None:
        """Read the prices of `slugs` from now on (the assets of the application built last)."""
        self._slugs = tuple(slugs)

    def of(self, slug: str) -> LatestPrice | None:
        self.refresh()
        found = [feed.prices[slug] for feed in self._feeds if slug in feed.prices]
        return max(found, key=lambda price: price.epoch, default=None)

    def refresh(self) -> None:
        """Wake the thread if a source is due a read; never waits for one."""
        now = self._clock()
        if any(self._due(feed, now) for feed in self._feeds):
            with self._lock:
                if self._thread.ident is None:  # started by the first source due a read
                    self._thread.start()
            self._wake.set()

    def _due(self, feed: _Feed, now: float) -> bool:
        return now >= feed.due or feed.slugs != self._slugs

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            for feed in self._feeds:
                if self._due(feed, self._clock()):
                    self._read(feed)

    def _read(self, feed: _Feed) -> None:
        slugs = self._slugs
        try:
            feed.prices = {**feed.prices, **feed.source.read(slugs)}
            if feed.failing is not None:
                log.info("latest prices from %s: read again", feed.source.name)
            feed.failing = None
        except Exception as error:  # the thread lives on: the forecasts answer without it
            said = isinstance(error, RefusedError | UnavailableError)  # in one line
            reason = str(error) if said else repr(error)
            if reason != feed.failing:
                log.warning(
                    "latest prices from %s cannot be read: %s; the forecasts start from the "
                    "prices read before, else the model's data end",
                    feed.source.name,
                    reason,
                )
            feed.failing = reason
        finally:
            feed.slugs = slugs
            feed.due = self._clock() + feed.source.every


class MinuteCloses:
    """The close of each asset's newest stored minute (at its own time)."""

    name = "minutes"

    def __init__(self, reader: MinuteReader, *, every: float) -> None:
        self.reader = reader
        self.every = every

    def read(self, slugs: Sequence[str]) -> dict[str, LatestPrice]:
        found = {}
        try:
            with self.reader.open() as store:
                for slug in slugs:
                    bar = store.last_bar(slug)
                    if bar is None or bar.shifted_by != 0:
                        continue
                    opened, close = int(bar.ohlcv[0]), float(bar.ohlcv[4])
                    found[slug] = LatestPrice(
                        opened + MINUTE, close, AnchorSource.MINUTES, _minute_detail(bar.source)
                    )
        except StoreError:  # the reader logged why; the prices read before stay
            pass
        return found


def _minute_detail(source: str) -> str:
    said = "the close of the newest minute bar the collector stored"
    if source == "replay":
        return f"{said}, from a replay of recorded minutes at their own times (not live data)"
    return f"{said}, from {SOURCES.get(source, source)}"


@dataclass
class Polled:
    """A source the API polls over HTTP, at its base `url`."""

    url: str
    every: float  # seconds between two polls
    timeout: float  # seconds to wait for a connection, and for each read


class BinanceTicker(Polled):
    """Binance's last trade price of every served pair it lists, dated when it was read."""

    name = "binance"

    def read(self, slugs: Sequence[str]) -> dict[str, LatestPrice]:
        served: dict[str, list[str]] = {}
        for slug in slugs:
            served.setdefault(asset_for_symbol(slug).binance_symbol, []).append(slug)
        rows = binance.ticker(self.url, timeout=self.timeout)
        now = int(time.time())
        found = {}
        for row in rows:
            if row.symbol not in served:  # not served (or delisted: priced 0)
                continue
            price = _positive(row.price, row.symbol)
            detail = f"Binance's ticker price of {row.symbol}, read by the API at that instant"
            for slug in served[row.symbol]:
                found[slug] = LatestPrice(now, price, AnchorSource.BINANCE, detail)
        return found


class AlpacaLatestBars(Polled):
    """The close of Alpaca's latest minute bar of every served USD pair (BTC/USD, ETH/USD...)."""

    name = "alpaca"

    def read(self, slugs: Sequence[str]) -> dict[str, LatestPrice]:
        pairs = [asset_for_symbol(slug) for slug in slugs if slug.endswith("-usd")]
        served = {pair.alpaca_symbol: pair.slug for pair in pairs}
        if not served:
            return {}
        answer = alpaca.latest_bars(self.url, served, timeout=self.timeout)
        now = int(time.time())
        found = {}
        for symbol, bar in answer.bars.items():
            slug = served.get(symbol)
            if slug is None:
                continue
            try:
                opened = int(datetime.fromisoformat(bar.t).timestamp())
            except ValueError:
                said = f"Alpaca dated {symbol}'s latest bar {bar.t[:40]!r}"
                raise UnavailableError(said) from None
            detail = f"the close of Alpaca's latest minute bar of {symbol}"
            price = _positive(bar.c, symbol)
            # a minute still trading is dated now, its close the last trade so far
            found[slug] = LatestPrice(min(opened + MINUTE, now), price, AnchorSource.ALPACA, detail)
        return found


def _positive(text: str | float, symbol: str) -> float:
    try:
        price = float(text)
    except ValueError:
        price = math.nan
    if not math.isfinite(price) or price <= 0:
        said = f"a price of {symbol} that is no positive number: {str(text)[:40]!r}"
        raise UnavailableError(said)
    return price


def latest_prices(settings: ApiSettings) -> LatestPrices:
    """The sources `settings` turn on: the minute bars always (through a reader of their own, so
    that a slow database never holds the requests' readers), the polled ones LATEST_PRICES
    names, each with its base URL when given (`binance=URL`)."""
    reader = minute_reader(settings, readers=1)
    sources: list[PriceSource] = [MinuteCloses(reader, every=settings.live_cache_seconds)]
    polled: dict[str, tuple[type[BinanceTicker | AlpacaLatestBars], str]] = {
        "binance": (BinanceTicker, binance.MARKET_DATA_API_URL),
        "alpaca": (AlpacaLatestBars, alpaca.DATA_URL),
    }
    for item in filter(None, (settings.latest_prices or "").split(",")):
        name, _, url = item.strip().partition("=")
        kind, default = polled[name.lower()]
        every, timeout = settings.latest_price_seconds, settings.latest_price_timeout
        sources.append(kind((url or default).rstrip("/"), every, timeout))
    return LatestPrices(sources)
