"""What the answer and query types share: base classes, times, levels, dates, the error body."""

from __future__ import annotations

import enum
from typing import Annotated, Any

import msgspec

from cryptopredict.artifact.schema import DEFAULT_LEVEL, INTERVAL_PATTERN

PRICE = (
    "in the pair's quote currency (USD for `btc-usd`), to six significant digits and at least "
    "the cent"
)


def doc(description: str, **meta: Any) -> msgspec.Meta:
    return msgspec.Meta(description=description, **meta)


# `YYYY-MM-DDTHH:MM:SSZ` (`cryptopredict.utc.iso_utc`)
Time = Annotated[str, msgspec.Meta(extra_json_schema={"format": "date-time"})]


# A date parameter, as the document publishes it: what `datetime.fromisoformat` reads in the
# extended format (calendar checks left to the reader); after a time, ` HH:MM` is an offset whose
# `+` an unencoded URL turned into a space (group 9).
MAX_LENGTH = 64
DATE_PATTERN = (
    r"^([1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])-(0[1-9]|1[0-2])-"
    r"(0[1-9]|[12][0-9]|3[01])"
    r"([Tt ]([01][0-9]|2[0-3])(:[0-5][0-9](:[0-5][0-9]([.,][0-9]{1,9})?)?)?"
    r"([Zz]|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?| ([01][0-9]|2[0-3]):?[0-5][0-9])?)?$"
)
DATE_EXAMPLES = "2026-08-01, 2026-08-01T12:00, 2026-08-01T12:00:00Z or 2026-08-01T14:00+02:00"
# `Meta(extra={REFUSED: ...})`: what a 400 says after `name='value'` for a value refused.
REFUSED = "refused"


class Instant(float):
    """A date parameter, read as seconds since 1970 UTC (naive times are UTC)."""


class IntervalLabel(str):
    """An interval parameter, read as its label (`Interval.parse`)."""


def schema_of(kind: type) -> dict[str, Any]:
    if kind is IntervalLabel:
        return {"type": "string", "pattern": INTERVAL_PATTERN}
    if kind is Instant:
        return {}  # all in its `Meta` (`date`)
    raise NotImplementedError(kind)


class Answer(msgspec.Struct, kw_only=True):
    """A JSON answer, declared in the OpenAPI document."""


class Query(msgspec.Struct, kw_only=True):
    """An operation's query parameters, which the document declares and `http.read` reads."""


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


FormatParameter = Annotated[
    Format,
    doc(
        "`json` or `csv` (a row each, as the route's `.csv` twin answers). A generated client "
        "asks the `.csv` twin for CSV: it parses an answer by the first media type declared.",
        extra={REFUSED: " is not known; use json or csv"},
    ),
]


class Error(Answer):
    """Every failure: 400 for malformed input, 404 for unknown routes and assets, 405 for other
    methods than GET, 422 for input the model cannot answer, 503 for what cannot be served now."""

    error: Annotated[str, doc("A stable code, e.g. `out_of_range`.")]
    detail: Annotated[str, doc("What was wrong and what to do about it.")]


def date(description: str) -> msgspec.Meta:
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
