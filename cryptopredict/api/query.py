"""The query string: each parameter given at most once, and read as its declaration says.

Each route's parameters are one `Query` type of `cryptopredict.api.types`, the same type the
OpenAPI document declares them with: `read` takes each field's name, whether it is required, its
default and its constraints (pattern, length, choices) from there, and the reader its declaration
names (`READ`) refuses what the constraints refuse, saying what was wrong and what is expected.
Dates are `YYYY-MM-DD` or an ISO-8601 datetime, with or without an offset; `format` json or csv;
`level` one of the served bands; intervals (a candle's width, a range's step) a whole number and
a unit, whole multiples of the stored bars' (`multiple_of`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import parse_qsl

import msgspec
from msgspec.inspect import EnumType, Metadata, StrType, StructType

from cryptopredict.api.errors import BadRequestError, UnsupportedIntervalError
from cryptopredict.candles import Interval, not_an_interval

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
_OFFSET = 9
DATE_EXAMPLES = "2026-08-01, 2026-08-01T12:00, 2026-08-01T12:00:00Z or 2026-08-01T14:00+02:00"

# A parameter's reader: given its name and declared constraints, what reads its text into its
# value, or refuses it with a BadRequestError. A declaration names it in `Meta(extra={READ: ...})`.
Parse = Callable[[str], Any]
Reader = Callable[[str, Any], Parse]
READ = "read"
Q = TypeVar("Q", bound=msgspec.Struct)


def query(environ: WSGIEnvironment) -> list[tuple[str, str]]:
    """The query string's pairs, decoded as Flask decodes `request.args` (UTF-8, `+` as space,
    undecodable bytes replaced), without building its MultiDict: half the time, per request.
    """
    return parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)


def read(kind: type[Q], environ: WSGIEnvironment) -> Q:
    """The query parameters `kind` declares, in its fields' order, each read by its declaration
    (the defaults for those not given); BadRequestError for one that is repeated, missing while
    required, or refused."""
    pairs = query(environ)
    given = {}
    for name, required, parse in _parsers(kind):
        text = single(pairs, name, required=required)
        if text is not None:
            given[name] = parse(text)
    return kind(**given)


@cache
def _parsers(kind: type[msgspec.Struct]) -> tuple[tuple[str, bool, Parse], ...]:
    parsers = []
    for field in cast(StructType, msgspec.inspect.type_info(kind)).fields:
        declared = cast(Metadata, field.type)  # the field's `Meta`: constraints and reader
        reader: Reader = (declared.extra or {})[READ]
        parsers.append((field.name, field.required, reader(field.name, declared.type)))
    return tuple(parsers)


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


def date_text(name: str, declared: StrType) -> Parse:
    """A date of the declared pattern (`DATE_PATTERN`), no longer than declared, that is in the
    calendar (no February 30): its text, with an offset's `+` that a URL made a space restored.
    """
    form = re.compile(declared.pattern or "", re.ASCII)
    longest = declared.max_length

    def parse(text: str) -> str:
        if longest is not None and len(text) > longest:
            raise BadRequestError(
                f"{name} is {len(text)} characters long; expected a date like {DATE_EXAMPLES}"
            )
        found = form.fullmatch(text)
        if not found:
            raise BadRequestError(
                f"{name}={text!r} is not an ISO-8601 date; expected e.g. {DATE_EXAMPLES} "
                "(in a URL, write an offset's + as %2B)"
            )
        offset = found.start(_OFFSET)
        if text[offset : offset + 1] == " ":  # a + decoded as a space
            text = f"{text[:offset]}+{text[offset + 1 :]}"
        try:
            datetime.fromisoformat(text.upper())
        except ValueError as error:
            raise BadRequestError(f"{name}={text!r} is not a valid date: {error}") from None
        return text

    return parse


def epoch(date: str) -> float:
    """Seconds since 1970 UTC of a date `date_text` read; naive times are UTC."""
    when = datetime.fromisoformat(date.upper())
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def interval_text(name: str, declared: StrType) -> Parse:
    """An interval of the declared pattern, once blanks around it and case are dropped (as
    `Interval.parse` drops them): its label."""
    form = re.compile(declared.pattern or "", re.ASCII)

    def parse(text: str) -> str:
        label = text.strip().lower()
        if not form.fullmatch(label):
            raise BadRequestError(f"{name}={not_an_interval(text)}")
        return label

    return parse


def served_level(name: str, declared: EnumType) -> Parse:
    """A band's level, one of the declared ones (percent)."""
    return _one_of(name, declared, "is not served; use one of {} (percent)", ", ")


def known_format(name: str, declared: EnumType) -> Parse:
    return _one_of(name, declared, "is not known; use {}", " or ")


def _one_of(name: str, declared: EnumType, refusal: str, joiner: str) -> Parse:
    choices = {str(each.value): each for each in declared.cls}
    told = refusal.format(joiner.join(choices))

    def parse(text: str) -> Any:
        if text not in choices:
            raise BadRequestError(f"{name}={text[:16]!r} {told}")
        return choices[text]

    return parse


def multiple_of(name: str, wanted: Interval, base: Interval) -> Interval:
    """`wanted`, the interval in query parameter `name`, unless it is no whole multiple of the
    stored `base` bars' (UnsupportedIntervalError)."""
    if not wanted.is_multiple_of(base):
        finer = "finer than" if wanted.seconds < base.seconds else "no multiple of"
        raise UnsupportedIntervalError(
            f"{name} {wanted} is {finer} the stored {base} bars; use a whole multiple of {base}"
        )
    return wanted
