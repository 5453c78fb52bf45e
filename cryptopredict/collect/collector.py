"""The Binance collector: stream closed minutes, backfill what the stream did not deliver.

Each round, before the stream is opened, every pair's missing minutes in the retention window
(by the clock) are fetched over REST: a new pair gets its history first, then its stream; a hole
anywhere (an outage, a minute the stream skipped, a REST row that was malformed) is asked for
again. Holes the exchange itself has (a clean answer without them, between stored minutes) are
not asked for again by this process. Then the stream: per connection, the first event of each
pair names the minute now running, and the minutes before it that the database still lacks are
fetched; later, a closed bar more than a minute after the newest stored one triggers the same.
While the stream runs, the window is searched for holes again every `REPAIR_EVERY` seconds.
The `x` flag says a minute is closed: REST is only asked for minutes before a running one (or
before the clock's), and nothing dated past the clock is ever stored.

Any failure (a dropped or refused connection, REST 5xx or garbage, a database fault) ends the
round; the next one starts after 1, 2, 4, ... up to 60 s (or the server's `Retry-After`): one
backoff, shared by the stream, REST and the database, reset only once a round's backfill has
succeeded on an open stream. Pairs past one connection's limits are split over several
connections (`binance.shards`), which fail and resume together.

The client is the `websockets` library rather than python-binance's socket manager: the base URL
is one string (BINANCE_WS_URL, where tests point it at a local server), reconnection and
backoff are ours to decide, and it connects to nothing but the stream.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from cryptopredict.assets import Asset
from cryptopredict.collect.binance import (
    MARKET_DATA_WS_URL,
    PAGE_BARS,
    STREAMS_PER_CONNECTION,
    Kline,
    KlinesClient,
    parse_event,
    shards,
    stream_url,
)
from cryptopredict.collect.writer import MinuteWriter, Outcome, stamp
from cryptopredict.config import CollectorSettings
from cryptopredict.exchanges.binance import MARKET_DATA_API_URL, REFUSED
from cryptopredict.exchanges.rest import RefusedError, UnavailableError
from cryptopredict.minutes.bars import MINUTE, MalformedBarError
from cryptopredict.minutes.store import StoreError
from cryptopredict.retry_after import retry_after_seconds

log = logging.getLogger(__name__)

STALL_SECONDS = 60.0  # Binance pushes each kline every two seconds; silence this long is a fault
REPAIR_EVERY = 600.0  # seconds between searches for holes while the stream runs


class Backoff:
    """Exponential waits between attempts: 1, 2, 4, ... up to 60 s, or the server's hint.

    Not tenacity (which `data/retry.py` retries a fetch with): its waits belong to one retried
    call, while this backoff is shared by the stream, REST and the database across rounds,
    and reset only when a round's backfill has succeeded."""

    def __init__(self, first: float = 1.0, cap: float = 60.0) -> None:
        self.first, self.cap = first, cap
        self._next = first

    def next(self, hint: float | None = None) -> float:
        delay = max(self._next, hint or 0.0)
        self._next = min(self.cap, self._next * 2)
        return delay

    def reset(self) -> None:
        self._next = self.first


class StreamMovedError(Exception):
    """The stream host refused with HTTP 451, and the market-data host is next."""


class BinanceCollector:
    def __init__(
        self,
        assets: list[Asset],
        writer: MinuteWriter,
        settings: CollectorSettings,
        *,
        ws_fallback: str = MARKET_DATA_WS_URL,
        api_fallback: str = MARKET_DATA_API_URL,
        backoff: Backoff | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        repair_every: float = REPAIR_EVERY,
        streams_per_connection: int = STREAMS_PER_CONNECTION,
    ) -> None:
        self.assets = assets
        self.by_symbol = {asset.binance_symbol: asset for asset in assets}
        self.by_slug = {asset.slug: asset for asset in assets}
        self.writer = writer
        self.ws_url = settings.binance_ws_url.rstrip("/")
        self.ws_fallback = ws_fallback.rstrip("/")
        self.open_timeout = settings.http_connect_timeout
        self.rest = KlinesClient(settings.binance_api_url, settings.http_read_timeout, api_fallback)
        self.backoff = backoff or Backoff()
        self.sleep = sleep
        self.repair_every = repair_every
        self.streams_per_connection = streams_per_connection
        # Per pair, holes the exchange answered without (its own gaps): not asked for again.
        self._settled: dict[str, set[tuple[int, int]]] = {}
        self._backfilled = False  # this round's backfill on an open stream succeeded

    async def run(self) -> None:
        """Collect until cancelled; raise RefusedError when Binance refuses on every host."""
        while True:
            try:
                await self.repair()
                await self._stream()
                reason: Exception = UnavailableError("the server closed the stream")
            except StreamMovedError:
                continue
            except (UnavailableError, StoreError) as error:
                reason = error
            except RefusedError:
                raise
            except Exception as error:  # a fault nobody foresaw must not stop the collector
                log.exception("binance: unexpected %s", type(error).__name__)
                reason = error
            delay = self.backoff.next(getattr(reason, "retry_after", None))
            log.warning("binance: %s; trying again in %.1f s", reason, delay)
            await self.sleep(delay)

    async def repair(self) -> None:
        """Fetch over REST every minute missing from the retention window, pair by pair."""
        self.writer.prune_if_due()
        for asset in self.assets:
            settled = self._settled.setdefault(asset.slug, set())
            holes = [hole for hole in self.writer.gaps(asset.slug) if hole not in settled]
            if not holes:
                continue
            stored = malformed = 0
            for start, end in _coalesce(holes, PAGE_BARS * MINUTE):
                got, bad = await self._fetch(asset, start, end)
                stored, malformed = stored + got, malformed + bad
            if not malformed:
                self._settle(asset.slug)
            log.log(
                logging.INFO if stored or malformed else logging.DEBUG,
                "%s: backfilled %d of the %d minutes missing from %s to %s over REST%s",
                asset.slug,
                stored,
                sum((end - start) // MINUTE for start, end in holes),
                stamp(holes[0][0]),
                stamp(holes[-1][1] - MINUTE),
                f"; {malformed} malformed rows, asked again later" if malformed else "",
            )

    def _settle(self, slug: str) -> None:
        """After a clean answer, the holes left before the newest minute are the exchange's own
        (a malformed row's minute is never settled: it is asked for again)."""
        settled = self._settled[slug]
        newest = self.writer.newest(slug)
        if newest is not None:
            settled.update(hole for hole in self.writer.gaps(slug) if hole[1] <= newest)
        oldest = self.writer.window_start()
        settled.difference_update([hole for hole in settled if hole[1] <= oldest])

    async def _fetch(self, asset: Asset, start: int, end: int) -> tuple[int, int]:
        """Store the minutes in [start, end) over REST, a page at a time (each page one write,
        so a stop loses at most the request in flight); returns how many were stored, and how
        many rows were malformed."""
        stored = malformed = 0
        following: int | None = start
        while following is not None:
            page = await asyncio.to_thread(self.rest.page, asset, following, end)
            stored += self.writer.fill(page.bars).count(Outcome.STORED)
            malformed += page.malformed
            following = page.following
        return stored, malformed

    async def _stream(self) -> None:
        """Every shard's connection, and the periodic repair, until one of them ends."""
        self._backfilled = False
        groups = shards(self.ws_url, self.assets, per_connection=self.streams_per_connection)
        tasks = [asyncio.ensure_future(self._session(group)) for group in groups]
        tasks.append(asyncio.ensure_future(self._repair_periodically()))
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _repair_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.repair_every)
            await self.repair()

    async def _session(self, assets: Sequence[Asset]) -> None:
        url = stream_url(self.ws_url, assets)
        where = f"{self.ws_url} ({_names(assets)})"
        try:
            async with connect(url, open_timeout=self.open_timeout, max_size=2**20) as socket:
                log.info("binance stream: connected to %s", where)
                await self._consume(socket)
        except InvalidStatus as error:
            status = error.response.status_code
            detail = f"HTTP {status} from the stream at {self.ws_url}"
            if status == 451 and self.ws_url != self.ws_fallback:
                log.warning(
                    "binance stream: HTTP 451 (not served in this region); moving to %s",
                    self.ws_fallback,
                )
                self.ws_url = self.ws_fallback
                raise StreamMovedError(detail) from None
            if status in REFUSED:
                raise RefusedError("binance", detail, status) from None
            raise UnavailableError(detail, retry_after_seconds(error.response.headers)) from None
        except ConnectionClosed as error:
            raise UnavailableError(f"the stream's connection dropped ({error})") from None
        except (OSError, TimeoutError, WebSocketException) as error:
            raise UnavailableError(f"the stream: {type(error).__name__}: {error}") from None

    async def _consume(self, socket: ClientConnection) -> None:
        primed: set[str] = set()
        while True:
            try:
                raw = await asyncio.wait_for(socket.recv(), STALL_SECONDS)
            except TimeoutError:
                raise UnavailableError(
                    f"no message on the stream for {STALL_SECONDS:.0f} s"
                ) from None
            try:
                kline = parse_event(raw, self.by_symbol)
            except MalformedBarError as error:
                log.warning("binance stream: skipped a malformed message: %s", error)
                continue
            await self._handle(kline, primed)

    async def _handle(self, kline: Kline, primed: set[str]) -> None:
        bar = kline.bar
        # A running minute opens at most now; a closed one at most a minute ago (one minute of
        # tolerance for clocks either way, as the writer has).
        latest = self.writer.clock() + (0 if kline.closed else MINUTE)
        if bar.ts > latest:
            log.warning(
                "%s: rejected a %s kline opening %s: from the future (the clock says %s)",
                bar.asset,
                "closed" if kline.closed else "running",
                stamp(bar.ts),
                stamp(int(self.writer.clock())),
            )
            return
        asset = self.by_slug[bar.asset]
        if bar.asset not in primed:
            await self._catch_up(asset, bar.ts)
            primed.add(bar.asset)
            if not self._backfilled:
                self._backfilled = True
                self.backoff.reset()
        if not kline.closed:
            return
        newest = self.writer.newest(bar.asset)
        if newest is not None and bar.ts > newest + MINUTE:
            await self._catch_up(asset, bar.ts)
        if self.writer.append([bar])[0] is Outcome.STORED:
            log.debug("%s: stored the %s minute", bar.asset, stamp(bar.ts))

    async def _catch_up(self, asset: Asset, until: int) -> None:
        """Store over REST the minutes from the newest stored one to `until`."""
        newest = self.writer.newest(asset.slug)
        start = self.writer.window_start()
        if newest is not None:
            start = max(start, newest + MINUTE)
        until = min(until, self.writer.current_minute())
        if start >= until:
            return
        stored, _ = await self._fetch(asset, start, until)
        log.info(
            "%s: backfilled %d minutes over REST (asked %s to %s)",
            asset.slug,
            stored,
            stamp(start),
            stamp(until - MINUTE),
        )


def _coalesce(holes: list[tuple[int, int]], span: int) -> list[tuple[int, int]]:
    """The holes as few ranges to ask for: neighbours closer than a page share a request (the
    minutes between them come back again and change nothing)."""
    ranges: list[tuple[int, int]] = []
    for start, end in holes:
        if ranges and end - ranges[-1][0] <= span:
            ranges[-1] = (ranges[-1][0], end)
        else:
            ranges.append((start, end))
    return ranges


def _names(assets: Sequence[Asset], shown: int = 3) -> str:
    """`1 stream: btcusdt`, `2 streams: btcusdt, ethusdt`, `5 streams: a, b, c and 2 more`."""
    names = [f"{asset.binance_symbol.lower()}@kline_1m" for asset in assets]
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return f"{len(names)} stream{'s' if len(names) > 1 else ''}: {', '.join(names[:shown])}{more}"
