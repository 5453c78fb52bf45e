"""Docs that cannot drift (issue 84 bar 3): every figure the code sets that a page states is
read from both and compared; a measured figure links to its row of `docs/measured.md`, generated
from `docs/measured.json` with the command, the machine, the date and the commit."""

from __future__ import annotations

import re

import pytest

from tools.doc_figures import (
    HISTORY,
    LINKED,
    PAGES,
    ROOT,
    measured,
    measured_table,
    settings,
    typed_figures,
    wrong_figures,
    wrong_links,
)
from tools.report import render


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


def test_every_measured_figure_is_a_row_of_the_generated_table_that_pages_link_to():
    figures = measured()
    for name, figure in figures.items():
        assert figure["command"], name
        said = f"{figure['cores']} {figure['commit']} {figure['date']}"
        assert re.fullmatch(r"\d+ [0-9a-f]{7,} \d{4}-\d\d-\d\d", said), name
    table = (ROOT / "docs/measured.md").read_text()
    assert render(table, {"measured": measured_table(figures)}) == table  # tools.doc_figures
    pages = [(ROOT / page).read_text() for page in PAGES]
    assert [wrong for page in pages for wrong in wrong_links(page, figures)] == []
    assert {match["name"] for page in pages for match in LINKED.finditer(page)} == set(figures)


def test_a_link_to_a_row_that_is_not_there_or_says_another_number_is_found():
    row = {"figure": "2 min 29 s, 91 MB", "measures": "x", "command": "make image-test"}
    figures = {"build": {**row, "cores": 2, "load": [1.7], "date": "", "commit": ""}}
    page = "[2 min 29 s](measured.md#build), [91 MB](docs/measured.md#build), [2 min](#build)"
    assert wrong_links(page, figures) == []
    said = "[2 min 30 s](measured.md#build), [2 min](measured.md#gone)"
    assert wrong_links(said, figures) == [said[:31], said[33:]]
    shown = '| <a id="build"></a>2 min 29 s, 91 MB | x | `make image-test` | 2 cores, load 1.7 |'
    assert shown in measured_table(figures)


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
        ("[about 20 s](measured.md#x), `LIVE_RETRY_SECONDS` (5 s)", []),
        ("knots over the last 90 days (`FULL_DAYS`); 90 days of candles, 30 days", ["1: 30 days"]),
        ("`1h` candles, the 1d lead, at 1 hour, 1 day and 7 days", []),
    ],
)
def test_a_figure_typed_by_hand_is_found(said, typed):
    assert typed_figures(said) == typed
