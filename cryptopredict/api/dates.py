"""The dates the API accepts: `YYYY-MM-DD` or an ISO-8601 datetime, with or without an offset."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

from cryptopredict.api.errors import BadRequestError

MAX_LENGTH = 64
# The OpenAPI document publishes this pattern, so generated clients and fuzzers produce dates
# the parser accepts. It allows what `datetime.fromisoformat` reads, restricted to the usual
# extended format; calendar checks (February 30) are left to the parser.
PATTERN = (
    r"^([1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])-(0[1-9]|1[0-2])-"
    r"(0[1-9]|[12][0-9]|3[01])"
    r"([Tt ]([01][0-9]|2[0-3])(:[0-5][0-9](:[0-5][0-9]([.,][0-9]{1,9})?)?)?"
    r"([Zz]|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?)?$"
)
_FORM = re.compile(PATTERN, re.ASCII)
EXAMPLES = "2026-08-01, 2026-08-01T12:00, 2026-08-01T12:00:00Z or 2026-08-01T14:00+02:00"


def parse_epoch(name: str, text: str) -> float:
    """Seconds since 1970 UTC from the query parameter `name`; naive times are UTC.

    Reads only what the published `PATTERN` allows (no whitespace around the date), so the API
    accepts no value its document refuses. BadRequestError says what is wrong and what is
    expected.
    """
    if len(text) > MAX_LENGTH:
        raise BadRequestError(
            f"{name} is {len(text)} characters long; expected a date like {EXAMPLES}"
        )
    if not _FORM.fullmatch(text):
        raise BadRequestError(f"{name}={text!r} is not an ISO-8601 date; expected e.g. {EXAMPLES}")
    try:
        when = datetime.fromisoformat(text.upper())
    except ValueError as error:
        raise BadRequestError(f"{name}={text!r} is not a valid date: {error}") from None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def iso_utc(epoch: float) -> str:
    """`YYYY-MM-DDTHH:MM:SS[.ffffff]Z`; only for epochs inside years 1 to 9999."""
    whole = int(epoch)
    if whole == epoch and whole >= 0:  # the usual case (strftime pads no year below 1000)
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(whole))
    return datetime.fromtimestamp(epoch, UTC).replace(tzinfo=None).isoformat() + "Z"


def show_epoch(epoch: float) -> str:
    """An epoch for a message, also when it lies outside the years datetime can show."""
    try:
        return iso_utc(epoch)
    except (OverflowError, ValueError, OSError):
        return f"({epoch:.0f} seconds after 1970)"
