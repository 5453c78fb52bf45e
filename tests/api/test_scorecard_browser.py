"""The dashboard's live scorecard panel in Debian's chromium (issue 46, bar 4, on the fixture
model; `tests/e2e/test_live_scorecard.py` checks it on the real one): a point per lead bucket,
each the share of minutes inside the band, the expected level as a line, the backtest beside
it, the minutes in the table; another band on request; hidden for a pair without minutes."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.api.test_browser import chromium  # noqa: F401 (fixture)
from tests.browser import needs_chromium, watched_page
from tests.live_server import LiveServer, start_server

pytestmark = [pytest.mark.slow, pytest.mark.e2e, needs_chromium]
SCREENSHOT = os.environ.get("SCORECARD_SCREENSHOT")  # keep the screenshot here, to look at it
TRACES = "element => element.data.map(t => ({name: t.name, x: t.x, y: t.y, text: t.text}))"


@pytest.fixture(scope="module")
def served(artifact_dir, sqlite_url, tmp_path_factory) -> Iterator[LiveServer]:
    logs = tmp_path_factory.mktemp("scorecard-browser")
    server = start_server(artifact_dir, logs / "api.log", DATABASE_URL=sqlite_url)
    yield server
    server.process.terminate()
    server.process.wait(timeout=10)


def test_the_panel_draws_a_point_per_lead_bucket_with_the_expected_line(chromium, served):  # noqa: F811
    import requests

    card = requests.get(f"{served.url}/model/btc-usd/live", timeout=60).json()
    with watched_page(chromium, viewport={"width": 1280, "height": 1000}) as browser:
        page = browser.page
        page.goto(served.url + "/")
        chart = page.locator("#scorecard-chart[data-points]")
        chart.wait_for(timeout=60_000)
        assert chart.get_attribute("data-points") == "4"
        by_name = {trace["name"]: trace for trace in chart.evaluate(TRACES)}
        live = by_name["live minutes"]
        assert live["x"] == ["under 1 h", "1 h to 1 d", "1 d to 7 d", "beyond 7 d"]
        assert live["y"] == [lead["levels"]["80"]["coverage"] for lead in card["since_release"]]
        assert live["text"] == [f"{lead['minutes']:,} min" for lead in card["since_release"]]
        assert by_name["expected (80%)"]["y"] == [0.8, 0.8]
        assert by_name["backtest"]["y"] == [
            lead["levels"]["80"]["backtest_coverage"]
            for lead in card["since_release"]
            if lead["levels"]["80"]["backtest_coverage"] is not None
        ]
        points = chart.evaluate(
            "element => element.querySelectorAll('.scatterlayer .trace .points path').length"
        )
        assert points >= 4 + len(by_name["backtest"]["y"])
        rows = page.locator("#scorecard-table tbody tr").all_inner_texts()
        assert [row.split("\t")[1] for row in rows] == [
            f"{lead['minutes']:,}" for lead in card["since_release"]
        ]
        if SCREENSHOT:
            page.locator("#scorecard").screenshot(path=SCREENSHOT)
        page.locator("#scorecard-level").select_option("95")
        page.locator("#scorecard-chart[data-level='95']").wait_for(timeout=60_000)
        by_name = {trace["name"]: trace for trace in chart.evaluate(TRACES)}
        assert by_name["expected (95%)"]["y"] == [0.95, 0.95]
        assert by_name["live minutes"]["y"] == [
            lead["levels"]["95"]["coverage"] for lead in card["since_release"]
        ]
        # ETH/USD has no minutes: no panel.
        page.locator("#asset-select").select_option("eth-usd")
        page.locator("#scorecard[hidden][data-reason]").wait_for(state="attached", timeout=60_000)
        assert not browser.problems, browser.problems
        assert not browser.blocked, browser.blocked
