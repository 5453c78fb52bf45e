"""The forecast routes' parameters and answers: one instant (`Prediction`), or a range as columns
(`ForecastPoints`), each with the price it starts from (`Anchor`)."""

from __future__ import annotations

import enum
from typing import Annotated

import msgspec
from msgspec import UNSET, UnsetType

from cryptopredict.api.types.common import (
    PRICE,
    Answer,
    Format,
    FormatParameter,
    Instant,
    IntervalLabel,
    Kind,
    Level,
    LevelParameter,
    Query,
    Time,
    date,
    doc,
)
from cryptopredict.artifact.schema import DEFAULT_LEVEL


class PointQuery(Query):
    date: Annotated[Instant, date("The instant to forecast:")]
    level: LevelParameter = Level(DEFAULT_LEVEL)


class ForecastRange(Query):
    """The points asked for, in any form."""

    start: Annotated[
        Instant | UnsetType,
        date(
            "First instant of the range. Default: 30 days before the end or the data's end, "
            "whichever is earlier."
        ),
    ] = UNSET
    end: Annotated[
        Instant | UnsetType,
        date(
            "Last instant of the range. Default: 365 days after the data's end, within the "
            "valid range (or 30 days after `start`, when `start` lies past that)."
        ),
    ] = UNSET
    step: Annotated[
        IntervalLabel | UnsetType,
        doc(
            "Spacing of the points: a whole number and a unit `m`, `h`, `d` or `w`, a whole "
            "multiple of the data's interval (`/assets` gives it). Only the points that open "
            "a bar of that width are answered (every day's 00:00 UTC for `1d`, weeks on "
            "Monday), so that a long range fits the point cap. Default: every point.",
            examples=["1d"],
        ),
    ] = UNSET
    level: LevelParameter = Level(DEFAULT_LEVEL)


class ForecastQuery(ForecastRange):
    format: FormatParameter = Format.JSON


# What a point answer says about itself: which band, what kind of forecast, made when.
BandLevel = Annotated[Level, doc("The band's level, in percent (`interval_width` x 100).")]
DataUntil = Annotated[
    Time,
    doc("When the data the answer had seen ended, in UTC: the close of its last bar (its origin)."),
]
LeadHours = Annotated[float, doc("Hours from `data_until` to the instant.")]

Note = Annotated[
    str | UnsetType,
    doc(
        "Present only when the price the forecast starts from (`anchor`) is older than "
        "NOTE_AFTER_HOURS (how old it is, in words, and how to get fresh prices) or when the "
        "band is untested there (`untested`)."
    ),
]
UNTESTED = "past the longest lead the band was scored at (30 days): untested, as `note` says"


class AnchorSource(enum.StrEnum):
    """Where the price a forecast starts from was read: `model`, the model's own data (the close
    of its last bar, or of a hindcast's origin); `minutes`, the collector's minute bars in the
    database (DATABASE_URL); `binance` or `alpaca`, the latest price the API polls
    (LATEST_PRICES)."""

    MODEL = "model"
    MINUTES = "minutes"
    BINANCE = "binance"
    ALPACA = "alpaca"


class Anchor(Answer):
    """The price a forecast starts from: with `source` `model`, the end of the model's data (the
    answer is the model's forecast as it was issued); otherwise a newer price the API read, and
    every instant after it is answered from it: the point is that price, the band the model's
    band for the lead that remains."""

    date: Annotated[Time, doc("The instant of the price, in UTC.")]
    price: Annotated[
        float | None,
        doc(f"The price then, {PRICE}; null where the model's history has no bar there."),
    ]
    source: AnchorSource
    detail: Annotated[str, doc("Where the price was read, in words.")]


class Prediction(Answer):
    date: Annotated[
        Time, doc("The instant, in UTC: the forecast is of the price then, a bar's close.")
    ]
    prediction: Annotated[float, doc(f"The forecast, {PRICE}.")]
    prediction_low: Annotated[float, doc(f"Lower end of the interval, {PRICE}.")]
    prediction_high: Annotated[float, doc(f"Upper end of the interval, {PRICE}.")]
    interval_width: Annotated[float, doc("Share of outcomes the interval should hold, e.g. 0.8.")]
    level: BandLevel
    kind: Kind
    data_until: DataUntil
    lead_hours: LeadHours
    untested: Annotated[bool, doc(f"True where `lead_hours` lies {UNTESTED}.")]
    model_version: str
    anchor: Annotated[
        Anchor,
        doc(
            "The price the answer starts from: the model's data end (`source` `model`), or, for "
            "an instant after a newer price the API read, that price (`data_until` is then its "
            "instant, and `lead_hours` counts from it)."
        ),
    ]
    actual: Annotated[
        float | msgspec.UnsetType | None,
        doc(
            f"The price at the instant, {PRICE}: the close of the bar that ends then (between two "
            "bars' closes, interpolated); present only for hindcasts (instants inside the "
            "history); null where the history has no bar."
        ),
    ] = msgspec.UNSET
    band_chosen_later: Annotated[
        bool | msgspec.UnsetType,
        doc(
            "Present only for hindcasts: true when the instant is no later than the last "
            "outcome the band's settings were chosen on in training (the manifest's "
            "`backtest_boundary.last_validation_outcome`), so the band there was tuned with "
            "hindsight of it; false after it, and always without a backtest."
        ),
    ] = msgspec.UNSET
    note: Note = UNSET


class ForecastPoints(Answer):
    model_version: str
    interval: Annotated[
        str,
        doc("Spacing of the points, e.g. `1h`: the `step` asked for, else the data's interval."),
    ]
    interval_width: float
    level: BandLevel
    data_until: Annotated[
        Time,
        doc(
            "When the data ended, the close of the last stored bar: points before it are the "
            "hindcast (each made before its instant, from rolling origins), it and later ones "
            "the forecast made then (at it, the last close)."
        ),
    ]
    start: Time
    end: Time
    untested_after: Annotated[Time, doc(f"The points after this instant lie {UNTESTED}.")]
    count: Annotated[int, doc("Number of points.")]
    date: list[Time]
    prediction: Annotated[list[float], doc(f"Forecast (or hindcast) at each date, {PRICE}.")]
    prediction_low: Annotated[list[float], doc("Lower end of the `level`% band at each date.")]
    prediction_high: Annotated[list[float], doc("Upper end of the `level`% band at each date.")]
    actual: Annotated[
        list[float | None],
        doc("The price at each instant (the close of the bar ending then); null where none."),
    ]
    band_chosen_until: Annotated[
        Time | None,
        doc(
            "The last outcome the band's settings were chosen on in training (the manifest's "
            "`backtest_boundary.last_validation_outcome`); null when trained without a "
            "backtest, whose band was chosen on none."
        ),
    ]
    band_chosen_later: Annotated[
        list[bool],
        doc(
            "At each date: true for a hindcast row dated up to `band_chosen_until`, older than "
            "the data the band's settings were chosen on (what the pipeline would have said "
            "then, but with a band tuned with hindsight of it, so not out of sample for that "
            "choice); false for later hindcast rows and the forecast."
        ),
    ]
    anchor: Annotated[
        Anchor,
        doc(
            "The price the forecast starts from: the model's data end (`source` `model`), or a "
            "newer price the API read, from which every point after its `date` is answered."
        ),
    ]
    note: Note = UNSET
