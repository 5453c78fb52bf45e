"""The forecast answers' contents, built without Flask.

`PointAnswer` builds the answer at one instant: from the latest price the API read, for an
instant after it (`serving.anchor`), else as the model issued it (`prediction`). `read_range`
the points a range asks for, answered likewise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from msgspec import UNSET

from cryptopredict.api.errors import OutOfRangeError
from cryptopredict.api.serving.anchor import FromLatest, LatestPrice, from_latest
from cryptopredict.api.serving.candles import multiple_of
from cryptopredict.api.serving.forecast import DAY, Forecast, Point, Points
from cryptopredict.api.serving.utc import iso_utc
from cryptopredict.api.types.common import Kind, Level
from cryptopredict.api.types.forecast import (
    Anchor,
    AnchorSource,
    ForecastRange,
    PointQuery,
    Prediction,
)
from cryptopredict.candles import Interval
from cryptopredict.postprocess import price_decimals, round_band

# The asset behind `/bitcoin` and `/bitcoin/forecast`, and the default one (the dashboard's
# first view, `/model`, the top of `/healthz`) when it is served.
BITCOIN = "btc-usd"
# A range without `start` begins this long before its end (or the data's end, if earlier).
DEFAULT_SPAN = 30 * DAY
# A range without `end` stops this long after the data's end (or `DEFAULT_SPAN` after `start`,
# when `start` lies past that), within the valid range.
DEFAULT_AHEAD = 365 * DAY
HOUR = 3600


def no_price() -> LatestPrice | None:
    return None


class PointAnswer:
    """The body of the answer at one instant, or the ApiError that answers it instead; `latest`
    gives the latest price the API read (at once, never waiting on a source)."""

    def __init__(
        self,
        forecast: Forecast,
        *,
        model_version: str,
        latest: Callable[[], LatestPrice | None] = no_price,
    ) -> None:
        self.forecast = forecast
        self.model_version = model_version
        self.latest = latest

    def __call__(self, asked: PointQuery) -> Prediction:
        forecast = self.forecast
        at = asked.date
        forecast.check("date", at)
        live = from_latest(forecast, self.latest, np.array([at]), asked.level)
        answer = prediction(forecast, at, asked.level, model_version=self.model_version, live=live)
        if answer.kind is Kind.HINDCAST:
            actual = forecast.actual_at(at)
            answer.actual = None if actual is None else round(actual, price_decimals(actual))
            answer.band_chosen_later = forecast.band_chosen_later_at(at)
        return answer


def prediction(
    forecast: Forecast,
    epoch: float,
    level: int,
    *,
    model_version: str,
    live: FromLatest | None = None,
) -> Prediction:
    """The forecast at a checked instant `epoch` with its `level`% band, and what it is: a
    hindcast (inside the history) or the forecast, from data that ended at `data_until`,
    `lead_hours` before; answered from the latest price when `live` (`serving.anchor`)."""
    if live is None:
        point = forecast.at(epoch, level)
        anchor = model_anchor(forecast, point.data_until)
    else:
        centre, low, high = live.values[0].tolist()
        point = Point(centre, low, high, data_until=live.latest.epoch)
        anchor = live.anchor
    shown, low, high = round_band(point.prediction, point.low, point.high)
    data_until = point.data_until
    return Prediction(
        date=iso_utc(epoch),
        prediction=shown,
        prediction_low=low,
        prediction_high=high,
        interval_width=level / 100,
        level=Level(level),
        kind=Kind.HINDCAST if forecast.in_history(epoch) else Kind.FORECAST,
        data_until=iso_utc(data_until),
        lead_hours=round((epoch - data_until) / HOUR, 2),
        model_version=model_version,
        anchor=anchor,
    )


def model_anchor(forecast: Forecast, data_until: int) -> Anchor:
    """The end of the data a model's answer had seen (`data_until`): the forecast's, or a
    hindcast's origin."""
    if data_until == forecast.data_end:
        price: float | None = forecast.last_close
        detail = "the close of the last bar of the model's data"
    else:
        price = forecast.actual_at(data_until)
        detail = "the close of the bar this hindcast's data ended with"
    return Anchor(
        date=iso_utc(data_until),
        price=None if price is None else round(price, price_decimals(price)),
        source=AnchorSource.MODEL,
        detail=detail,
    )


@dataclass(frozen=True)
class RangeAsked:
    """What a range query asked for, with the points that answer it."""

    form: str  # json or csv
    level: int
    every: Interval | None  # the `step` asked for, if any
    start: float
    end: float
    points: Points
    after: np.ndarray  # per point: answered from the latest price (`serving.anchor`)
    anchor: Anchor  # where the points after the data's end start from


def read_range(
    forecast: Forecast,
    asked: ForecastRange,
    *,
    max_points: int,
    form: str,
    latest: Callable[[], LatestPrice | None],
) -> RangeAsked:
    """Every instant of the axis from `start` to `end` (or every `step`), with the documented
    defaults for what the query leaves out, in `form`; those after the `latest` price the API
    read answered from it."""
    start: float | None = None if asked.start is UNSET else asked.start
    end: float | None = None if asked.end is UNSET else asked.end
    every = None
    if asked.step is not UNSET:
        every = multiple_of("step", Interval.parse(asked.step), forecast.interval)
    start, end = _range(forecast, start, end)
    if start > end:
        raise OutOfRangeError(f"start {iso_utc(start)} is after end {iso_utc(end)}")
    points = forecast.series(start, end, max_points, asked.level, every)
    live = from_latest(forecast, latest, points.ds, asked.level)
    if live is not None:
        points.values[live.after] = live.values
    after = np.zeros(len(points.ds), dtype=bool) if live is None else live.after
    anchor = model_anchor(forecast, forecast.data_end) if live is None else live.anchor
    return RangeAsked(form, asked.level, every, start, end, points, after, anchor)


def _range(forecast: Forecast, start: float | None, end: float | None) -> tuple[float, float]:
    """The checked range, with the documented defaults for what was not given."""
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
    return start, end
