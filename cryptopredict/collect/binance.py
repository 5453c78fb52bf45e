"""Binance's minute klines: the websocket stream's events and the REST backfill.

The stream is `<base>/stream?streams=<symbol>@kline_1m/...` (combined: every message says which
stream it is from); the REST endpoint is `<base>/api/v3/klines` (`exchanges.binance`). Binance
answers HTTP 451 to some regions; both then move, once, to Binance's market-data-only hosts, as
the history fetch does.

One connection carries every pair, up to Binance's limits, past which the pairs are split over
as many connections as needed (`stream_urls`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cryptopredict.assets import Asset
from cryptopredict.exchanges import binance as binance_rest
from cryptopredict.exchanges.rest import RefusedError, snippet
from cryptopredict.minutes.bars import MINUTE, MalformedBarError, MinuteBar, stamp

log = logging.getLogger(__name__)

NAME = binance_rest.NAME
MARKET_DATA_WS_URL = "wss://data-stream.binance.vision"
PAGE_BARS = 1000
# "A single connection can listen to a maximum of 1024 streams." (Binance spot API docs,
# web-socket-streams.md, "Websocket Limits":
# https://github.com/binance/binance-spot-api-docs/blob/master/web-socket-streams.md)
STREAMS_PER_CONNECTION = 1024
# The streams are named in the URL, and Binance's stream servers have refused URLs past 8,004
# characters (oliver-zehentleitner/unicorn-binance-websocket-api, issue 19); 1024 kline streams
# take about 20,000. So a connection also stops short of that length.
MAX_URL_CHARS = 8000
# A REST kline is [open time, open, high, low, close, volume, close time, quote volume, ...].
_KLINE_FIELDS = 8


@dataclass(frozen=True)
class Kline:
    bar: MinuteBar
    closed: bool  # Binance's `x`: the minute is over and the bar final


@dataclass(frozen=True)
class Page:
    bars: list[MinuteBar]
    following: int | None  # where the next page starts; None after the last
    malformed: int  # rows skipped as malformed (their minutes are asked again later)


def stream_name(asset: Asset) -> str:
    return f"{asset.binance_symbol.lower()}@kline_1m"


def stream_url(base: str, assets: Sequence[Asset]) -> str:
    return f"{base.rstrip('/')}/stream?streams={'/'.join(map(stream_name, assets))}"


def shards(
    base: str,
    assets: Sequence[Asset],
    *,
    per_connection: int = STREAMS_PER_CONNECTION,
    max_chars: int = MAX_URL_CHARS,
) -> list[list[Asset]]:
    """`assets` split into the fewest groups, in order, that each fit one connection."""
    groups: list[list[Asset]] = []
    length = 0  # of the last group's URL
    for asset in assets:
        added = len(stream_name(asset)) + 1  # and its "/"
        if groups and len(groups[-1]) < per_connection and length + added <= max_chars:
            groups[-1].append(asset)
            length += added
        else:
            groups.append([asset])
            length = len(stream_url(base, [asset]))
    return groups


def parse_event(raw: str | bytes, by_symbol: Mapping[str, Asset]) -> Kline:
    """The kline in one combined-stream message; MalformedBarError for anything else."""
    try:
        message = json.loads(raw)
        kline = message["data"]["k"]
        if message["data"]["e"] != "kline" or kline["i"] != "1m":
            raise MalformedBarError(f"not a 1m kline event: {snippet(raw)}")
        asset = by_symbol[kline["s"]]
        closed = kline["x"]
        if not isinstance(closed, bool):
            raise MalformedBarError(f"kline flag x is {closed!r}, not true or false")
        ohlcv = (kline["o"], kline["h"], kline["l"], kline["c"], kline["v"])
        bar = _bar(asset, kline["t"], ohlcv, kline["q"])
    except MalformedBarError:
        raise
    except (ValueError, KeyError, TypeError, RecursionError) as error:
        # RecursionError: JSON nested deeper than the parser's stack (json.loads recurses).
        raise MalformedBarError(f"{type(error).__name__} {error} in {snippet(raw)}") from None
    return Kline(bar, closed)


def parse_rest_kline(row: object, asset: Asset) -> MinuteBar:
    if not isinstance(row, list) or len(row) < _KLINE_FIELDS:
        raise MalformedBarError(f"not a kline: {row!r}"[:200])
    try:
        return _bar(asset, row[0], row[1:6], row[7])
    except (ValueError, TypeError) as error:
        raise MalformedBarError(f"{error} in kline {row!r}"[:200]) from None


def _bar(asset: Asset, open_ms: object, ohlcv: Sequence[object], quote: object) -> MinuteBar:
    if not isinstance(open_ms, int) or isinstance(open_ms, bool) or open_ms % (MINUTE * 1000):
        raise MalformedBarError(f"open time {open_ms!r} is not a whole minute in milliseconds")
    values = [_number(value) for value in ohlcv]
    return MinuteBar.build(
        asset.slug, open_ms // 1000, *values, quote_volume=_number(quote), source=NAME
    )


def _number(value: object) -> float:
    # Binance sends prices and volumes as decimal strings; anything else is malformed.
    if not isinstance(value, str):
        raise MalformedBarError(f"{value!r} is not a decimal string")
    return float(value)


class KlinesClient:
    """Closed minutes from `<base>/api/v3/klines`, 1000 a page."""

    def __init__(
        self,
        base_url: str,
        timeout: float,
        fallback_url: str = binance_rest.MARKET_DATA_API_URL,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.fallback_url = fallback_url.rstrip("/")
        self.timeout = timeout

    def page(self, asset: Asset, start: int, end: int) -> Page:
        """Up to 1000 bars opening in [start, end) (epoch seconds), and where the next page
        starts. All are closed when `end` is the open time of a minute the stream reports as
        running, or the clock's."""
        rows = self._get_page(asset, start, end)
        bars, malformed = [], 0
        for row in rows:
            try:
                bar = parse_rest_kline(row, asset)
            except MalformedBarError as error:
                malformed += 1
                log.warning("%s: skipped a malformed REST kline: %s", asset.slug, error)
                continue
            if start <= bar.ts < end:
                bars.append(bar)
            else:
                log.warning(
                    "%s: skipped a REST kline opening %s, outside the %s to %s asked for",
                    asset.slug,
                    stamp(bar.ts),
                    stamp(start),
                    stamp(end - MINUTE),
                )
        following = bars[-1].ts + MINUTE if bars else start + PAGE_BARS * MINUTE
        more = len(rows) >= PAGE_BARS and following < end
        return Page(bars, following if more else None, malformed)

    def _get_page(self, asset: Asset, start: int, end: int) -> list:
        query = {
            "symbol": asset.binance_symbol,
            "interval": "1m",
            "startTime": start * 1000,
            "endTime": end * 1000 - 1,
            "limit": PAGE_BARS,
        }
        try:
            return binance_rest.klines(self.base_url, query, timeout=self.timeout)
        except RefusedError as error:
            if error.status != 451 or self.base_url == self.fallback_url:
                raise
            log.warning(
                "binance REST: HTTP 451 (not served in this region); moving to %s",
                self.fallback_url,
            )
            self.base_url = self.fallback_url
            return binance_rest.klines(self.base_url, query, timeout=self.timeout)
