"""`/candles/{asset}`: candles of an artifact's history at any whole multiple of its interval, or
of the live minutes (`live`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from flask import Response, request
from msgspec import UNSET

from cryptopredict.api.http import csv_response, json_response, public_cache, read
from cryptopredict.api.openapi import ASSET_UNAVAILABLE, CSV_TWIN, Blueprint, document
from cryptopredict.api.serving.candles import check_count
from cryptopredict.api.serving.forecast import price_decimals
from cryptopredict.api.types.market import DEFAULT_COUNT, CandleColumns, CandleRange, CandlesQuery
from cryptopredict.candles import Interval
from cryptopredict.utc import iso_dates, iso_utc

if TYPE_CHECKING:
    from cryptopredict.api.live import LiveMinutes
    from cryptopredict.api.serving.catalog import Catalog, CatalogEntry

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


def blueprint(
    catalog: Catalog, *, cache_seconds: int, max_points: int, live: LiveMinutes | None = None
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
        served = catalog[asset]
        return answer(served, read(CandleRange, request.environ), "csv")

    def answer(served: CatalogEntry, asked: CandleRange, form: str) -> Response:
        source = served.candles
        interval = source.stored if asked.interval is UNSET else Interval.parse(asked.interval)
        start: float | None = None if asked.start is UNSET else asked.start
        end: float | None = None if asked.end is UNSET else asked.end
        answer_cache = cache
        if live is not None and not interval.is_multiple_of(source.stored):
            source, start, end = live.minutes_for(served, interval, start, end, max_points)
            answer_cache = live.cache
        else:
            interval = source.interval(interval)
            end = source.last_bar if end is None else end
            if start is None:
                last_open = interval.open_time(min(end, source.last_bar))
                start = last_open - (DEFAULT_COUNT - 1) * interval.seconds
            source.check(start, end, end_given=asked.end is not UNSET)
        first, last = source.slots(interval, start, end)
        check_count(first, last, interval, start=start, end=end, max_points=max_points)
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
