"""What the answer and parameter types share: their base classes, times, band levels, what kind
of forecast a point is, the date parameters, and the error body every failure answers with."""

from __future__ import annotations

import enum
from typing import Annotated, Any

import msgspec

from cryptopredict.api.query import (
    DATE_EXAMPLES,
    DATE_PATTERN,
    MAX_LENGTH,
    READ,
    date_text,
    served_level,
)
from cryptopredict.artifact.schema import DEFAULT_LEVEL

PRICE = (
    "in the pair's quote currency (USD for `btc-usd`), rounded to the cent, or below 1 to six "
    "significant digits"
)


def doc(description: str, **meta: Any) -> msgspec.Meta:
    """A field's description (and any other `msgspec.Meta` constraint) in the document."""
    return msgspec.Meta(description=description, **meta)


# A time as every answer writes it: `YYYY-MM-DDTHH:MM:SSZ`, in UTC (`serving.utc.iso_utc`).
Time = Annotated[str, msgspec.Meta(extra_json_schema={"format": "date-time"})]


class Answer(msgspec.Struct, kw_only=True):
    """A JSON answer: encoded by `responses.json_response`, declared in the OpenAPI document."""


class Query(msgspec.Struct, kw_only=True):
    """The query parameters of an operation, one per field: the document declares them, and
    `cryptopredict.api.query.read` reads them, from the same field (each names its reader)."""


class Level(enum.IntEnum):
    """A band's level, in percent: the share of outcomes it should hold (`LEVELS`)."""

    P50 = 50
    P80 = 80
    P95 = 95


class Kind(enum.StrEnum):
    """What a point is: `hindcast` inside the history (what the pipeline said before the
    instant, from rolling origins, never a fit to it), `forecast` after the last bar."""

    HINDCAST = "hindcast"
    FORECAST = "forecast"


class Format(enum.StrEnum):
    """The form of a range's answer: `json` (columns) or `csv` (one row per point)."""

    JSON = "json"
    CSV = "csv"


class Error(Answer):
    """Every failure: 400 for malformed input, 404 for unknown routes and assets, 405 for other
    methods than GET, 422 for input the model cannot answer, 503 for what cannot be served now."""

    error: Annotated[str, doc("A stable code, e.g. `out_of_range`.")]
    detail: Annotated[str, doc("What was wrong and what to do about it.")]


def date(description: str) -> msgspec.Meta:
    """A date parameter: `YYYY-MM-DD` or an ISO-8601 datetime, with or without an offset, as
    `query.date_text` reads it; declared a date-time, whose every form it reads."""
    return msgspec.Meta(
        description=f"{description} `YYYY-MM-DD` or an ISO-8601 datetime, with or without an "
        f"offset (UTC when none), e.g. {DATE_EXAMPLES}.",
        pattern=DATE_PATTERN,
        max_length=MAX_LENGTH,
        examples=["2026-08-01T12:00:00Z"],
        extra_json_schema={"format": "date-time"},
        extra={READ: date_text},
    )


LevelParameter = Annotated[
    Level,
    doc(
        "The band's level, in percent: the share of outcomes it should hold. One of "
        f"{', '.join(str(level.value) for level in Level)}; default {DEFAULT_LEVEL}.",
        examples=[DEFAULT_LEVEL],
        extra={READ: served_level},
    ),
]
