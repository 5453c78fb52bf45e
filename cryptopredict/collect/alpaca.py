"""The second source, where Binance refuses on every host: Alpaca's crypto stream (alpaca-py).

Alpaca sends each minute bar once the minute is over, so every bar it sends is closed. Its
stream needs an API key (ALPACA_API_KEY, ALPACA_SECRET_KEY) and reconnects by itself, in its
own thread; bars reach the storage path through a queue on the collector's event loop. A bar
more than a minute after the newest stored one (a start, a reconnect, a quiet spell) first
fills the gap from Alpaca's historical bars. Alpaca builds crypto bars from trades on its own
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
from collections.abc import Mapping
from typing import Any

import pandas as pd
from alpaca.data.live.crypto import CryptoDataStream

from cryptopredict.assets import Asset
from cryptopredict.candles import Interval
from cryptopredict.collect.bars import MINUTE, MalformedBarError, MinuteBar
from cryptopredict.collect.errors import MissingKeysError, UnavailableError
from cryptopredict.collect.writer import MinuteWriter, stamp
from cryptopredict.config import Settings
from cryptopredict.data.alpaca import AlpacaSource
from cryptopredict.data.errors import DataError
from cryptopredict.data.query import BarQuery

log = logging.getLogger(__name__)

NAME = "alpaca"
# alpaca-py reconnects in its own thread; a thread that ended (a refused login, say) sends
# nothing more, so a silence this long makes the collector look at it.
QUIET_SECONDS = 90.0


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
        vwap = float(message.get("vw") or 0.0)
        if vwap <= 0:
            return MinuteBar.build(asset.slug, ts, *ohlcv, quote_volume=None, source=NAME)
        open_, high, low, close, volume = ohlcv
        return MinuteBar(asset.slug, ts, open_, high, low, close, volume, vwap, NAME)
    except MalformedBarError:
        raise
    except (KeyError, TypeError, ValueError) as error:
        raise MalformedBarError(f"{type(error).__name__} {error} in {message!r}"[:300]) from None


class AlpacaCollector:
    def __init__(
        self,
        assets: list[Asset],
        writer: MinuteWriter,
        settings: Settings,
        *,
        url: str | None = None,
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
        query = BarQuery(
            asset,
            Interval.parse("1m"),
            pd.Timestamp(start, unit="s", tz="UTC"),
            pd.Timestamp(bar.ts, unit="s", tz="UTC"),
        )
        try:
            frame = await asyncio.to_thread(AlpacaSource(self.settings).fetch, query)
        except DataError as error:
            log.warning("%s: could not fill the gap before %s: %s", bar.asset, stamp(bar.ts), error)
            return
        bars = []
        for row in frame.itertuples():
            try:
                bars.append(
                    MinuteBar(
                        bar.asset,
                        int(row.timestamp.timestamp()),
                        row.open,
                        row.high,
                        row.low,
                        row.close,
                        row.volume,
                        row.vwap if row.vwap > 0 else (row.high + row.low + row.close) / 3,
                        NAME,
                    )
                )
            except MalformedBarError as error:
                log.warning("%s: skipped a malformed historical bar: %s", bar.asset, error)
        self.writer.fill(bars)
        log.info("%s: filled %d minutes before %s from Alpaca", bar.asset, len(bars), stamp(bar.ts))


def _stop(stream: CryptoDataStream, thread: threading.Thread) -> None:
    # stop() asks the stream's own event loop to close the connection; that loop exists once
    # the thread has started running it.
    if thread.is_alive():
        with contextlib.suppress(AttributeError):  # the thread had no loop yet
            stream.stop()
        thread.join(timeout=10)
