"""The dashboard among 200 pairs: a search box over `/assets?q=`, in a real browser (Debian's
chromium, nothing reachable beyond loopback). Screenshots go to reports/dashboard-search/."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator

import pytest

from tests.browser import Browser, needs_chromium, watched_page
from tests.live_server import LiveServer, start_server
from tests.paths import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.e2e, needs_chromium]
SHOTS = ROOT / "reports" / "dashboard-search"


@pytest.fixture
def browser(chromium) -> Iterator[Browser]:
    with watched_page(chromium, viewport={"width": 1280, "height": 900}) as watched:
        yield watched


@pytest.fixture(scope="module")
def server(many_pairs_dir, tmp_path_factory) -> Iterator[LiveServer]:
    logs = tmp_path_factory.mktemp("search")
    with start_server(
        many_pairs_dir, logs / "api.log", DATABASE_URL=f"sqlite:///{logs}/none.db"
    ) as live:
        yield live


def found_by_the_api(server: LiveServer, q: str) -> list[str]:
    with urllib.request.urlopen(f"{server.url}/assets?q={q}") as answer:
        return [entry["asset"] for entry in json.load(answer)["assets"]]


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def matches(page) -> list[str]:
    return page.locator("#asset-matches li[data-asset]").evaluate_all(
        "items => items.map(item => item.dataset.asset)"
    )


def test_the_search_box_finds_a_pair_among_200_and_switches_to_it(browser, server):
    page = browser.page
    page.goto(server.url + "/")
    page.wait_for_selector("#forecast-chart[data-asset='btc-usd'] .main-svg", timeout=30_000)
    assert page.locator("#asset-select option").count() == 200
    search = page.locator("#asset-search")
    placeholder = search.get_attribute("placeholder")
    assert placeholder.startswith("search 200 pairs: ")
    for example in placeholder.removeprefix("search 200 pairs: ").split(", "):
        assert found_by_the_api(server, example), f"the hint's {example!r} finds nothing"
    shot(page, "1-opened")

    search.fill("sol")
    page.wait_for_selector("#asset-matches li[data-asset]", timeout=10_000)
    assert matches(page) == found_by_the_api(server, "sol")[:12]
    assert matches(page)[:5] == ["sol-btc", "sol-eth", "sol-eur", "sol-usd", "sol-usdt"]
    assert page.locator("#asset-matches li.count").inner_text() == "5 of 200 pairs"
    shot(page, "2-search-sol")

    search.press("ArrowDown")
    search.press("ArrowDown")
    assert (
        page.locator("#asset-matches li[aria-selected='true']").inner_text().startswith("SOL/ETH")
    )
    search.press("Enter")
    page.wait_for_selector("#forecast-chart[data-asset='sol-eth']", timeout=30_000)
    page.wait_for_selector("#candles-chart[data-asset='sol-eth']", timeout=30_000)
    # SOL/ETH's prices are in ETH: every price axis says so, and the nav's model card is its own.
    for chart in ("#forecast-chart", "#candles-chart"):
        title = page.eval_on_selector(chart, "element => element.layout.yaxis.title.text")
        assert title == "ETH", chart
    assert page.locator("#model-link").get_attribute("href") == "/model/sol-eth"
    page.wait_for_selector("#backtest-chart[data-asset='sol-eth']", timeout=30_000)
    assert page.locator("#symbol").inner_text() == "SOL/ETH"
    assert page.locator("#asset-select").input_value() == "sol-eth"
    assert page.url.endswith("#sol-eth")
    assert page.locator("#asset-matches").is_hidden()
    assert search.input_value() == ""
    shot(page, "3-switched-to-sol-eth")

    search.fill("usdt")
    page.wait_for_selector("#asset-matches li.more", timeout=10_000)
    assert len(matches(page)) == 12
    assert page.locator("#asset-matches li.more").inner_text() == (
        "and 28 more: type more of the name"
    )
    assert page.locator("#asset-matches li.count").inner_text() == "40 of 200 pairs"
    shot(page, "4-search-usdt")
    page.locator("#asset-matches li[data-asset='1000pepe-usdt']").click()
    page.wait_for_selector("#forecast-chart[data-asset='1000pepe-usdt']", timeout=30_000)
    assert page.locator("#symbol").inner_text() == "1000PEPE/USDT"

    search.fill("zzz")
    page.locator("#asset-search-note").filter(has_text="no pair matches").wait_for(timeout=10_000)
    assert page.locator("#asset-matches").is_hidden()
    search.fill("-eth")
    note = page.locator("#asset-search-note.error")
    note.wait_for(timeout=10_000)
    assert note.inner_text().startswith("q='-eth' cannot name an asset; give 1 to 32 letters")
    shot(page, "5-bad-search")
    search.press("Escape")
    assert page.locator("#asset-search-note").inner_text() == ""
    assert page.locator("#status").inner_text() == ""
    assert browser.blocked == []
    # The browser logs the 400 it was shown; nothing else went wrong.
    assert [problem for problem in browser.problems if "status of 400" not in problem] == []
