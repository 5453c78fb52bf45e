"""`/bitcoin` and `/bitcoin/forecast`: the forecast at one instant and over a range."""

from __future__ import annotations

import math

import numpy as np
from flask import Response, request

from cryptopredict.api.dates import iso_utc, parse_epoch
from cryptopredict.api.errors import BadRequestError, OutOfRangeError
from cryptopredict.api.forecast import DAY, Forecast, Points
from cryptopredict.api.openapi import Blueprint, answers, document, in_query
from cryptopredict.api.params import query, single
from cryptopredict.api.responses import ENCODER, json_response, public_cache, raw_json_response
from cryptopredict.api.wsgi import WsgiEnviron

DEFAULT_SPAN = 30 * DAY
ERRORS = {
    400: "Malformed input: a missing, repeated or unparsable parameter.",
    422: "Out of range: a date outside the valid range (the detail names it), or too many points.",
    503: "Past the precomputed grid, the model could not be loaded.",
}


def blueprint(
    forecast: Forecast,
    point: PointAnswer,
    *,
    model_version: str,
    interval: str,
    cache_seconds: int,
    max_points: int,
) -> Blueprint:
    bp = Blueprint("bitcoin", __name__, description="The forecast of the BTC/USD price.")
    cache = public_cache(cache_seconds)
    interval_width = forecast.postprocess.interval_width

    @bp.get("/bitcoin")
    @document(
        parameters=in_query("BitcoinQuery"),
        responses=answers("The forecast at `date`.", "Prediction", errors=ERRORS),
    )
    def bitcoin() -> Response:
        """The forecast at one instant

        Inside the history, the model's in-sample fit and the observed close (`actual`); past
        it, the served forecast. Values between grid points are interpolated linearly. Dates past
        the precomputed grid are computed with the model (the first such request takes about a
        second) and cached.
        """
        return raw_json_response(point(request.environ), cache=cache)

    @bp.get("/bitcoin/forecast")
    @document(
        parameters=in_query("ForecastQuery"),
        responses=answers(
            "Every grid point in the range.",
            "ForecastPoints",
            content={"text/csv": {"schema": {"type": "string"}}},
            errors=ERRORS,
        ),
        description=f"Every point of the grid (hourly for hourly data) from `start` to `end`, "
        f"both included, as JSON columns or as CSV. At most {max_points} points per request "
        "(422 above). Past the precomputed grid, points are computed with the model.",
    )
    def forecast_range() -> Response:
        """The forecast over a range, for charts"""
        args = query(request.environ)
        form = single(args, "format", required=False)
        if form not in (None, "json", "csv"):
            raise BadRequestError(f"format={form[:16]!r} is not known; use json or csv")
        start_text = single(args, "start", required=False)
        end_text = single(args, "end", required=False)
        start = None if start_text is None else parse_epoch("start", start_text)
        end = None if end_text is None else parse_epoch("end", end_text)
        start, end = _range(forecast, start, end)
        if start > end:
            raise OutOfRangeError(f"start {iso_utc(start)} is after end {iso_utc(end)}")
        points = forecast.series(start, end, max_points)
        if form == "csv":
            return _csv(points, cache)
        prediction, low, high = np.round(points.values, 2).T.tolist()
        return json_response(
            {
                "model_version": model_version,
                "interval": interval,
                "interval_width": interval_width,
                "start": iso_utc(start),
                "end": iso_utc(end),
                "count": len(points.ds),
                "date": _dates(points.ds),
                "prediction": prediction,
                "prediction_low": low,
                "prediction_high": high,
                "actual": _nullable(points.actual),
            },
            cache=cache,
        )

    return bp


class PointAnswer:
    """The body of `/bitcoin`'s answer to a request, or the ApiError that answers it instead.

    Shared by the Flask view and the fast path (`fastpath.py`), so both give the same bytes.
    """

    def __init__(self, forecast: Forecast, *, model_version: str) -> None:
        self.forecast = forecast
        self.model_version = model_version
        self.interval_width = forecast.postprocess.interval_width

    def __call__(self, environ: WsgiEnviron) -> str:
        forecast = self.forecast
        epoch = parse_epoch("date", single(query(environ), "date", required=True))
        forecast.check("date", epoch)
        point = forecast.at(epoch)
        answer = {
            "date": iso_utc(epoch),
            "prediction": round(point.prediction, 2),
            "prediction_low": round(point.low, 2),
            "prediction_high": round(point.high, 2),
            "interval_width": self.interval_width,
            "model_version": self.model_version,
        }
        if forecast.in_history(epoch):
            actual = forecast.actual_at(epoch)
            answer["actual"] = None if actual is None else round(actual, 2)
        return ENCODER.encode(answer)


def _range(forecast: Forecast, start: float | None, end: float | None) -> tuple[float, float]:
    """The checked range, with the documented defaults for what was not given."""
    if start is not None:
        forecast.check("start", start)
    if end is not None:
        forecast.check("end", end)
    if end is None:
        end = forecast.grid_end
        if start is not None and start > end:
            end = min(start + DEFAULT_SPAN, forecast.end)
    if start is None:
        start = max(forecast.first, min(end, forecast.last_bar) - DEFAULT_SPAN)
    return start, end


def _dates(ds: np.ndarray) -> list[str]:
    return [f"{text}Z" for text in np.datetime_as_string(ds.astype("datetime64[s]")).tolist()]


def _nullable(values: np.ndarray) -> list[float | None]:
    return [None if math.isnan(value) else value for value in np.round(values, 2).tolist()]


def _csv(points: Points, cache: str) -> Response:
    lines = ["date,prediction,prediction_low,prediction_high,actual"]
    rows = zip(
        _dates(points.ds),
        np.round(points.values, 2).tolist(),
        _nullable(points.actual),
        strict=True,
    )
    for date, (prediction, low, high), actual in rows:
        lines.append(f"{date},{prediction},{low},{high},{'' if actual is None else actual}")
    return Response(
        "\n".join(lines) + "\n",
        mimetype="text/csv",
        headers={
            "Cache-Control": cache,
            "Content-Disposition": 'inline; filename="bitcoin-forecast.csv"',
        },
    )
