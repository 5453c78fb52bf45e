"""The routes of market bars: `/candles/{asset}`, candles of an artifact's history at any whole
multiple of its interval; and from the market feed's minute bars (DATABASE_URL), `/live`,
`/price/{asset}` and the candles finer than a model's bars. The minutes are read on each request
through `MinuteReader` (short timeouts, a failure remembered, a few threads at once): a database
that appears later is picked up, and one slow or gone costs the forecast routes nothing. Answers
never say where the database is; the log says why, in full."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec
import numpy as np
from flask import Response, request
from msgspec import UNSET

from cryptopredict.api.errors import (
    ApiError,
    OutOfRangeError,
    TooManyPointsError,
    UnsupportedIntervalError,
)
from cryptopredict.api.http import csv_response, json_response, public_cache, read
from cryptopredict.api.openapi import ASSET_UNAVAILABLE, CSV_TWIN, Blueprint, document
from cryptopredict.api.serving.candles import CandleSource
from cryptopredict.api.types.market import (
    DEFAULT_COUNT,
    CandleColumns,
    CandleRange,
    CandlesQuery,
    LevelQuery,
    LiveStatus,
    MinuteWindow,
    Price,
    PriceForecast,
)
from cryptopredict.artifact.arrays import HISTORY_ARRAYS, BarHistory
from cryptopredict.candles import Candles, Interval, aggregate
from cryptopredict.config import ApiSettings
from cryptopredict.minutes.reader import MinuteReader, ReadersBusyError
from cryptopredict.minutes.store import MinuteStore, NoDatabaseError, StoreError, Window
from cryptopredict.postprocess import price_decimals
from cryptopredict.utc import iso_dates, iso_utc

if TYPE_CHECKING:
    from cryptopredict.api.serving.catalog import Catalog, CatalogEntry

T = TypeVar("T")
MINUTE = Interval.parse("1m")
NO_CACHE = "no-cache"  # minutes change every minute: always ask again
NOT_COLLECTED = (
    "no live minute bars are stored yet: the market feed stores them (the API runs it when "
    "LATEST_PRICES names an exchange; docs/live-data.md)"
)
CANNOT_READ = "minute data is unavailable now; the operator's log says why. Try again shortly"
BUSY = (
    "minute data is unavailable now: every thread allowed to read it is waiting on the "
    "database. Try again shortly"
)
PRICE_ERRORS = {
    400: "`level` is not one of the served bands (50, 80, 95).",
    404: "No such asset is served, or no minute bars of it are stored (the detail says which).",
    503: "The minute-bar database cannot be read now (a server that is down or too slow, a file "
    "that is not a database, a malformed DATABASE_URL), or every thread allowed to read it is "
    f"busy: try again in a few seconds. The operator's log says why. Or: {ASSET_UNAVAILABLE}",
}
SOURCES = {"binance": "Binance", "alpaca": "Alpaca", "replay": "a replay"}


COLUMNS = ("open", "high", "low", "close", "volume", "vwap")
VOLUME_DECIMALS = 8  # the exchanges' finest step: a sum's float noise is not shown
ERRORS = {
    400: "Malformed input: a repeated or unparsable parameter, or an unknown format.",
    404: "No such asset is served; the detail names the served ones.",
    422: "An interval finer than the stored bars or no multiple of them (with no live minute "
    "bars to serve it from), `start` after `end`, a range outside the history (or, for an "
    "interval served from the minutes, outside their window, which the detail names), or too "
    "many candles.",
    503: "An interval served from the live minute bars, and their database cannot be read now "
    f"(the detail says why). Or: {ASSET_UNAVAILABLE}",
}


DESCRIPTION = (
    "Open (first), high (max), low (min), close (last), volume (sum) and VWAP (volume-weighted "
    "over the bars' VWAPs; their mean when nothing traded) of the stored bars, at any interval "
    "that is a whole multiple of theirs: 1h, 4h, 1d, 1w for hourly bars, 1d, 1w for daily ones. "
    "Candles open at multiples of the interval since 1970-01-01 UTC (1d is the UTC day), weeks "
    "on Monday 00:00 UTC. Candles of whole days or weeks cover the whole history; finer ones "
    "the last 90 days of an artifact's bars (422 before). "
    "`complete` is false for a candle missing any bar of its period (a "
    "gap, or the last, still running period); periods with no bar give no candle. At most "
    "{max_points} candles per request (422 above). Where the collector stores live minute bars "
    "(`/live` lists their window), intervals the stored bars cannot give, such as 1m, 5m or 10m "
    "(any whole number of minutes), are aggregated from those minutes over their window, and "
    "are never cached (`Cache-Control: no-cache`); `stored_interval` is then `1m`."
)


class NoMinuteDataError(ApiError):
    status, code = 404, "no_minute_data"


class MinuteDataUnavailableError(ApiError):
    status, code = 503, "minute_data_unavailable"


class LiveMinutes:
    """The feed's minute bars, read on each request (every asset's window at most every
    `windows_seconds`)."""

    def __init__(self, settings: ApiSettings) -> None:
        self.reader = minute_reader(settings, readers=settings.live_max_threads)
        self.windows_seconds = settings.live_cache_seconds
        self.max_rows = settings.live_max_rows
        self._windows: tuple[float, dict[str, Window]] | None = None  # until when, and what

    def windows(self) -> dict[str, Window]:
        cached = self._windows
        if cached is not None and time.monotonic() < cached[0]:
            return cached[1]
        with self._reading() as store:
            windows = store.windows()
        self._windows = (time.monotonic() + self.windows_seconds, windows)
        return windows

    def read(self, served: CatalogEntry, read: Callable[[MinuteStore, str], dict[str, T]]) -> T:
        with self._reading() as store:
            found = read(store, served.slug).get(served.slug)
        if found is None:
            raise NoMinuteDataError(f"no live minute bars of {served.symbol} are stored yet")
        return found

    @contextlib.contextmanager
    def _reading(self) -> Iterator[MinuteStore]:
        try:
            with self.reader.open() as store:
                yield store
        except NoDatabaseError:
            raise NoMinuteDataError(NOT_COLLECTED) from None
        except ReadersBusyError:
            raise MinuteDataUnavailableError(BUSY) from None
        except StoreError:
            raise MinuteDataUnavailableError(CANNOT_READ) from None

    def candles(self, served: CatalogEntry, interval: Interval) -> LiveCandles:
        """The stored minutes of `served`, for `interval` candles finer than its model's bars."""
        try:
            window = self.read(served, MinuteStore.windows)
        except NoMinuteDataError as missing:
            try:
                served.candles.interval(interval)
            except UnsupportedIntervalError as refusal:
                # Only minute candles point to the feed: coarser ones are the model's bars'
                # to give, and its minutes would give them for their short window at most.
                if interval.unit != "m":
                    raise
                raise UnsupportedIntervalError(f"{refusal.detail}; {missing.detail}") from None
            raise
        return LiveCandles(self, served, window)


class LiveCandles(CandleSource):
    """An asset's stored minutes, read when aggregated (at most LIVE_MAX_ROWS)."""

    kind = "live minute history"

    def __init__(self, live: LiveMinutes, served: CatalogEntry, window: Window) -> None:
        super().__init__(MINUTE, served.symbol, window.first, window.last)
        self.live, self.slug = live, served.slug

    def default_count(self, interval: Interval) -> int:
        rows = self.live.max_rows * MINUTE.seconds // interval.seconds
        return min(DEFAULT_COUNT, max(1, rows))

    def aggregate(self, interval: Interval, first: int, last: int) -> Candles:
        minutes = (last + interval.seconds - first) // MINUTE.seconds
        if minutes > self.live.max_rows:
            raise TooManyPointsError(
                f"{iso_utc(first)} to {iso_utc(last)} in {interval} candles would read {minutes} "
                f"minute bars; at most {self.live.max_rows} are read per request (LIVE_MAX_ROWS), "
                "so narrow the range"
            )
        with self.live._reading() as store:
            rows = store.bars(self.slug, first, last + interval.seconds)
        if not rows:  # a gap in the minutes (the feed was down, the exchange too)
            raise OutOfRangeError(
                f"{iso_utc(first)} to {iso_utc(last)} holds no stored minute of {self.symbol}; "
                f"they run from {iso_utc(self.first_bar)} to {iso_utc(self.last_bar)}, with gaps"
            )
        columns = np.array(rows, dtype=np.float64).T
        history = BarHistory(
            ds=columns[0].astype(np.int64),
            **{name: columns[index] for index, name in enumerate(HISTORY_ARRAYS) if index},
        )
        return aggregate(history, MINUTE, interval)


def minute_reader(settings: ApiSettings, *, readers: int) -> MinuteReader:
    return MinuteReader(
        settings.database_url,
        connect_timeout=settings.live_connect_timeout,
        statement_timeout=settings.live_statement_timeout,
        max_readers=readers,
        retry_after=settings.live_retry_seconds,
    )


def _source_detail(source: str, shift: int) -> str:
    name = SOURCES.get(source, source)
    if source != "replay":
        return f"live minutes from {name}"
    days = abs(shift) / 86_400
    moved = f"moved {days:,.1f} days {'forward' if shift > 0 else 'back'}" if shift else "unmoved"
    return f"a replay of recorded minutes, not live data ({moved})"


def live_blueprint(catalog: Catalog, live: LiveMinutes) -> Blueprint:
    bp = Blueprint("live", __name__, description="The last live price from the minute bars.")

    @bp.get("/live")
    @document("The stored minute windows.", LiveStatus)
    def status() -> Response:
        """Which assets have minute bars stored, and over what window

        The windows `/candles/{asset}` serves intervals finer than the model's bars over and
        `/price/{asset}` answers from, read at most every LIVE_CACHE_SECONDS. Always 200: empty,
        saying why, when there is no database yet or it cannot be read.
        """
        try:
            stored = live.windows()
        except ApiError as error:
            return json_response(LiveStatus(assets={}, detail=error.detail), cache=NO_CACHE)
        windows = {
            served.slug: MinuteWindow(
                first=iso_utc(window.first + MINUTE.seconds),
                last=iso_utc(window.last + MINUTE.seconds),
                count=window.count,
            )
            for served in catalog
            if (window := stored.get(served.slug)) is not None
        }
        detail = None if windows else "no live minute bars of any served asset are stored yet"
        return json_response(LiveStatus(assets=windows, detail=detail), cache=NO_CACHE)

    @bp.get("/price/<asset>")
    @document(
        "The last stored minute bar, and the forecast then.",
        Price,
        query=LevelQuery,
        errors=PRICE_ERRORS,
    )
    def price(asset: str) -> Response:
        """The last live price, its age, and where it sits in the forecast band

        The newest minute bar the market feed stored, and the served forecast now (or at the
        minute's close, if later) as `/forecast/{asset}` gives it, from the latest price
        (`level` chooses the band, 80% by default).
        """
        served = catalog[asset]
        level = read(LevelQuery, request.environ).level
        last = live.read(served, MinuteStore.newest_bars)
        bar: dict[str, Any] = dict(zip(HISTORY_ARRAYS, last.ohlcv, strict=True))
        opened, close = int(bar.pop("ds")), bar["close"]
        closed = opened + MINUTE.seconds
        shift = last.shifted_by
        answer = Price(
            asset=served.slug,
            symbol=served.symbol,
            date=iso_utc(closed),
            open_time=iso_utc(opened),
            price=close,
            **bar,
            age_seconds=round(time.time() - closed, 1),
            source=last.source,
            source_detail=_source_detail(last.source, shift),
            shift_minutes=shift // MINUTE.seconds,
            recorded_date=iso_utc(closed - shift),
            forecast=_forecast_at(served, max(closed, int(time.time())), close, level),
        )
        return json_response(answer, cache=NO_CACHE)

    return bp


def _forecast_at(served: CatalogEntry, epoch: int, price: float, level: int) -> PriceForecast:
    forecast = served.forecast
    if not forecast.first <= epoch <= forecast.end:
        return PriceForecast(
            date=iso_utc(epoch),
            available=False,
            detail=f"the served forecast's {forecast.valid_range()}",
        )
    point = forecast.answer(epoch, level)  # /forecast/{asset}'s, re-anchored as it is
    low, high = point.prediction_low, point.prediction_high
    where = "below" if price < low else "above" if price > high else "inside"
    said = msgspec.structs.asdict(point) | {"available": True, "position": where}
    return msgspec.convert(said, PriceForecast)


def candles_blueprint(
    catalog: Catalog, live: LiveMinutes, *, cache_seconds: int, max_points: int
) -> Blueprint:
    bp = Blueprint("candles", __name__, description="Price candles from the stored bars.")
    cache = public_cache(cache_seconds)

    @bp.get("/candles/<asset>")
    @document(
        "The candles opening from `start` to `end`.",
        CandleColumns,
        text="text/csv",
        query=CandlesQuery,
        errors=ERRORS,
        description=DESCRIPTION.format(max_points=max_points),
    )
    def candles(asset: str) -> Response:
        """Candles of the price history"""
        served = catalog[asset]
        asked = read(CandlesQuery, request.environ)
        return answer(served, asked, asked.format)

    @bp.get("/candles/<asset>.csv")
    @document(
        "The candles opening from `start` to `end`, one row each: `date`, `open`, `high`, "
        "`low`, `close`, `volume`, `vwap` and `complete`.",
        text="text/csv",
        query=CandleRange,
        errors=ERRORS,
        description=CSV_TWIN.format(route="/candles/{asset}"),
    )
    def candles_csv(asset: str) -> Response:
        """Candles of the price history, as CSV"""
        return answer(catalog[asset], read(CandleRange, request.environ), "csv")

    def answer(served: CatalogEntry, asked: CandleRange, form: str) -> Response:
        source = served.candles
        interval = source.stored if asked.interval is UNSET else Interval.parse(asked.interval)
        start: float | None = None if asked.start is UNSET else asked.start
        end: float | None = None if asked.end is UNSET else asked.end
        answer_cache = cache
        if not interval.is_multiple_of(source.stored):
            source, answer_cache = live.candles(served, interval), NO_CACHE
        interval = source.interval(interval)
        end = source.last_bar if end is None else end
        if start is None:
            last_open = interval.open_time(min(end, source.last_bar))
            start = last_open - (source.default_count(interval) - 1) * interval.seconds
        source.check(start, end, end_given=asked.end is not UNSET)
        first, last = source.slots(interval, start, end, max_points)
        result = source.aggregate(interval, first, last)
        # VWAP is computed: rounded as every price, by the smallest low.
        decimals = price_decimals(float(result.low.min())) if len(result) else 2
        rounded = {
            "volume": np.round(result.volume, VOLUME_DECIMALS),
            "vwap": np.round(result.vwap, decimals),
        }
        columns = [rounded.get(name, getattr(result, name)).tolist() for name in COLUMNS]
        if form == "csv":
            rows = zip(iso_dates(result.ds), *columns, result.complete.tolist(), strict=True)
            name = f"{served.slug}-candles-{interval}.csv"
            return csv_response(("date", *COLUMNS, "complete"), rows, cache=answer_cache, name=name)
        named: dict[str, Any] = dict(zip(COLUMNS, columns, strict=True))
        return json_response(
            CandleColumns(
                asset=served.slug,
                symbol=served.symbol,
                interval=interval.label,
                stored_interval=source.stored.label,
                start=iso_utc(max(start, source.first_bar)),
                end=iso_utc(min(end, source.last_bar)),
                count=len(result),
                date=iso_dates(result.ds),
                **named,
                complete=result.complete.tolist(),
            ),
            cache=answer_cache,
        )

    return bp
