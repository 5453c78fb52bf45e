"""The forecast answers, shared by the `/bitcoin` alias and the `/forecast/{asset}` routes.

`PointAnswer` builds the body of the forecast at one instant; `range_answer` the forecast over a
range, as JSON columns or CSV.
"""

from __future__ import annotations

import math

import numpy as np
from flask import Response

from cryptopredict.api.dates import iso_utc, parse_epoch
from cryptopredict.api.errors import OutOfRangeError
from cryptopredict.api.forecast import DAY, Forecast, Points
from cryptopredict.api.params import output_format, query, single
from cryptopredict.api.responses import ENCODER, json_response
from cryptopredict.api.wsgi import WsgiEnviron

DEFAULT_SPAN = 30 * DAY
# The errors both forecast routes answer with, besides their own 404.
FORECAST_ERRORS = {
    400: "Malformed input: a missing, repeated or unparsable parameter.",
    422: "Out of range: a date outside the valid range (the detail names it), or too many points.",
    503: "Past the precomputed grid, the model could not be loaded.",
}


class PointAnswer:
    """The body of the answer at one instant, or the ApiError that answers it instead.

    Shared by the Flask views and the fast path (`fastpath.py`), so both give the same bytes.
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


def range_answer(
    forecast: Forecast,
    environ: WsgiEnviron,
    *,
    model_version: str,
    interval: str,
    max_points: int,
    cache: str,
    csv_name: str,
) -> Response:
    """Every grid point from `start` to `end`, as JSON columns or as CSV (`csv_name`)."""
    args = query(environ)
    form = output_format(args)
    start_text = single(args, "start", required=False)
    end_text = single(args, "end", required=False)
    start = None if start_text is None else parse_epoch("start", start_text)
    end = None if end_text is None else parse_epoch("end", end_text)
    start, end = _range(forecast, start, end)
    if start > end:
        raise OutOfRangeError(f"start {iso_utc(start)} is after end {iso_utc(end)}")
    points = forecast.series(start, end, max_points)
    if form == "csv":
        return _csv(points, cache, csv_name)
    prediction, low, high = np.round(points.values, 2).T.tolist()
    return json_response(
        {
            "model_version": model_version,
            "interval": interval,
            "interval_width": forecast.postprocess.interval_width,
            "start": iso_utc(start),
            "end": iso_utc(end),
            "count": len(points.ds),
            "date": iso_dates(points.ds),
            "prediction": prediction,
            "prediction_low": low,
            "prediction_high": high,
            "actual": _nullable(points.actual),
        },
        cache=cache,
    )


def iso_dates(ds: np.ndarray) -> list[str]:
    """Epoch seconds as `YYYY-MM-DDTHH:MM:SSZ`, all at once."""
    return [f"{text}Z" for text in np.datetime_as_string(ds.astype("datetime64[s]")).tolist()]


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


def _nullable(values: np.ndarray) -> list[float | None]:
    return [None if math.isnan(value) else value for value in np.round(values, 2).tolist()]


def _csv(points: Points, cache: str, name: str) -> Response:
    lines = ["date,prediction,prediction_low,prediction_high,actual"]
    rows = zip(
        iso_dates(points.ds),
        np.round(points.values, 2).tolist(),
        _nullable(points.actual),
        strict=True,
    )
    for date, (prediction, low, high), actual in rows:
        lines.append(f"{date},{prediction},{low},{high},{'' if actual is None else actual}")
    return Response(
        "\n".join(lines) + "\n",
        mimetype="text/csv",
        headers={"Cache-Control": cache, "Content-Disposition": f'inline; filename="{name}"'},
    )
