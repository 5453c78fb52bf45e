"""Swagger UI and the dashboard in a real browser, with nothing reachable beyond loopback.

Debian's chromium, driven by Playwright; Playwright's own browser download is never used.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from cryptopredict.api.responses import iso_utc

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists() and shutil.which("chromium") is None,
        reason="Debian's chromium is not installed (`apt-get install -y chromium`; "
        "`make test` does this when run as root)",
    ),
]


class Browser:
    def __init__(self, page) -> None:
        self.page = page
        self.blocked: list[str] = []
        self.problems: list[str] = []

    def watch(self) -> None:
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.on("requestfailed", self._failed)
        self.page.context.route("**/*", self._route)

    def _console(self, message) -> None:
        if message.type in ("error", "warning"):
            self.problems.append(f"console {message.type}: {message.text}")

    def _failed(self, request) -> None:
        self.problems.append(f"request failed: {request.url} {request.failure}")

    def _route(self, route) -> None:
        url = route.request.url
        if urlsplit(url).hostname in LOOPBACK or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort("blockedbyclient")


@pytest.fixture(scope="module")
def chromium() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM if CHROMIUM.exists() else shutil.which("chromium")),
            args=FLAGS,
        )
        yield browser
        browser.close()


@pytest.fixture
def browser(chromium) -> Iterator[Browser]:
    context = chromium.new_context(service_workers="block")
    watched = Browser(context.new_page())
    watched.watch()
    yield watched
    context.close()


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


def test_the_dashboard_draws_its_charts(browser, live_server, facts):
    page = browser.page
    page.goto(live_server.url + "/")
    for chart in ("#forecast-chart", "#backtest-chart"):
        page.wait_for_selector(f"{chart} .main-svg", timeout=20_000)
        traces = page.locator(f"{chart} .scatterlayer .trace").count()
        assert traces >= 2, chart
    drawn = page.locator("#forecast-chart .scatterlayer .trace path.js-line").count()
    assert drawn >= 3
    # Both bands, and in the history the hindcast beside the close, then the forecast.
    names = page.eval_on_selector("#forecast-chart", "e => e.data.map(trace => trace.name)")
    assert {"80% band", "50% band", "forecast", "actual close"} <= set(names)
    assert "hindcast (said before each bar)" in names
    hindcast = page.eval_on_selector(
        "#forecast-chart", "e => e.data.find(trace => trace.name.startsWith('hindcast')).x"
    )
    assert hindcast[-1] == iso_utc(facts.last_bar)
    assert page.locator("#band").inner_text() == "50% and 80% bands"
    assert page.locator("#model-version").inner_text() == facts.model_version
    assert page.locator("#status").inner_text() == ""
    assert browser.blocked == []
    assert browser.problems == []


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
    assert page.locator("#model-version").inner_text() == "test-eth-1"
    assert page.locator("#symbol").inner_text() == "ETH/USD"
    eth_dates = chart_dates(page, "#forecast-chart")
    assert eth_dates != btc_dates
    assert all(date.endswith("T00:00:00Z") for date in eth_dates)  # daily points
    assert page.locator("#candle-interval option").all_inner_texts() == ["1d", "1w"]
    assert page.url.endswith("#eth-usd")

    page.locator("#candle-interval").select_option("1w")
    page.wait_for_selector("#candles-chart[data-interval='1w']", timeout=20_000)
    assert page.locator("#candles-chart .boxlayer .trace path").count() >= 1
    assert page.locator("#status").inner_text() == ""
    assert browser.blocked == []
    assert browser.problems == []


def chart_dates(page, chart: str) -> list[str]:
    return page.eval_on_selector(chart, "element => element.data[0].x")
