"""The dashboard's track record panel in Debian's chromium (issue 61, on the fixture model with
a baked record; `tests/e2e/test_track_record.py` checks it on five real releases): how the
issued forecasts fared first, a point per lead scored with the expected level as a line and the
backtest beside it, a table row per lead scored (never a row of one not scored), and a note
saying how far the record goes back and what is still to fall due."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import requests

from tests.api.records import baked
from tests.api.test_track_record import real_closes  # noqa: F401 (fixture)
from tests.browser import needs_chromium, watched_page
from tests.live_server import LiveServer, start_server

pytestmark = [pytest.mark.slow, pytest.mark.e2e, needs_chromium]
SCREENSHOT = os.environ.get("TRACK_RECORD_SCREENSHOT")  # keep the screenshot here, to look at it
TRACES = "element => element.data.map(t => ({name: t.name, x: t.x, y: t.y}))"


@pytest.fixture(scope="module")
def served(artifact_dir, real_closes, tmp_path_factory) -> Iterator[LiveServer]:  # noqa: F811
    directory = tmp_path_factory.mktemp("track")
    model_dir = baked(artifact_dir, directory / "models", real_closes)
    with start_server(model_dir, directory / "api.log") as server:
        yield server


def test_the_panel_shows_how_the_issued_forecasts_fared(chromium, served):
    record = requests.get(f"{served.url}/model/btc-usd/track-record", timeout=60).json()
    scored = [lead for lead in record["leads"] if lead["scored"]]
    assert len(scored) >= 30
    with watched_page(chromium, viewport={"width": 1280, "height": 1100}) as browser:
        page = browser.page
        page.goto(served.url + "/")
        chart = page.locator("#track-chart[data-points]")
        chart.wait_for(timeout=60_000)
        assert chart.get_attribute("data-points") == str(len(scored))
        by_name = {trace["name"]: trace for trace in chart.evaluate(TRACES)}
        issued = by_name["issued forecasts"]
        assert issued["x"] == [lead["lead_hours"] for lead in scored]
        assert issued["y"] == [lead["levels"]["80"]["coverage"]["mean"] for lead in scored]
        assert by_name["expected (80%)"]["y"] == [0.8, 0.8]
        assert by_name["backtest"]["x"] == [
            lead["lead_hours"]
            for lead in record["leads"]
            if lead["levels"]["80"]["backtest_coverage"] is not None
        ]
        rows = [row.split("\t") for row in page.locator("#track-table tbody tr").all_inner_texts()]
        assert [row[0] for row in rows][:3] == ["1 h", "2 h", "3 h"]
        assert len(rows) == len(scored)
        assert all(
            row[1] == "1 of 1" and row[2] in {"0.0% (0 of 1; no SE)", "100.0% (1 of 1; no SE)"}
            for row in rows
        )
        first = scored[0]
        mine, naive = first["error"]["mean"], first["naive_error"]
        assert rows[0][5] == f"{mine * 100:.1f}% / {naive * 100:.1f}%"
        title = page.locator("#track-title").inner_text()
        assert title == "Track record of BTC/USD: how the issued forecasts fared"
        note = page.locator("#track-note").inner_text()
        assert "1 forecast issued" in note
        assert "the test's first release" in note
        assert "not due yet" in note
        assert "too few independent issues" in page.locator("#track-table").inner_text()
        if SCREENSHOT:
            page.locator("#track-record").screenshot(path=SCREENSHOT)
        assert not browser.problems, browser.problems
        assert not browser.blocked, browser.blocked


def test_another_band_on_request(chromium, served):
    with watched_page(chromium, viewport={"width": 1280, "height": 1100}) as browser:
        page = browser.page
        page.goto(served.url + "/")
        page.locator("#track-chart[data-points]").wait_for(timeout=60_000)
        page.select_option("#track-level", "95")
        page.locator("#track-chart[data-level='95']").wait_for(timeout=30_000)
        by_name = {trace["name"]: trace for trace in page.locator("#track-chart").evaluate(TRACES)}
        assert by_name["expected (95%)"]["y"] == [0.95, 0.95]
        assert not browser.problems, browser.problems
