"""Docs that cannot drift (issue 84 bar 3): every figure the code sets that a page states is
read from both and compared; every measured figure comes from `docs/measured.json`, with the
command and the date that measured it."""

from __future__ import annotations

import re

import pytest

from tools.doc_figures import (
    HISTORY,
    PAGES,
    ROOT,
    marked,
    measured,
    render_measured,
    settings,
    typed_figures,
    wrong_figures,
)


@pytest.mark.parametrize("page", [page for page in PAGES if page not in HISTORY])
def test_every_figure_the_code_sets_is_the_codes(page):
    assert [str(wrong) for wrong in wrong_figures(page, (ROOT / page).read_text())] == []


@pytest.mark.parametrize(
    ("said", "wrong"),
    [
        # Issue 84's: the header limit (a setting, then the edge's), BTC/USD's damping.
        ("| 431 | a request line and headers longer than `MAX_REQUEST_HEADER_SIZE` (64 KiB) |", 1),
        ("| 400 | a request line and headers longer than HAProxy's 64 KiB buffer |", 1),
        ("| 400 | a request line and headers longer than HAProxy's 16 KiB buffer |", 0),
        ("| 504 | the server did not answer within 60 s |", 1),
        ("| 504 | the server did not answer within 30 s |", 0),
        ("| 400 | request line and headers longer than 16 KiB or more than 100 lines |", 1),
        ("hourly BTC/USD damping tau 6 h, a fifth of the move a day out", 1),
        ("the panel's damping, tau 0: the last close", 0),
        # A setting's default, in its unit, in words, in other forms.
        ("`CHANNEL_TIMEOUT` (30 s) closes a silent connection", 1),
        ("`LATEST_PRICE_SECONDS` (two minutes)", 1),
        ("`LATEST_PRICE_SECONDS` (a minute)", 0),
        ("`LIVE_CONNECT_TIMEOUT`, 3 s, PostgreSQL's shortest", 1),
        ("`FORECAST_MAX_POINTS` points (5,000: over half a year)", 1),
        ("`Cache-Control: max-age=60` (`CACHE_SECONDS`)", 1),
        ("`RETENTION_DAYS` days (default 30)", 1),  # the release workflow's
        ("`LIVE_SPEED` (default 2)", 1),  # the Makefile's
        ("`PORT` (8081 in the Blueprint)", 1),
        # A constant of the package, a library's default the docs name.
        ("knots over the last 60 days (`FULL_DAYS`)", 1),
        ("knots over the last 90 days (`FULL_DAYS`)", 0),
        ("`DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT`, 10 s by default", 1),
        ("`/healthz` asked every 0.5 s (`PROBE_EVERY`)", 1),  # a benchmark's
        # A tuple of the code, listed; the model's steps.
        ("the short window (`panel_steps.WINDOWS` (1, 7 or 14 days)", 1),
        ("among `damping.CANDIDATES` (none, 720, 240, 72, 24, 6 and 0 hours)", 0),
        ("- **Band origins**, every 6 hours: bands cost nothing", 1),
        # A default in words, a table's, a range of two, `docker build`'s arguments.
        ("the replay's database (`LIVE_DB`, default `.cache/other.db`)", 1),
        ("`DATABASE_URL` is `sqlite:///PATH` (default `sqlite:///.cache/market.db`; ...)", 0),
        ("| `RELEASE_ASSETS` | variable | no | The pairs (default `top:100`). |", 1),
        ("| `ASSETS` | empty (the product's default, `btc-usd`) | The pairs |", 1),
        ("`REQUIRE_FRESH_HOURS` (default\n  4), so", 1),
        ("outside [`GATE_MIN_COVERAGE`, `GATE_MAX_COVERAGE`] (0.5 to 0.95);", 1),
        ("outside [`GATE_MIN_COVERAGE`, `GATE_MAX_COVERAGE`] (0.6 to 0.95);", 0),
        ("| Build argument | Default |\n|---|---|\n| `TRAIN_SOURCE` | `snapshot` |", 1),
        ("| Build argument | Default |\n|---|---|\n| `GIT_SHA` | empty |", 0),
        # Ports, schedules and intervals.
        ("serves on <http://localhost:8000>", 1),
        ("`PORT=8081 make run`, then <http://localhost:8081>", 0),
        ("`docker run -p 8081:8080 ...`", 0),
        ("The release workflow retrains every twelve hours", 1),
        ("a line at least every 30 seconds in a pipe", 1),
        ("the rest queued for up to 10 s", 1),  # HAProxy's, and a rule's, and the feed's
        ("under 70% for 5 minutes (the rule's `for`)", 1),
        ("attempts slow down (1, 2, 4, ... up to 30 s)", 1),
        ("until each is written (`Retry-After: 30`)", 1),
        ("the forecast chart (60 days of history and a year of forecast)", 1),
        ("the forecast chart (90 days of history and a year of forecast)", 0),
        # A range's defaults, the days whose bars the artifact keeps whole.
        ("By default `end` is 180 days after the data's\nend", 1),
        ("and `start` 7 days before the data's end", 1),
        ("and `start` 30 days before the data's end", 0),
        ("Candles finer than a day (`1h`, `4h`) cover the last 60 days", 1),
        # What `make test` installs with apt: the Makefile's TOOLS.
        ("as root, Debian's `chromium` and `wrk` with `apt-get`", 1),
    ],
)
def test_a_figure_that_differs_from_the_code_is_found(said, wrong):
    assert len(wrong_figures("page.md", said)) == wrong, said


def test_the_settings_read_are_configs_the_makefiles_and_the_workflows():
    found = settings()
    assert found["MAX_CONNECTIONS_PER_CLIENT"] == 100
    assert found["LIVE_PLAY_MINUTES"] == "1440"
    assert found["RETENTION_DAYS"] == "7"


def test_every_measured_figure_is_docs_measured_json_with_its_command_and_date():
    figures = measured()
    for name, figure in figures.items():
        assert figure["command"], name
        assert re.fullmatch(r"\d{4}-\d\d-\d\d", figure["date"]), name
    used = set()
    for page in PAGES:
        text = (ROOT / page).read_text()
        assert render_measured(text, figures) == text, f"{page}: run `python -m tools.doc_figures`"
        # Markdown reads a line that starts with a comment as a block of HTML, breaking the
        # paragraph or list item around it: a figure goes on within its line.
        assert not re.search(r"^\s*<!-- measured:", text, re.M), page
        used |= set(marked(text))
    assert used == set(figures)  # none kept that no page shows


def test_a_page_shows_a_measured_figure_as_the_file_says_it():
    figures = {"build": {"says": "about 2 min", "command": "make image-test", "date": "2026-11-26"}}
    page = "The first build takes <!-- measured:build -->about 20 min<!-- /measured -->."
    assert render_measured(page, figures) == (
        "The first build takes <!-- measured:build -->about 2 min (`make image-test`, "
        "2026-11-26)<!-- /measured -->."
    )
    with pytest.raises(KeyError):
        render_measured("<!-- measured:gone -->x<!-- /measured -->", figures)


@pytest.mark.parametrize("page", [page for page in PAGES if page not in HISTORY])
def test_no_page_types_a_duration_or_size_by_hand(page):
    """A page's durations and sizes are measured ones (from docs/measured.json), the code's (a
    setting or a phrase read from both), or one of the few phrasings that are neither."""
    assert typed_figures((ROOT / page).read_text()) == []


@pytest.mark.parametrize(
    ("said", "typed"),
    [
        ("training takes about an hour on two cores,\n5 MB a pair", ["1: an hour", "2: 5 MB"]),
        ("it serves within about 20 s", ["1: 20 s"]),
        ("<!-- measured:x -->about 20 s<!-- /measured -->, `LIVE_RETRY_SECONDS` (5 s)", []),
        ("knots over the last 90 days (`FULL_DAYS`); 90 days of candles, 30 days", ["1: 30 days"]),
        ("`1h` candles, the 1d lead, at 1 hour, 1 day and 7 days", []),
    ],
)
def test_a_figure_typed_by_hand_is_found(said, typed):
    assert typed_figures(said) == typed
