"""The query string, read as its route's `Query` type declares it (`cryptopredict.api.types`):
the same fields the OpenAPI document declares. Each parameter is given at most once; msgspec
converts and checks each by its type and constraints, and `_parse` reads the two kinds it does
not know: dates (`Instant`: `YYYY-MM-DD` or an ISO-8601 datetime, with or without an offset) and
intervals (`IntervalLabel`). A refusal says what was wrong and what is expected: a field's
declared `REFUSED` text, else the reader's own."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qsl

import msgspec

from cryptopredict.api.errors import BadRequestError, UnsupportedIntervalError
from cryptopredict.api.types.common import (
    DATE_EXAMPLES,
    DATE_PATTERN,
    MAX_LENGTH,
    REFUSED,
    Instant,
    IntervalLabel,
)
from cryptopredict.candles import Interval, IntervalError
from cryptopredict.utc import iso_utc

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

Q = TypeVar("Q", bound=msgspec.Struct)
_DATE = re.compile(DATE_PATTERN, re.ASCII)
_OFFSET = 9  # DATE_PATTERN's group of an offset
DATE, VALUE = "date", "value"  # what a required parameter is


def read(kind: type[Q], environ: WSGIEnvironment) -> Q:
    """The query parameters `kind` declares (the defaults for those not given); BadRequestError
    for one that is repeated, missing while required, or refused. The query string is decoded
    as Flask decodes `request.args` (UTF-8, `+` as space, undecodable bytes replaced)."""
    fields = _fields(kind)
    given: dict[str, list[str]] = {}
    for name, value in parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True):
        if name in fields:
            given.setdefault(name, []).append(value)
    for name, (required, _) in fields.items():
        values = given.get(name, ())
        if len(values) > 1:
            raise BadRequestError(f"{name} is given {len(values)} times; give it once")
        if required and not values:
            said = _example(name) if required == DATE else ""
            raise BadRequestError(f"the query parameter {name} is missing{said}")
    texts = {name: given[name][0] for name in fields if name in given}
    try:
        return msgspec.convert(texts, kind, strict=False, dec_hook=_parse)
    except msgspec.ValidationError as error:
        said, _, where = str(error).rpartition(" - at `$.")
        name = where.rstrip("`")
        refused = fields[name][1]
        if refused is None:  # the reader's own words (`_parse`)
            raise BadRequestError(f"{name}{said}") from None
        raise BadRequestError(f"{name}={texts[name][:20]!r}{refused}") from None


def _example(name: str) -> str:
    """What to ask for a missing date: the next hour, as the answers write it, or its day (a
    route without a date guesses none: docs/api.md, "Dates")."""
    hour = iso_utc((int(time.time()) // 3600 + 1) * 3600)
    return (
        f"; give the instant to forecast, e.g. {name}={hour} (the next hour) or {name}={hour[:10]}"
    )


@cache
def _fields(kind: type[msgspec.Struct]) -> dict[str, tuple[str | None, str | None]]:
    """Each field of `kind`: None if it may be left out, else what it is (DATE, an instant, or
    VALUE); and its declared refusal."""
    found = {}
    for field in msgspec.inspect.type_info(kind).fields:  # type: ignore[attr-defined]
        declared = field.type
        extra = getattr(declared, "extra", None) or {}
        instant = getattr(getattr(declared, "type", declared), "cls", None) is Instant
        found[field.name] = (
            (DATE if instant else VALUE) if field.required else None,
            extra.get(REFUSED),
        )
    return found


def _parse(kind: type, text: Any) -> Any:
    """A date as seconds since 1970 UTC, an interval as its label; a ValueError saying what
    follows the parameter's name in the refusal."""
    if kind is IntervalLabel:
        try:
            return IntervalLabel(Interval.parse(text).label)
        except IntervalError as error:
            raise ValueError(f"={error}") from None
    if kind is not Instant:
        raise NotImplementedError(kind)
    if len(text) > MAX_LENGTH:
        raise ValueError(f" is {len(text)} characters long; expected a date like {DATE_EXAMPLES}")
    found = _DATE.fullmatch(text)
    if not found:
        raise ValueError(
            f"={text!r} is not an ISO-8601 date; expected e.g. {DATE_EXAMPLES} "
            "(in a URL, write an offset's + as %2B)"
        )
    offset = found.start(_OFFSET)
    if text[offset : offset + 1] == " ":  # a + decoded as a space
        text = f"{text[:offset]}+{text[offset + 1 :]}"
    try:
        when = datetime.fromisoformat(text.upper())
    except ValueError as error:
        raise ValueError(f"={text!r} is not a valid date: {error}") from None
    return Instant((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp())


def multiple_of(name: str, wanted: Interval, base: Interval) -> Interval:
    """`wanted`, the interval in query parameter `name`, unless it is no whole multiple of the
    stored `base` bars' (UnsupportedIntervalError)."""
    if not wanted.is_multiple_of(base):
        finer = "finer than" if wanted.seconds < base.seconds else "no multiple of"
        raise UnsupportedIntervalError(
            f"{name} {wanted} is {finer} the stored {base} bars; use a whole multiple of {base}"
        )
    return wanted
