"""`/candles/{asset}`: OHLCV and VWAP candles at any whole multiple of the stored interval."""

from __future__ import annotations

from flask import Response, request

from cryptopredict.api.candles import DEFAULT_COUNT, Candles, open_time
from cryptopredict.api.catalog import Catalog, ServedAsset
from cryptopredict.api.dates import iso_utc, parse_epoch, show_epoch
from cryptopredict.api.errors import OutOfRangeError, TooManyPointsError
from cryptopredict.api.forecast_answers import iso_dates
from cryptopredict.api.openapi import Blueprint, answers, asset_in_path, document, in_query
from cryptopredict.api.params import output_format, query, single
from cryptopredict.api.responses import json_response, public_cache

COLUMNS = ("open", "high", "low", "close", "volume", "vwap")
ERRORS = {
    400: "Malformed input: a repeated or unparsable parameter, or an unknown format.",
    404: "No such asset is served; the detail names the served ones.",
    422: "An interval finer than the stored bars or no multiple of them, `start` after `end`, a "
    "range outside the history, or too many candles.",
}


def blueprint(catalog: Catalog, *, cache_seconds: int, max_points: int) -> Blueprint:
    bp = Blueprint("candles", __name__, description="Price candles from the stored bars.")
    cache = public_cache(cache_seconds)
    served_slugs = [served.slug for served in catalog]

    @bp.get("/candles/<asset>")
    @document(
        path=asset_in_path(served_slugs),
        parameters=in_query("CandlesQuery"),
        responses=answers(
            "The candles opening from `start` to `end`.",
            "CandleColumns",
            content={"text/csv": {"schema": {"type": "string"}}},
            errors=ERRORS,
        ),
        description="Open (first), high (max), low (min), close (last), volume (sum) and VWAP "
        "(volume-weighted over the bars' VWAPs; their mean when nothing traded) of the stored "
        "bars, at any interval that is a whole multiple of theirs: 1h, 4h, 1d, 1w for hourly "
        "bars, 1d, 1w for daily ones. Candles open at multiples of the interval since "
        "1970-01-01 UTC (1d is the UTC day), weeks on Monday 00:00 UTC. `complete` is false "
        "for a candle missing any bar of its period (a gap, or the last, still running "
        f"period); periods with no bar give no candle. At most {max_points} candles per "
        "request (422 above).",
    )
    def candles(asset: str) -> Response:
        """Candles of the price history"""
        served = catalog[asset]
        args = query(request.environ)
        form = output_format(args)
        source = served.candles
        asked = single(args, "interval", required=False)
        interval = source.interval(source.stored.label if asked is None else asked)
        start_text = single(args, "start", required=False)
        end_text = single(args, "end", required=False)
        end = source.last_bar if end_text is None else parse_epoch("end", end_text)
        if start_text is None:
            last_open = open_time(interval, min(end, source.last_bar))
            start = last_open - (DEFAULT_COUNT - 1) * interval.seconds
        else:
            start = parse_epoch("start", start_text)
        _check(served, start, end)
        first, last = source.slots(interval, start, end)
        count = max(0, (last - first) // interval.seconds + 1)
        if count > max_points:
            raise TooManyPointsError(
                f"{show_epoch(start)} to {show_epoch(end)} holds {count} {interval.label} "
                f"candles; at most {max_points} per request, so narrow the range or widen the "
                "interval"
            )
        result = source.aggregate(interval, first, last)
        if form == "csv":
            return _csv(result, cache, f"{served.slug}-candles-{interval.label}.csv")
        return json_response(
            {
                "asset": served.slug,
                "symbol": served.symbol,
                "interval": interval.label,
                "stored_interval": source.stored.label,
                "start": iso_utc(max(start, source.first_bar)),
                "end": iso_utc(min(end, source.last_bar)),
                "count": len(result.ds),
                "date": iso_dates(result.ds),
                **{name: getattr(result, name).tolist() for name in COLUMNS},
                "complete": result.complete.tolist(),
            },
            cache=cache,
        )

    return bp


def _check(served: ServedAsset, start: float, end: float) -> None:
    source = served.candles
    if start > end:
        raise OutOfRangeError(f"start {show_epoch(start)} is after end {show_epoch(end)}")
    if start > source.last_bar or end < source.first_bar:
        raise OutOfRangeError(
            f"{show_epoch(start)} to {show_epoch(end)} holds no bar; the {served.symbol} history "
            f"runs from {iso_utc(source.first_bar)} to {iso_utc(source.last_bar)}"
        )


def _csv(candles: Candles, cache: str, name: str) -> Response:
    lines = [f"date,{','.join(COLUMNS)},complete"]
    columns = [getattr(candles, column).tolist() for column in COLUMNS]
    flags = ["true" if flag else "false" for flag in candles.complete.tolist()]
    for date, *values, flag in zip(iso_dates(candles.ds), *columns, flags, strict=True):
        lines.append(f"{date},{','.join(map(str, values))},{flag}")
    return Response(
        "\n".join(lines) + "\n",
        mimetype="text/csv",
        headers={"Cache-Control": cache, "Content-Disposition": f'inline; filename="{name}"'},
    )
