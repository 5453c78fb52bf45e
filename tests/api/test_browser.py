"""Swagger UI and the dashboard in a real browser, with nothing reachable beyond loopback.

Debian's chromium, driven by Playwright; Playwright's own browser download is never used.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser import Browser, launched_chromium, needs_chromium, watched_page

pytestmark = [pytest.mark.slow, needs_chromium]


@pytest.fixture(scope="module")
def chromium() -> Iterator:
    with launched_chromium() as browser:
        yield browser


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


def test_the_dashboard_draws_its_charts(browser, live_server, facts):
    page = browser.page
    page.goto(live_server.url + "/")
    for chart in ("#forecast-chart", "#backtest-chart"):
        page.wait_for_selector(f"{chart} .main-svg", timeout=20_000)
        traces = page.locator(f"{chart} .scatterlayer .trace").count()
        assert traces >= 2, chart
    drawn = page.locator("#forecast-chart .scatterlayer .trace path.js-line").count()
    assert drawn >= 3
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
