"""The latest price of each asset, which the forecasts start from, and how the market feed's
polls went, read from the feed's database when the feed polls (`read`, after each of its rounds
where it runs beside the API) and on a thread of its own every LIVE_CACHE_SECONDS, whether
requests come or not: a lookup answers at once from the last read. An asset's price is the newer of
the feed's latest price and the close of its newest minute bar at its own time (a replay moved
to now is not the price then). One `LatestPrices` a process, handed to every application built."""

from __future__ import annotations

import threading
import time
import weakref

from cryptopredict.api.market import SOURCES, minute_reader
from cryptopredict.api.serving.forecast import LatestPrice
from cryptopredict.api.types.forecast import AnchorSource
from cryptopredict.api.types.model import FeedHealth
from cryptopredict.assets import UnknownPairError, asset_for_symbol
from cryptopredict.config import ApiSettings
from cryptopredict.minutes.bars import MINUTE, FeedStatus, Quote
from cryptopredict.minutes.reader import MinuteReader
from cryptopredict.minutes.store import LastBar, StoreError
from cryptopredict.utc import iso_utc

UNOPENED = "its database cannot be opened (DATABASE_URL: the log says why)"
FIRST_READ_SECONDS = 5.0  # what the first lookup waits for the first read, at most


class LatestPrices:
    def __init__(
        self, reader: MinuteReader, *, every: float, fed_after: float | None = None
    ) -> None:
        """`fed_after`: where a feed fills the database, the seconds after which one that cannot
        be opened is said as the feed failing (it cannot record so itself)."""
        self.reader = reader
        self.every, self.fed_after = every, fed_after
        self._unopened_since: int | None = None
        self.prices: dict[str, LatestPrice] = {}
        self._status: FeedStatus | None = None
        self._wake = threading.Event()  # set once the first read is done
        self._lock, self._reading = threading.Lock(), threading.Lock()
        self._thread = threading.Thread(
            target=self._run, args=(weakref.ref(self), every), name="latest-prices", daemon=True
        )

    def of(self, slug: str) -> LatestPrice | None:
        self.refresh()
        return self.prices.get(slug)

    def health(self) -> FeedStatus | None:
        self.refresh()
        return self._status

    def refresh(self) -> None:
        """Reading from now on, every `every` seconds (started by the first lookup, which waits
        for the first read; ended once this is collected)."""
        if self._thread.ident is None:
            with self._lock:
                if self._thread.ident is None:
                    self._thread.start()
                    self._wake.wait(FIRST_READ_SECONDS)

    @staticmethod
    def _run(ref: weakref.ref[LatestPrices], every: float) -> None:
        while (latest := ref()) is not None:
            latest.read()
            latest._wake.set()
            del latest
            time.sleep(every)

    def read(self) -> None:
        """Read now (the feed beside the API calls it after each round)."""
        with self._reading:
            try:
                with self.reader.open() as store:
                    quotes, bars, status = store.quotes(), store.newest_bars(), store.status()
            except StoreError:  # the reader logged why; what was read before stays
                now = int(time.time())
                since = self._unopened_since = self._unopened_since or now
                said = self._status is None or not self._status.sources
                if self.fed_after is not None and said and now - since > self.fed_after:
                    self._status = FeedStatus((), None, UNOPENED, now, since)
            else:
                self._unopened_since = None
                prices = [*map(_quoted, quotes), *map(_closed, bars.items())]
                newest: dict[str, LatestPrice] = {}
                for slug, price in filter(None, prices):
                    if slug not in newest or price.epoch > newest[slug].epoch:
                        newest[slug] = price
                self.prices, self._status = newest, status


def _quoted(quote: Quote) -> tuple[str, LatestPrice] | None:
    try:
        asset = asset_for_symbol(quote.asset)
    except UnknownPairError:
        return None
    if quote.source == AnchorSource.BINANCE:
        detail = f"Binance's ticker price of {asset.binance_symbol}, read at that instant"
    elif quote.source == AnchorSource.ALPACA:
        detail = f"the close of Alpaca's latest minute bar of {asset.alpaca_symbol}"
    else:
        return None
    return quote.asset, LatestPrice(quote.at, quote.price, AnchorSource(quote.source), detail)


def _closed(item: tuple[str, LastBar]) -> tuple[str, LatestPrice] | None:
    slug, bar = item
    if bar.shifted_by != 0:  # moved in time: not the price then
        return None
    said = "the close of the newest minute bar the collector stored"
    if bar.source == "replay":
        detail = f"{said}, from a replay of recorded minutes at their own times (not live data)"
    else:
        detail = f"{said}, from {SOURCES.get(bar.source, bar.source)}"
    opened, close = int(bar.ohlcv[0]), float(bar.ohlcv[4])
    return slug, LatestPrice(opened + MINUTE, close, AnchorSource.MINUTES, detail)


def feed_health(
    status: FeedStatus | None, failing_after: float, now: float | None = None
) -> tuple[FeedHealth | None, list[str]]:
    """`/healthz`'s account of the feed, and the reason it makes the service `degraded`: polls
    failing, or none recorded, for longer than `failing_after` seconds."""
    if status is None:
        return None, []
    now = time.time() if now is None else now
    when = {
        name: None if (epoch := getattr(status, name)) is None else iso_utc(epoch)
        for name in ("last_success", "last_error_at", "failing_since")
    }
    health = FeedHealth(sources=list(status.sources), last_error=status.last_error, **when)
    setting = f"POLLER_FAILING_AFTER is {failing_after:g} s"
    before = "the forecasts start from the prices read before"
    if status.stopped(failing_after, now) and status.last_success is not None:
        quiet = now - status.last_success
        return health, [
            f"the market feed has recorded no poll for {quiet / 60:,.0f} min (the last succeeded "
            f"at {iso_utc(status.last_success)}; {setting}): it has stopped (where it runs as a "
            f"process of its own, `python -m cryptopredict.collect`, that process); {before}"
        ]
    since = status.failing_since
    if since is None or now - since <= failing_after:
        return health, []
    said = (
        f"the market feed's polls have failed for {(now - since) / 60:,.0f} min (since "
        f"{iso_utc(since)}; {setting}): {status.last_error}; {before}"
    )
    return health, [said]


def latest_prices(settings: ApiSettings) -> LatestPrices:
    """A reader of its own, so that a slow database never holds the requests' readers."""
    return LatestPrices(
        minute_reader(settings, readers=1),
        every=settings.live_cache_seconds,
        fed_after=settings.poller_failing_after if settings.latest_prices else None,
    )
