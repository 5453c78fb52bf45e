"""`/forecast/{asset}` and its range, also served as `/bitcoin` and `/bitcoin/forecast` for
BTC/USD."""

from __future__ import annotations

import math
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
from flask import Response, request
from msgspec import UNSET

from cryptopredict.api.errors import OutOfRangeError
from cryptopredict.api.http import csv_response, json_response, public_cache, read
from cryptopredict.api.openapi import ASSET, ASSET_ERRORS, CSV_TWIN, Blueprint, document
from cryptopredict.api.serving.candles import multiple_of
from cryptopredict.api.serving.forecast import DAY, Forecast
from cryptopredict.api.types.common import Level
from cryptopredict.api.types.forecast import (
    AnchorSource,
    ForecastPoints,
    ForecastQuery,
    ForecastRange,
    PointQuery,
    Prediction,
)
from cryptopredict.assets import BITCOIN
from cryptopredict.candles import Interval
from cryptopredict.postprocess import price_decimals
from cryptopredict.utc import iso_dates, iso_utc

if TYPE_CHECKING:
    from cryptopredict.api.serving.catalog import Catalog, CatalogEntry

DEFAULT_SPAN = 30 * DAY  # of a range without `start` (ForecastRange says how)
DEFAULT_AHEAD = 365 * DAY  # of a range without `end`
RANGE_OUT_OF_REACH = (
    "Out of range: a date outside the valid range (the detail names it), a `step` that is no "
    "whole multiple of the data's interval, or too many points."
)
ERRORS = {
    400: "Malformed input: a missing, repeated or unparsable parameter.",
    422: "Out of range: a date outside the valid range (the detail names it), or too many points.",
    **ASSET_ERRORS,
}
RANGE_LIMITS = (
    "With `step`, a whole multiple of the data's interval such as `1d`, only the points that "
    "open a bar of that width (every day's 00:00 UTC for `1d`), so that a long range fits. At "
    "most {max_points} points per request (422 above)."
)
POINT_DESCRIPTION = """\
The forecast at an instant is of the price at that instant: the close of the bar that ends then
(a date alone is 00:00 UTC). From the first stored bar's close to before the last's, a hindcast
(`kind` `hindcast`): what the pipeline said before that instant, from data that ended at
`data_until` (retrained every six hours, so up to six hours earlier), beside the price then
(`actual`, the close of the bar ending at the instant); never a fit to the price it is compared
with. From the data's end on, the forecast made there (`kind` `forecast`), from the last close
at lead 0 (the data's end itself: no band). `level` chooses the band: 50, 80 (the default) or
95%. Values between grid points are interpolated linearly; within the first bar, the band grows
as sqrt(lead) in logs. Every date up to the horizon is answered from the precomputed grid, in
well under a millisecond."""


def range_answer(
    served: CatalogEntry,
    *,
    max_points: int,
    cache: str,
    name: str | None = None,
    form: str | None = None,
) -> Response:
    """The range asked for, as JSON columns or CSV: in the `form` given, else in `format`."""
    forecast = served.forecast
    asked: ForecastRange
    if form is None:
        asked = read(ForecastQuery, request.environ)
        form = asked.format
    else:
        asked = read(ForecastRange, request.environ)
    every = None
    if asked.step is not UNSET:
        every = multiple_of("step", Interval.parse(asked.step), forecast.interval)
    start, end = _range(forecast, asked)
    points = forecast.series(start, end, max_points, asked.level, every)
    live = forecast.from_latest(points.ds, asked.level)
    if live is not None:
        points.values[live.after] = live.values
    anchor = forecast.model_anchor(forecast.data_end) if live is None else live.anchor
    untested_after = (forecast.data_end if live is None else live.latest.epoch) + forecast.scored
    note = forecast.note(live, untested=end > untested_after)
    shown = np.concatenate([points.values.ravel(), points.actual])
    decimals = price_decimals(float(np.nanmin(shown, initial=np.inf)))
    prediction, low, high = np.round(points.values, decimals).T.tolist()
    rounded = np.round(points.actual, decimals).tolist()
    actual = [None if math.isnan(value) else value for value in rounded]
    chosen_later = forecast.band_chosen_later(points.ds).tolist()
    chosen_until = forecast.band_chosen_until
    if form == "csv":
        header = (
            "date", "prediction", "prediction_low", "prediction_high", "actual", "kind",
            "band_chosen_later", "anchor_source",
        )  # fmt: skip
        kind = np.where(points.ds < forecast.data_end, "hindcast", "forecast").tolist()
        after = np.zeros(len(points.ds), dtype=bool) if live is None else live.after
        source = np.where(after, anchor.source.value, AnchorSource.MODEL.value).tolist()
        columns = (iso_dates(points.ds), prediction, low, high, actual, kind, chosen_later, source)
        name = f"{name or served.slug}-forecast.csv"
        return csv_response(header, zip(*columns, strict=True), cache=cache, name=name)
    return json_response(
        ForecastPoints(
            model_version=forecast.model_version,
            interval=(every or forecast.interval).label,
            interval_width=asked.level / 100,
            level=Level(asked.level),
            data_until=iso_utc(forecast.data_end),
            start=iso_utc(start),
            end=iso_utc(end),
            untested_after=iso_utc(untested_after),
            count=len(points.ds),
            date=iso_dates(points.ds),
            prediction=prediction,
            prediction_low=low,
            prediction_high=high,
            actual=actual,
            band_chosen_until=None if chosen_until is None else iso_utc(chosen_until),
            band_chosen_later=chosen_later,
            anchor=anchor,
            note=note if end > forecast.data_end else UNSET,
        ),
        cache=cache,
    )


def _range(forecast: Forecast, asked: ForecastRange) -> tuple[float, float]:
    start: float | None = None if asked.start is UNSET else asked.start
    end: float | None = None if asked.end is UNSET else asked.end
    if start is not None:
        forecast.check("start", start)
    if end is not None:
        forecast.check("end", end)
    if end is None:
        end = min(forecast.end, forecast.data_end + DEFAULT_AHEAD)
        if start is not None and start > end:
            end = min(start + DEFAULT_SPAN, forecast.end)
    if start is None:
        start = max(forecast.first, min(end, forecast.data_end) - DEFAULT_SPAN)
    if start > end:
        raise OutOfRangeError(f"start {iso_utc(start)} is after end {iso_utc(end)}")
    return start, end


RANGE_ANSWER = "Every grid point in the range (or every `step`)."
CSV_ANSWER = (
    "Every grid point in the range (or every `step`), one row each: `date`, `prediction`, "
    "`prediction_low`, `prediction_high`, `actual`, `kind`, `band_chosen_later` and "
    "`anchor_source` (`model` where the point is the model's, else where the latest price it "
    "starts from was read)."
)


def blueprints(catalog: Catalog, *, cache_seconds: int, max_points: int) -> list[Blueprint]:
    bp = Blueprint("forecast", __name__, description="The forecast of any served asset.")
    cache = public_cache(cache_seconds)
    answer = partial(range_answer, max_points=max_points, cache=cache)

    @bp.get("/forecast/<asset>")
    @document(
        "The forecast at `date`.",
        Prediction,
        query=PointQuery,
        errors=ERRORS,
        description=f"Of any asset `/assets` lists (`/bitcoin` is BTC/USD's). {POINT_DESCRIPTION}",
    )
    def forecast_point(asset: str) -> Response:
        """The forecast of an asset at one instant"""
        forecast = catalog[asset].forecast
        asked = read(PointQuery, request.environ)
        return json_response(forecast.answer(asked.date, asked.level), cache=cache)

    range_errors = {**ERRORS, 422: RANGE_OUT_OF_REACH}

    @bp.get("/forecast/<asset>/range")
    @document(
        RANGE_ANSWER,
        ForecastPoints,
        text="text/csv",
        query=ForecastQuery,
        errors=range_errors,
        description="Of any asset listed by `/assets` (`/bitcoin/forecast` is BTC/USD's): every "
        "point of its grid (at its data's interval) from `start` to `end`, both included, as JSON "
        f"columns or as CSV. {RANGE_LIMITS.format(max_points=max_points)}",
    )
    def forecast_range(asset: str, name: str | None = None) -> Response:
        """The forecast of an asset over a range, for charts"""
        return answer(catalog[asset], name=name)

    @bp.get("/forecast/<asset>/range.csv")
    @document(
        CSV_ANSWER,
        text="text/csv",
        query=ForecastRange,
        errors=range_errors,
        description=CSV_TWIN.format(route="/forecast/{asset}/range"),
    )
    def forecast_range_csv(asset: str, name: str | None = None) -> Response:
        """The forecast of an asset over a range, as CSV"""
        return answer(catalog[asset], name=name, form="csv")

    seed = Blueprint("bitcoin", __name__, description="The forecast of the BTC/USD price.")
    btc = {ASSET: BITCOIN, "name": "bitcoin"}
    seed.add_url_rule("/bitcoin", view_func=forecast_point, defaults={ASSET: BITCOIN})
    seed.add_url_rule("/bitcoin/forecast", view_func=forecast_range, defaults=btc)
    seed.add_url_rule("/bitcoin/forecast.csv", view_func=forecast_range_csv, defaults=btc)
    return [seed, bp]
