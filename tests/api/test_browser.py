"""Swagger UI and the dashboard in a real browser, with nothing reachable beyond loopback.

Debian's chromium, driven by Playwright; Playwright's own browser download is never used.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit
from urllib.request import urlopen

import pytest

from cryptopredict.api.serving.verdict import decimals
from cryptopredict.artifact.index import record
from cryptopredict.artifact.run import PairFailure, TrainingRun, write_run
from cryptopredict.artifact.training import (
    FILE,
    VERSION,
    PairStatus,
    TrainingStatus,
    write_status,
)
from cryptopredict.freshness import in_words
from cryptopredict.utc import iso_utc
from tests.api.artifacts import HOUR
from tests.browser import Browser, needs_chromium, watched_page
from tests.live_server import answered, start_server, wait_for
from tests.plain_words import TERMS_OF_ART

pytestmark = [pytest.mark.slow, pytest.mark.e2e, needs_chromium]
DAY = 24 * HOUR
NO_SOURCE = "no source delivered NOSUCH/USD 1h bars"


@pytest.fixture
def browser(chromium) -> Iterator[Browser]:
    with watched_page(chromium) as watched:
        yield watched


def test_swagger_ui_lists_every_operation(browser, live_server):
    browser.page.goto(live_server.url + "/docs")
    browser.page.wait_for_selector(".opblock-summary-path", timeout=20_000)
    paths = browser.page.locator(".opblock-summary-path").all_inner_texts()
    assert {path.replace("\u200b", "") for path in paths} >= {
        "/bitcoin",
        "/bitcoin/forecast",
        "/model",
        "/model/backtest",
        "/healthz",
        "/metrics",
    }
    assert browser.blocked == []
    assert browser.problems == []


def test_swagger_ui_can_try_the_forecast(browser, live_server):
    page = browser.page
    page.goto(live_server.url + "/docs")
    operation = page.locator(".opblock").filter(has=page.get_by_text("/bitcoin", exact=True))
    operation.wait_for(timeout=20_000)
    operation.locator(".opblock-summary").click()
    # docs.js enables "Try it out" up front, so the field is editable once the operation opens
    operation.locator("input[placeholder='date']").fill("2026-07-26T12:00:00Z")
    operation.locator(".execute").click()
    status = operation.locator(".live-responses-table .response .response-col_status").first
    status.wait_for(timeout=20_000)
    assert status.inner_text().strip() == "200"
    assert browser.blocked == []
    assert browser.problems == []


def test_swagger_ui_offers_the_served_assets_and_levels_as_choices(browser, live_server):
    """The asset and the level are named enums in the document (one class each in a generated
    client); Swagger UI still offers their values to choose from, with their types."""
    page = browser.page
    page.goto(live_server.url + "/docs")
    operation = page.locator(".opblock").filter(
        has=page.get_by_text("/forecast/{asset}", exact=True)
    )
    operation.wait_for(timeout=20_000)
    operation.locator(".opblock-summary").click()
    rows = operation.locator("tr[data-param-name]")
    rows.first.wait_for(timeout=20_000)
    for name, kind, choices in (
        ("asset", "string", ["btc-usd", "eth-usd"]),
        ("level", "integer", ["50", "80", "95"]),
    ):
        row = operation.locator(f"tr[data-param-name='{name}']")
        assert row.locator(".parameter__type").inner_text().strip() == kind, name
        offered = row.locator("select option").all_inner_texts()
        assert [text for text in offered if text != "--"] == choices, (name, offered)
    assert browser.blocked == []
    assert browser.problems == []


def test_the_dashboard_draws_its_charts(browser, live_server, facts):
    page = browser.page
    page.goto(live_server.url + "/")
    for chart in ("#forecast-chart", "#backtest-chart"):
        page.wait_for_selector(f"{chart} .main-svg", timeout=20_000)
        traces = page.locator(f"{chart} .scatterlayer .trace").count()
        assert traces >= 2, chart
    drawn = page.locator("#forecast-chart .scatterlayer .trace path.js-line").count()
    assert drawn >= 3
    marks = page.eval_on_selector(
        "#forecast-chart", "element => element.layout.shapes.map(shape => shape.x0)"
    )
    labels = page.eval_on_selector(
        "#forecast-chart", "element => element.layout.annotations.map(note => note.text)"
    )
    # In time order: the fixture's data is months old, its band untested past 30 days.
    assert labels == ["data end", "band untested after", "today"]
    assert marks[0] == "2026-07-26T17:00:00Z"  # the close of the last bar, opened at 16:00
    # Both bands, and in the history the hindcast beside the close, then the forecast.
    names = page.eval_on_selector("#forecast-chart", "e => e.data.map(trace => trace.name)")
    assert {"80% band", "50% band", "forecast", "actual close"} <= set(names)
    assert "hindcast (said before each bar)" in names
    hindcast = page.eval_on_selector(
        "#forecast-chart", "e => e.data.find(trace => trace.name.startsWith('hindcast')).x"
    )
    assert hindcast[-1] == iso_utc(facts.data_end)
    assert page.locator("#band").inner_text() == "50% and 80% bands"
    assert page.locator("#model-version").inner_text() == facts.model_version
    # Issue 96, item 5: as the forecasts' note says it (it said 123 days, the note 124).
    old = in_words(time.time() - facts.data_end)
    assert page.locator("#data-age").inner_text() == f"the data is {old} old"
    assert page.locator("#status").inner_text() == ""
    assert browser.blocked == []
    assert browser.problems == []


def _coverages(by_level: dict[str, float], se: dict[str, float]) -> str:
    def points(values: dict[str, float]) -> str:
        return " / ".join(f"{values[level] * 100:.1f}" for level in ("50", "80", "95"))

    return f"{points(by_level)}% (SE {points(se)})"


def test_the_dashboard_shows_the_interval_scores_behind_each_verdict_and_the_point_forecast(
    browser, live_server
):
    with urlopen(live_server.url + "/model") as answer:
        verdict = json.load(answer)["verdict"]
    horizons = ["1h", "1d", "7d"]  # in time order; the fixture's backtest reaches no further
    assert [row["horizon"] for row in verdict["horizons"]] == horizons
    page = browser.page
    page.goto(live_server.url + "/")
    page.wait_for_selector("#scores:not([hidden])", timeout=20_000)
    rows = page.locator("#scores tbody tr")
    expected = []
    for row in verdict["horizons"]:
        places = decimals(row["se"])
        expected.append(
            [
                row["horizon"],
                f"{row['interval_score']:.{places}f} / {row['naive_interval_score']:.{places}f}",
                f"{row['difference']:+.{places}f} ± {row['se']:.{places}f}",
                row["verdict"],
                _coverages(row["coverage"], row["coverage_se"]),
                _coverages(row["naive_coverage"], row["naive_coverage_se"]),
                f"{row['mape']:.2%} / {row['naive_mape']:.2%}",
            ]
        )
    assert [rows.nth(i).locator("td").all_inner_texts() for i in range(rows.count())] == expected
    assert page.locator("#verdict").text_content() == verdict["sentence"]
    assert verdict["sentence"].startswith("Backtested on ")
    # One plain sentence first, above the card and the charts; the detail folded below it.
    assert page.locator("#summary").inner_text() == verdict["summary"]
    assert verdict["summary"].startswith("The line is ")
    first = page.evaluate("() => document.querySelector('main > :not([hidden])').id")
    assert first == "summary"
    assert page.locator("#detail").get_attribute("open") is None
    assert not page.locator("#verdict").is_visible()
    page.locator("#detail summary").click()
    assert page.locator("#verdict").is_visible()
    assert page.locator("#point-forecast").text_content() == verdict["point_forecast"]
    assert page.locator("#band-method").text_content() == verdict["band"]
    assert verdict["band"].startswith("The band is scaled: ")
    assert browser.problems == []


def test_the_forecast_is_asked_for_at_the_finest_step_that_fits(browser, live_server, facts):
    page = browser.page
    answered = []
    # A Python function: Playwright cannot hold a builtin method such as list.append.
    page.on("response", lambda response: answered.append(response))  # noqa: PLW0108
    page.goto(live_server.url + "/")
    page.wait_for_selector("#forecast-chart[data-asset='btc-usd']", timeout=20_000)
    ranges = {
        parse_qs(urlsplit(response.url).query)["step"][0]: response.json()
        for response in answered
        if "/forecast/btc-usd/range?" in response.url
    }
    assert set(ranges) == {"1h", "4h"}  # the history hourly; a year ahead, 2,190 points
    history, ahead = ranges["1h"], ranges["4h"]
    assert (history["start"], history["end"]) == (iso_utc(facts.first), iso_utc(facts.data_end))
    assert ahead["end"] == iso_utc(facts.data_end + 365 * DAY)
    assert ahead["count"] == 365 * 6  # from the first 4-hour instant after the data's end
    drawn = page.eval_on_selector("#forecast-chart", "e => e.data.map(t => [t.x, t.y[0]])")
    assert drawn[0][0] == history["date"]  # then the band's fan from the last close, no width
    cut = next(at for at, date in enumerate(ahead["date"]) if date >= ahead["untested_after"])
    tested = [iso_utc(facts.data_end), *ahead["date"][: cut + 1]]
    assert drawn[2] == [tested, ahead["anchor"]["price"]]
    assert drawn[3][1] == ahead["anchor"]["price"]
    assert drawn[4][0] == ahead["date"][cut:]  # then grey: untested (issue 117)


@pytest.mark.parametrize(
    ("interval", "hours", "step"),
    [
        ("1h", 2160, "1h"),
        ("1h", 2500, "2h"),
        ("1h", 8760, "4h"),
        ("1h", 26304, "12h"),
        ("1d", 26304, "1d"),
        ("1d", 10 * 26304, "1w"),
        ("4h", 8760, "4h"),
    ],
)
def test_the_step_is_the_finest_multiple_of_the_interval_that_fits(
    browser, live_server, interval, hours, step
):
    browser.page.goto(live_server.url + "/")
    got = browser.page.evaluate(
        "([interval, hours]) => stepFor(interval, 0, hours * 3600 * 1000)", [interval, hours]
    )
    assert got == step


def test_an_error_shows_the_apis_detail(browser, artifact_dir, tmp_path):
    server = start_server(artifact_dir, tmp_path / "api.log", FORECAST_MAX_POINTS="50")
    try:
        browser.page.goto(server.url + "/")
        status = browser.page.locator("#status")
        status.filter(has_text="answered").wait_for(timeout=20_000)
        assert re.fullmatch(
            r"Could not draw the charts: /forecast/btc-usd/range answered 422 \(too_many_points: "
            r".* at most 50 per request, so narrow the range or ask for a coarser step\)",
            status.inner_text(),
        )
    finally:
        server.process.terminate()
        server.process.wait(timeout=10)


def test_a_model_without_a_backtest_says_so_and_draws_the_rest(browser, no_backtest_dir, tmp_path):
    server = start_server(no_backtest_dir, tmp_path / "api.log")
    try:
        page = browser.page
        page.goto(server.url + "/")
        page.wait_for_selector("#forecast-chart[data-asset='btc-usd']", timeout=20_000)
        page.wait_for_selector("#candles-chart[data-asset='btc-usd']", timeout=20_000)
        backtest = page.locator("#backtest-chart")
        assert backtest.inner_text().startswith("This model has no backtest: it was trained with")
        assert backtest.locator(".main-svg").count() == 0
        assert page.locator("#scores").is_hidden()
        assert page.locator("#verdict").text_content() == ""
        assert page.locator("#status").inner_text() == ""
        assert browser.problems == []
    finally:
        server.process.terminate()
        server.process.wait(timeout=10)


def test_the_dashboard_switches_assets_and_draws_candles(browser, live_server):
    page = browser.page
    page.goto(live_server.url + "/")
    page.wait_for_selector("#candles-chart .main-svg", timeout=20_000)
    assert page.locator("#asset-select option").all_inner_texts() == ["BTC/USD", "ETH/USD"]
    assert page.locator("#candle-interval option").all_inner_texts() == ["1h", "4h", "1d", "1w"]
    assert page.locator("#candle-interval").input_value() == "1d"
    assert page.locator("#candles-chart .boxlayer .trace").count() >= 1  # the candlesticks
    btc_dates = chart_dates(page, "#forecast-chart")

    page.locator("#asset-select").select_option("eth-usd")
    page.wait_for_selector("#forecast-chart[data-asset='eth-usd']", timeout=20_000)
    page.wait_for_selector("#candles-chart[data-asset='eth-usd']", timeout=20_000)
    page.wait_for_selector("#backtest-chart[data-asset='eth-usd']", timeout=20_000)
    assert page.locator("#backtest-symbol").inner_text() == "ETH/USD"
    assert "the ETH/USD model" in page.locator("#verdict").text_content()
    eth_closes = page.eval_on_selector("#backtest-chart", "element => element.data[0].x")
    assert all(date.endswith("T00:00:00Z") for date in eth_closes)  # ETH's days' closes
    assert page.locator("#model-version").inner_text() == "test-eth-1"
    assert page.locator("#symbol").inner_text() == "ETH/USD"
    eth_dates = chart_dates(page, "#forecast-chart")
    assert eth_dates != btc_dates
    assert all(date.endswith("T00:00:00Z") for date in eth_dates)  # daily points
    assert page.locator("#candle-interval option").all_inner_texts() == ["1d", "1w"]
    assert page.url.endswith("#eth-usd")
    # The nav's model card is the pair's own; every price axis is in the pair's quote.
    assert page.locator("#model-link").get_attribute("href") == "/model/eth-usd"
    for chart in ("#forecast-chart", "#candles-chart", "#backtest-chart"):
        title = page.eval_on_selector(chart, "element => element.layout.yaxis.title.text")
        assert title == "USD", chart
    # The search hint's examples are among the pairs served (here BTC/USD and ETH/USD only).
    hint = page.locator("#asset-search").get_attribute("placeholder")
    assert hint == "search 2 pairs: btc, usd, ETH/USD"

    page.locator("#candle-interval").select_option("1w")
    page.wait_for_selector("#candles-chart[data-interval='1w']", timeout=20_000)
    assert page.locator("#candles-chart .boxlayer .trace path").count() >= 1

    page.evaluate("window.location.hash = 'btc-usd'")  # an address edited by hand
    page.wait_for_selector("#forecast-chart[data-asset='btc-usd']", timeout=20_000)
    assert page.locator("#asset-select").input_value() == "btc-usd"
    assert page.locator("#symbol").inner_text() == "BTC/USD"
    assert page.locator("#status").inner_text() == ""
    assert browser.blocked == []
    assert browser.problems == []


def chart_dates(page, chart: str) -> list[str]:
    return page.eval_on_selector(chart, "element => element.data[0].x")


def test_the_dashboard_says_which_pairs_are_still_training(browser, artifact_dir, tmp_path):
    """Issue 56: plain words first (the terms of art in the detail), each pair running or
    waiting for a worker, and a pair the run could not train named with why, during the run and
    after it. Before the first pair is served (`make run`'s first minute), that is all the page
    shows, the detail open, until it reloads to draw the first."""
    model_dir = tmp_path / "models"
    model_dir.mkdir()
    now = datetime.now(UTC).replace(microsecond=0)
    pairs = (
        PairStatus(
            asset="btc-usd", state="running", step="backtest of the served forecast",
            eta_seconds=300,
        ),
        PairStatus(
            asset="sol-usdt", state="waiting",
            step="waiting for a worker (next: reading its history)", eta_seconds=None,
        ),
        PairStatus(
            asset="nosuch-usd", state="failed", step="reading its history", why=NO_SOURCE,
            eta_seconds=None,
        ),
    )  # fmt: skip
    write_status(
        model_dir,
        TrainingStatus(
            version=VERSION, started_at=now, updated_at=now, eta_seconds=420, pairs=pairs
        ),
    )
    server = start_server(model_dir, tmp_path / "api.log")
    try:
        page = browser.page
        page.clock.install()
        page.goto(server.url + "/")
        line = page.locator("#training-said")
        line.wait_for(state="visible", timeout=20_000)
        said = line.inner_text()
        assert said == (
            "Still training 2 pairs, about 7 min left. Each pair's forecast is shown as soon as "
            "it is ready."
        )
        assert not TERMS_OF_ART.search(said), said
        assert page.locator("h1").inner_text() == "Training: no pair is served yet"
        assert page.locator("#training-pairs li").all_inner_texts() == [
            "btc-usd: backtest of the served forecast, about 5 min left",
            "sol-usdt: waiting for a worker (next: reading its history)",
        ]
        assert page.locator("#training-pairs").is_visible()  # folded once a pair is served
        failed = page.locator("#failed")
        assert failed.is_visible()
        assert failed.inner_text().startswith(f"Could not train nosuch-usd ({NO_SOURCE}).")
        for asset in ("btc-usd", "eth-usd"):
            shutil.copytree(artifact_dir / asset, model_dir / asset)
        record(model_dir, None, afresh=True)
        wait_for(lambda: json.loads(answered(f"{server.url}/assets")[1])["total"], "a pair served")
        page.clock.fast_forward(2_000)
        page.locator("#symbol", has_text="BTC/USD").wait_for(timeout=20_000)
        line.wait_for(state="visible", timeout=20_000)
        assert line.inner_text() == said
        # The run ends: it records the failure and removes its status file.
        write_run(
            model_dir,
            TrainingRun(
                asked="btc-usd,sol-usdt,nosuch-usd", finished_at=now, model_version="dev",
                trained=("btc-usd", "sol-usdt"),
                failed=(PairFailure(asset="nosuch-usd", reason=NO_SOURCE),), ranking=None,
            ),
        )  # fmt: skip
        (model_dir / FILE).unlink()
        page.clock.fast_forward(10_000)
        page.locator("#training").wait_for(state="hidden", timeout=20_000)
        assert failed.is_visible()  # still named, until the next run
        assert f"nosuch-usd ({NO_SOURCE})" in failed.inner_text()
        assert browser.problems == []
    finally:
        server.process.terminate()
        server.process.wait(timeout=30)
