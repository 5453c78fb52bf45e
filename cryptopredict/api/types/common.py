"""What the answer and parameter types share: their base classes, times, band levels, what kind
of forecast a point is, the date parameters, and the error body every failure answers with."""

from __future__ import annotations

import enum
from typing import Annotated, Any

import msgspec

from cryptopredict.artifact.schema import DEFAULT_LEVEL, INTERVAL_PATTERN

PRICE = (
    "in the pair's quote currency (USD for `btc-usd`), rounded to the cent, or below 1 to six "
    "significant digits"
)


def doc(description: str, **meta: Any) -> msgspec.Meta:
    """A field's description (and any other `msgspec.Meta` constraint) in the document."""
    return msgspec.Meta(description=description, **meta)


# A time as every answer writes it: `YYYY-MM-DDTHH:MM:SSZ`, in UTC (`cryptopredict.utc.iso_utc`).
Time = Annotated[str, msgspec.Meta(extra_json_schema={"format": "date-time"})]


# A date parameter: `YYYY-MM-DD` or an ISO-8601 datetime, at most MAX_LENGTH characters. The
# document publishes the pattern, so generated clients and fuzzers produce dates the reader
# accepts. It allows what `datetime.fromisoformat` reads, restricted to the usual extended
# format; calendar checks (February 30) are left to the reader. A `+HH:MM` offset pasted into a
# URL unencoded arrives with a space for its plus (`+` means a space in a query string): after a
# time, ` HH:MM` is read as that offset (group 9 is the offset).
MAX_LENGTH = 64
DATE_PATTERN = (
    r"^([1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])-(0[1-9]|1[0-2])-"
    r"(0[1-9]|[12][0-9]|3[01])"
    r"([Tt ]([01][0-9]|2[0-3])(:[0-5][0-9](:[0-5][0-9]([.,][0-9]{1,9})?)?)?"
    r"([Zz]|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?| ([01][0-9]|2[0-3]):?[0-5][0-9])?)?$"
)
DATE_EXAMPLES = "2026-08-01, 2026-08-01T12:00, 2026-08-01T12:00:00Z or 2026-08-01T14:00+02:00"
# A parameter's `Meta(extra={REFUSED: ...})`: what a 400 says after `name='value'` when the
# value is not one its type and constraints allow.
REFUSED = "refused"


class Instant(float):
    """A date parameter, read as seconds since 1970 UTC (naive times are UTC)."""


class IntervalLabel(str):
    """An interval parameter (a whole number and a unit `m`, `h`, `d` or `w`), read as its
    label: blanks around it and case dropped, as `Interval.parse` drops them."""


def schema_of(kind: type) -> dict[str, Any]:
    """The JSON Schema of the parameter types msgspec does not know (its `schema_hook`)."""
    if kind is IntervalLabel:
        return {"type": "string", "pattern": INTERVAL_PATTERN}
    if kind is Instant:
        return {}  # all in its `Meta` (`date`)
    raise NotImplementedError(kind)


class Answer(msgspec.Struct, kw_only=True):
    """A JSON answer: encoded by `responses.json_response`, declared in the OpenAPI document."""


class Query(msgspec.Struct, kw_only=True):
    """The query parameters of an operation, one per field: the document declares them, and
    `cryptopredict.api.http.read` reads them, from the same field."""


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
    """A date parameter (an `Instant`), declared a date-time, whose every form it reads."""
    return msgspec.Meta(
        description=f"{description} `YYYY-MM-DD` or an ISO-8601 datetime, with or without an "
        f"offset (UTC when none), e.g. {DATE_EXAMPLES}.",
        examples=["2026-08-01T12:00:00Z"],
        extra_json_schema={
            "format": "date-time",
            "type": "string",
            "maxLength": MAX_LENGTH,
            "pattern": DATE_PATTERN,
        },
    )


_LEVELS = ", ".join(str(level.value) for level in Level)
LevelParameter = Annotated[
    Level,
    doc(
        "The band's level, in percent: the share of outcomes it should hold. One of "
        f"{_LEVELS}; default {DEFAULT_LEVEL}.",
        examples=[DEFAULT_LEVEL],
        extra={REFUSED: f" is not served; use one of {_LEVELS} (percent)"},
    ),
]
