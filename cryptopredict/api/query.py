"""The query string: each parameter given at most once; dates as `YYYY-MM-DD` or an ISO-8601
datetime, with or without an offset; `format` json or csv; `level` one of the served bands;
intervals (a candle's width, a range's step) as whole multiples of the stored bars'."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from cryptopredict.api.errors import BadRequestError, UnsupportedIntervalError
from cryptopredict.artifact.schema import DEFAULT_LEVEL, LEVELS
from cryptopredict.candles import Interval, IntervalError

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

MAX_LENGTH = 64
# The OpenAPI document publishes this pattern, so generated clients and fuzzers produce dates
# the parser accepts. It allows what `datetime.fromisoformat` reads, restricted to the usual
# extended format; calendar checks (February 30) are left to the parser. A `+HH:MM` offset
# pasted into a URL unencoded arrives with a space for its plus (`+` means a space in a query
# string): after a time, ` HH:MM` is read as that offset (group 9 is the offset).
DATE_PATTERN = (
    r"^([1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])-(0[1-9]|1[0-2])-"
    r"(0[1-9]|[12][0-9]|3[01])"
    r"([Tt ]([01][0-9]|2[0-3])(:[0-5][0-9](:[0-5][0-9]([.,][0-9]{1,9})?)?)?"
    r"([Zz]|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?| ([01][0-9]|2[0-3]):?[0-5][0-9])?)?$"
)
_DATE = re.compile(DATE_PATTERN, re.ASCII)
_OFFSET = 9
DATE_EXAMPLES = "2026-08-01, 2026-08-01T12:00, 2026-08-01T12:00:00Z or 2026-08-01T14:00+02:00"


def query(environ: WSGIEnvironment) -> list[tuple[str, str]]:
    """The query string's pairs, decoded as Flask decodes `request.args` (UTF-8, `+` as space,
    undecodable bytes replaced), without building its MultiDict: half the time, per request.
    """
    return parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)


def single(pairs: Iterable[tuple[str, str]], name: str, *, required: bool) -> str | None:
    """The one value of query parameter `name`; BadRequestError if it is repeated or missing."""
    values = [value for key, value in pairs if key == name]
    if len(values) > 1:
        raise BadRequestError(f"{name} is given {len(values)} times; give it once")
    if not values:
        if required:
            raise BadRequestError(f"the query parameter {name} is missing")
        return None
    return values[0]


def output_format(pairs: Iterable[tuple[str, str]]) -> str:
    """`format`: json (the default) or csv; BadRequestError for anything else, empty included."""
    form = single(pairs, "format", required=False)
    if form is None:
        return "json"
    if form not in ("json", "csv"):
        raise BadRequestError(f"format={form[:16]!r} is not known; use json or csv")
    return form


LEVEL_CHOICES = {str(level): level for level in LEVELS}


def band_level(pairs: Iterable[tuple[str, str]]) -> int:
    """`level`: the band's level in percent, one of `LEVELS` (default `DEFAULT_LEVEL`);
    BadRequestError naming them for anything else."""
    text = single(pairs, "level", required=False)
    if text is None:
        return DEFAULT_LEVEL
    level = LEVEL_CHOICES.get(text)
    if level is None:
        served = ", ".join(LEVEL_CHOICES)
        raise BadRequestError(f"level={text[:16]!r} is not served; use one of {served} (percent)")
    return level


def parse_epoch(name: str, text: str) -> float:
    """Seconds since 1970 UTC from the query parameter `name`; naive times are UTC.

    Reads only what the published `DATE_PATTERN` allows (no whitespace around the date), so the
    API accepts no value its document refuses. BadRequestError says what is wrong and what is
    expected.
    """
    if len(text) > MAX_LENGTH:
        raise BadRequestError(
            f"{name} is {len(text)} characters long; expected a date like {DATE_EXAMPLES}"
        )
    found = _DATE.fullmatch(text)
    if not found:
        raise BadRequestError(
            f"{name}={text!r} is not an ISO-8601 date; expected e.g. {DATE_EXAMPLES} "
            "(in a URL, write an offset's + as %2B)"
        )
    if text[found.start(_OFFSET) : found.start(_OFFSET) + 1] == " ":  # a + decoded as a space
        text = f"{text[: found.start(_OFFSET)]}+{text[found.start(_OFFSET) + 1 :]}"
    try:
        when = datetime.fromisoformat(text.upper())
    except ValueError as error:
        raise BadRequestError(f"{name}={text!r} is not a valid date: {error}") from None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def parse_interval(name: str, text: str) -> Interval:
    """The interval in query parameter `name`; BadRequestError unless it is one."""
    try:
        return Interval.parse(text)
    except IntervalError as error:
        raise BadRequestError(f"{name}={error}") from None


def multiple_of(name: str, text: str, base: Interval) -> Interval:
    """The interval in query parameter `name`: BadRequestError unless it is an interval,
    UnsupportedIntervalError unless it is a whole multiple of the stored `base` bars'."""
    wanted = parse_interval(name, text)
    if not wanted.is_multiple_of(base):
        finer = "finer than" if wanted.seconds < base.seconds else "no multiple of"
        raise UnsupportedIntervalError(
            f"{name} {wanted} is {finer} the stored {base} bars; use a whole multiple of {base}"
        )
    return wanted
