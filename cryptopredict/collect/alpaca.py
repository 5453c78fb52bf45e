"""The second source, where Binance refuses on every host: Alpaca's crypto stream (alpaca-py).

Alpaca sends each minute bar once the minute is over, so every bar it sends is closed. Its
stream needs an API key (ALPACA_API_KEY, ALPACA_SECRET_KEY) and reconnects by itself, in its
own thread; bars reach the storage path through a queue on the collector's event loop. A bar
more than a minute after the newest stored one (a start, a reconnect, a quiet spell) first
fills the gap from Alpaca's historical bars (`HistoryClient`, over `exchanges.alpaca`, as the
Binance backfill is over `exchanges.binance`). Alpaca builds crypto bars from trades on its own
venue: quiet minutes have no bar, and prices are in USD where Binance's are in USDT (each row
records its source).

alpaca-py needs pandas, so this module is imported only when the fallback starts: the
training requirements have it, the slim serving image does not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from alpaca.data.live.crypto import CryptoDataStream

from cryptopredict.assets import Asset
from cryptopredict.collect.writer import MinuteWriter, stamp
from cryptopredict.config import CollectorSettings
from cryptopredict.exchanges import alpaca as alpaca_rest
from cryptopredict.exchanges.rest import MissingKeysError, RefusedError, UnavailableError, snippet
from cryptopredict.minutes.bars import MINUTE, MalformedBarError, MinuteBar

log = logging.getLogger(__name__)

NAME = alpaca_rest.NAME
# alpaca-py reconnects in its own thread; a thread that ended (a refused login, say) sends
# nothing more, so a silence this long makes the collector look at it.
QUIET_SECONDS = 90.0
PAGE_BARS = 10_000  # the most Alpaca's historical bars answer at once
MAX_WAIT = 30.0  # seconds, the longest wait between two tries, whatever Retry-After asks


def parse_bar(message: Mapping[str, Any], by_symbol: Mapping[str, Asset]) -> MinuteBar:
    """A bar from one raw stream message (`T` "b"; `t` is a msgpack timestamp)."""
    try:
        asset = by_symbol[message["S"]]
        opened = message["t"]
        seconds = opened.to_unix() if hasattr(opened, "to_unix") else float(opened)
        ohlcv = [float(message[key]) for key in ("o", "h", "l", "c", "v")]
        ts = int(seconds)
        if ts != seconds:
            raise MalformedBarError(f"bar time {opened!r} is not a whole minute")
        return _bar(asset, ts, ohlcv, float(message.get("vw") or 0.0))
    except MalformedBarError:
        raise
    except (KeyError, TypeError, ValueError) as error:
        raise MalformedBarError(f"{type(error).__name__} {error} in {message!r}"[:300]) from None


def parse_history_bar(row: object, asset: Asset) -> MinuteBar:
    """A bar from one row of Alpaca's historical bars (`t` an RFC 3339 time)."""
    try:
        if not isinstance(row, dict):
            raise TypeError("not an object")
        opened = datetime.fromisoformat(row["t"])
        if opened.tzinfo is None:
            raise MalformedBarError(f"bar time {row['t']!r} has no offset")
        seconds = opened.timestamp()
        ts = int(seconds)
        if ts != seconds:
            raise MalformedBarError(f"bar time {row['t']!r} is not a whole minute")
        ohlcv = [float(row[key]) for key in ("o", "h", "l", "c", "v")]
        return _bar(asset, ts, ohlcv, float(row.get("vw") or 0.0))
    except MalformedBarError:
        raise
    except (KeyError, TypeError, ValueError) as error:
        raise MalformedBarError(f"{type(error).__name__} {error} in {row!r}"[:300]) from None


def _bar(asset: Asset, ts: int, ohlcv: list[float], vwap: float) -> MinuteBar:
    """Alpaca's bar; the typical price as its VWAP when Alpaca gives none."""
    if vwap <= 0:
        return MinuteBar.build(asset.slug, ts, *ohlcv, quote_volume=None, source=NAME)
    open_, high, low, close, volume = ohlcv
    return MinuteBar(asset.slug, ts, open_, high, low, close, volume, vwap, NAME)


class HistoryClient:
    """Closed minutes of one pair from Alpaca's historical crypto bars
    (`<base>/v1beta3/crypto/us/bars`), page after page. Each request is tried `attempts` times
    on 429, 5xx, timeouts and dropped connections (UnavailableError after the last), waiting
    as Retry-After says (30 s at most), or 1, 2, 4 s; a refusal (`exchanges.alpaca.REFUSED`:
    its keys, a bad request) is a RefusedError, not tried again."""

    def __init__(
        self,
        keys: tuple[str, str],
        timeout: float,
        attempts: int,
        base_url: str = alpaca_rest.DATA_URL,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.headers = {"APCA-API-KEY-ID": keys[0], "APCA-API-SECRET-KEY": keys[1]}
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.base_url = base_url.rstrip("/")
        self.sleep = sleep

    def minutes(self, asset: Asset, start: int, end: int) -> list[MinuteBar]:
        """The bars of `asset` opening in [start, end) (epoch seconds), oldest first; a malformed
        one, or one outside the range, is logged and skipped."""
        query = {
            "symbols": asset.alpaca_symbol,
            "timeframe": "1Min",
            "start": _rfc3339(start),
            "end": _rfc3339(end - 1),  # Alpaca's end is inclusive
            "limit": PAGE_BARS,
            "sort": "asc",
        }
        bars: list[MinuteBar] = []
        while True:
            page = self._get(query)
            by_symbol = page.get("bars") or {}  # no bars: null, or no entry for the symbol
            rows = by_symbol.get(asset.alpaca_symbol, []) if isinstance(by_symbol, dict) else None
            if not isinstance(rows, list):
                raise UnavailableError(f"alpaca history: no bar list in {snippet(page)}")
            for row in rows:
                try:
                    bar = parse_history_bar(row, asset)
                except MalformedBarError as error:
                    log.warning("%s: skipped a malformed historical bar: %s", asset.slug, error)
                    continue
                if start <= bar.ts < end:
                    bars.append(bar)
                else:
                    log.warning(
                        "%s: skipped a historical bar opening %s", asset.slug, stamp(bar.ts)
                    )
            token = page.get("next_page_token")
            if not token:
                return bars
            query["page_token"] = token

    def _get(self, query: Mapping[str, object]) -> dict:
        failed = 0
        while True:
            try:
                return alpaca_rest.bars(
                    self.base_url, query, timeout=self.timeout, headers=self.headers
                )
            except UnavailableError as error:
                failed += 1
                if failed == self.attempts:
                    raise
                asked = error.retry_after if error.retry_after is not None else 2.0 ** (failed - 1)
                wait = min(asked, MAX_WAIT)
                log.warning("alpaca history: %s; trying again in %.0f s", error, wait)
                self.sleep(wait)


def _rfc3339(epoch: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


class AlpacaCollector:
    def __init__(
        self,
        assets: list[Asset],
        writer: MinuteWriter,
        settings: CollectorSettings,
        *,
        url: str | None = None,
        history_url: str = alpaca_rest.DATA_URL,
    ) -> None:
        if not (settings.alpaca_api_key and settings.alpaca_secret_key):
            raise MissingKeysError(
                "Alpaca's stream needs ALPACA_API_KEY and ALPACA_SECRET_KEY (free keys at "
                "alpaca.markets)"
            )
        self.assets = assets
        self.by_symbol = {asset.alpaca_symbol: asset for asset in assets}
        self.writer = writer
        self.settings = settings
        self.url = url
        self.history = HistoryClient(
            (settings.alpaca_api_key or "", settings.alpaca_secret_key or ""),
            settings.http_read_timeout,
            settings.http_attempts,
            history_url,
        )

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Mapping[str, Any]] = asyncio.Queue()

        async def on_bar(message: Any) -> None:  # raw_data: a dict; runs in the stream's thread
            loop.call_soon_threadsafe(queue.put_nowait, message)

        stream = CryptoDataStream(
            self.settings.alpaca_api_key or "",
            self.settings.alpaca_secret_key or "",
            raw_data=True,
            url_override=self.url,
        )
        stream.subscribe_bars(on_bar, *self.by_symbol)
        thread = threading.Thread(target=stream.run, name="alpaca-stream", daemon=True)
        thread.start()
        log.info("alpaca stream: subscribed to %s minute bars", ", ".join(self.by_symbol))
        try:
            while True:
                try:
                    message = await asyncio.wait_for(queue.get(), QUIET_SECONDS)
                except TimeoutError:
                    if thread.is_alive():
                        continue  # quiet minutes have no bar
                    raise UnavailableError("alpaca stream: its thread stopped") from None
                try:
                    bar = parse_bar(message, self.by_symbol)
                except MalformedBarError as error:
                    log.warning("alpaca stream: skipped a malformed bar: %s", error)
                    continue
                await self._fill_gap(bar)
                self.writer.write(bar)
        finally:
            await asyncio.to_thread(_stop, stream, thread)

    async def _fill_gap(self, bar: MinuteBar) -> None:
        newest = self.writer.newest(bar.asset)
        start = self.writer.window_start()
        if newest is not None:
            start = max(start, newest + MINUTE)
        if start >= bar.ts:
            return
        asset = next(asset for asset in self.assets if asset.slug == bar.asset)
        try:
            bars = await asyncio.to_thread(self.history.minutes, asset, start, bar.ts)
        except (UnavailableError, RefusedError) as error:
            log.warning("%s: could not fill the gap before %s: %s", bar.asset, stamp(bar.ts), error)
            return
        self.writer.fill(bars)
        log.info("%s: filled %d minutes before %s from Alpaca", bar.asset, len(bars), stamp(bar.ts))


def _stop(stream: CryptoDataStream, thread: threading.Thread) -> None:
    # stop() asks the stream's own event loop to close the connection; that loop exists once
    # the thread has started running it.
    if thread.is_alive():
        with contextlib.suppress(AttributeError):  # the thread had no loop yet
            stream.stop()
        thread.join(timeout=10)
