"""The live minutes: which assets have them (`LiveStatus`), and the last price with the forecast
then (`Price`)."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import UNSET, UnsetType

from cryptopredict.api.types.common import (
    PRICE,
    Answer,
    Kind,
    Level,
    LevelParameter,
    Query,
    Time,
    doc,
)
from cryptopredict.api.types.forecast import BandLevel, DataUntil, LeadHours
from cryptopredict.artifact.schema import DEFAULT_LEVEL


class LevelQuery(Query):
    level: LevelParameter = Level(DEFAULT_LEVEL)


class PriceForecast(Answer):
    """The served forecast at the minute's close; only `date`, `available` and `detail` when
    the forecast does not cover it."""

    date: Annotated[Time, doc("The instant: the close.")]
    available: Annotated[bool, doc("Whether the served forecast covers that instant.")]
    detail: Annotated[str, doc("Why not, when it does not.")] | UnsetType = UNSET
    prediction: Annotated[float, doc(f"The forecast then, {PRICE}.")] | UnsetType = UNSET
    prediction_low: Annotated[float, doc("Lower end of the band.")] | UnsetType = UNSET
    prediction_high: Annotated[float, doc("Upper end of the band.")] | UnsetType = UNSET
    interval_width: Annotated[float, doc("Share the band should hold.")] | UnsetType = UNSET
    level: BandLevel | UnsetType = UNSET
    kind: Kind | UnsetType = UNSET
    data_until: DataUntil | UnsetType = UNSET
    lead_hours: LeadHours | UnsetType = UNSET
    position: (
        Annotated[
            Literal["below", "inside", "above"], doc("Where the price sits against the band.")
        ]
        | UnsetType
    ) = UNSET
    model_version: str | UnsetType = UNSET


class Price(Answer):
    asset: str
    symbol: str
    date: Annotated[Time, doc("The instant of the price: when the minute closed.")]
    open_time: Annotated[Time, doc("When the minute opened (candles are labelled by it).")]
    price: Annotated[float, doc("The minute's close: the price at `date`.")]
    open: float
    high: float
    low: float
    close: float
    volume: Annotated[float, doc("Volume, in the asset.")]
    vwap: Annotated[float, doc("Volume-weighted price.")]
    age_seconds: Annotated[float, doc("Seconds since the minute closed.")]
    source: Annotated[
        str,
        doc(
            "Where the minute came from: `binance` or `alpaca` (live from the exchange), or "
            "`replay` (recorded minutes moved to now, as `make live` plays them)."
        ),
    ]
    source_detail: Annotated[str, doc("The same in words, for people.")]
    shift_minutes: Annotated[
        int | None,
        doc(
            "Minutes a replay moved the bar's time (0 for exchange bars); null when unknown "
            "(rows stored before provenance was recorded)."
        ),
    ]
    recorded_date: Annotated[
        Time | None, doc("When that price really was: `date` minus the shift.")
    ]
    forecast: PriceForecast


class MinuteWindow(Answer):
    first: Annotated[Time, doc("When the first stored minute closed: its price's instant.")]
    last: Annotated[Time, doc("When the last stored minute closed: the newest price's instant.")]
    count: Annotated[int, doc("Minutes stored.")]


class LiveStatus(Answer):
    assets: Annotated[
        dict[str, MinuteWindow], doc("Per served asset with minute bars, their window.")
    ]
    detail: Annotated[str | None, doc("Why no asset has minute bars, when none has; else null.")]
