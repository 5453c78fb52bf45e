"""The Binance collector: stream closed minutes, backfill what the stream did not deliver.

Per connection, the first event of each asset names the minute now running; every minute
before it that the database lacks (from the newest stored one, or the whole retention when
there is none) is fetched over REST first. So a start, a reconnect and a dropped connection all
end the same way: no gap, nothing twice. Later, a closed bar more than a minute after the newest
stored one (the stream skipped minutes) triggers the same backfill. The `x` flag, never the
clock, says a minute is closed: REST is only asked for minutes before a running one.

The client is the `websockets` library rather than python-binance's socket manager: the base URL
is one string (BINANCE_WS_URL, where tests point it at a local server), reconnection and
backoff are ours to decide, and it connects to nothing but the stream.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from cryptopredict.assets import Asset
from cryptopredict.collect.bars import MINUTE, MalformedBarError
from cryptopredict.collect.binance import (
    MARKET_DATA_API_URL,
    MARKET_DATA_WS_URL,
    REFUSED,
    Kline,
    KlinesClient,
    parse_event,
    stream_url,
)
from cryptopredict.collect.errors import RefusedError, UnavailableError, retry_after
from cryptopredict.collect.writer import MinuteWriter, Outcome, stamp
from cryptopredict.config import Settings

log = logging.getLogger(__name__)

STALL_SECONDS = 60.0  # Binance pushes each kline every two seconds; silence this long is a fault


class Backoff:
    """Exponential waits between reconnections, reset once a connection delivers data."""

    def __init__(self, first: float = 1.0, cap: float = 60.0) -> None:
        self.first, self.cap = first, cap
        self._next = first

    def next(self, hint: float | None = None) -> float:
        delay = max(self._next, hint or 0.0)
        self._next = min(self.cap, self._next * 2)
        return delay

    def reset(self) -> None:
        self._next = self.first


class BinanceCollector:
    def __init__(
        self,
        assets: list[Asset],
        writer: MinuteWriter,
        settings: Settings,
        *,
        ws_fallback: str = MARKET_DATA_WS_URL,
        api_fallback: str = MARKET_DATA_API_URL,
        backoff: Backoff | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.assets = assets
        self.by_symbol = {asset.binance_symbol: asset for asset in assets}
        self.writer = writer
        self.ws_url = settings.binance_ws_url.rstrip("/")
        self.ws_fallback = ws_fallback.rstrip("/")
        self.open_timeout = settings.http_connect_timeout
        self.rest = KlinesClient(settings.binance_api_url, settings.http_read_timeout, api_fallback)
        self.retention = int(settings.minute_retention_days * 86_400) // MINUTE * MINUTE
        self.backoff = backoff or Backoff()
        self.sleep = sleep

    async def run(self) -> None:
        """Collect until cancelled; raise RefusedError when Binance refuses on every host."""
        while True:
            try:
                await self._session()
                reason: Exception = UnavailableError("the server closed the stream")
            except UnavailableError as error:
                reason = error
            except RefusedError as error:
                if error.status != 451 or self.ws_url == self.ws_fallback:
                    raise
                log.warning(
                    "binance stream: HTTP 451 (not served in this region); moving to %s",
                    self.ws_fallback,
                )
                self.ws_url = self.ws_fallback
                continue
            delay = self.backoff.next(getattr(reason, "retry_after", None))
            log.warning("binance stream: %s; reconnecting in %.1f s", reason, delay)
            await self.sleep(delay)

    async def _session(self) -> None:
        url = stream_url(self.ws_url, self.assets)
        try:
            async with connect(url, open_timeout=self.open_timeout, max_size=2**20) as socket:
                log.info("binance stream: connected to %s", url)
                await self._consume(socket)
        except InvalidStatus as error:
            status = error.response.status_code
            detail = f"HTTP {status} from the stream at {self.ws_url}"
            if status in REFUSED:
                raise RefusedError("binance", detail, status) from None
            raise UnavailableError(detail, retry_after(error.response.headers)) from None
        except ConnectionClosed as error:
            raise UnavailableError(f"connection dropped ({error})") from None
        except (OSError, TimeoutError, WebSocketException) as error:
            raise UnavailableError(f"{type(error).__name__}: {error}") from None

    async def _consume(self, socket: ClientConnection) -> None:
        primed: set[str] = set()
        while True:
            try:
                raw = await asyncio.wait_for(socket.recv(), STALL_SECONDS)
            except TimeoutError:
                raise UnavailableError(f"no message for {STALL_SECONDS:.0f} s") from None
            try:
                kline = parse_event(raw, self.by_symbol)
            except MalformedBarError as error:
                log.warning("binance stream: skipped a malformed message: %s", error)
                continue
            self.backoff.reset()
            await self._handle(kline, primed)

    async def _handle(self, kline: Kline, primed: set[str]) -> None:
        bar = kline.bar
        if bar.asset not in primed:
            primed.add(bar.asset)
            await self._backfill(bar.asset, until=bar.ts)
        if not kline.closed:
            return
        newest = self.writer.newest(bar.asset)
        if newest is not None and bar.ts > newest + MINUTE:
            await self._backfill(bar.asset, until=bar.ts)
        if self.writer.write(bar) is Outcome.STORED:
            log.debug("%s: stored the %s minute", bar.asset, stamp(bar.ts))

    async def _backfill(self, slug: str, until: int) -> None:
        """Store over REST the minutes before `until` that the database lacks, a page at a
        time (each page one write, so a stop loses at most the request in flight)."""
        newest = self.writer.newest(slug)
        start: int | None = newest + MINUTE if newest is not None else until - self.retention
        if start is None or start >= until:
            return
        asset = next(asset for asset in self.assets if asset.slug == slug)
        asked, stored = start, 0
        while start is not None:
            bars, start = await asyncio.to_thread(self.rest.page, asset, start, until)
            stored += self.writer.write_many(bars).count(Outcome.STORED)
        log.info(
            "%s: backfilled %d minutes over REST (asked %s to %s)",
            slug,
            stored,
            stamp(asked),
            stamp(until - MINUTE),
        )
