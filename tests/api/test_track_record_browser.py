"""The dashboard's track record panel in Debian's chromium (issue 55, on the fixture model;
`tests/e2e/test_track_record.py` checks it on four real releases): a point per lead scored,
the expected level as a line, the backtest beside it, every lead in the table; prices from
replayed minutes named a replay in the title, never live."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator

import pytest
import requests

from cryptopredict.collect.replay import read_minutes
from tests.api.issues import serving, write_minutes
from tests.api.test_browser import chromium  # noqa: F401 (fixture)
from tests.browser import needs_chromium, watched_page
from tests.live_server import LiveServer, start_server
from tests.paths import MINUTE_SAMPLE

pytestmark = [pytest.mark.slow, pytest.mark.e2e, needs_chromium]
SCREENSHOT = os.environ.get("TRACK_RECORD_SCREENSHOT")  # keep the screenshot here, to look at it
TRACES = "element => element.data.map(t => ({name: t.name, x: t.x, y: t.y}))"


def _database(artifact_dir, artifacts, directory, source: str) -> str:
    """BTC/USD's model archived, and the embedded month of minutes moved to follow its data's
    end (scaled to its last close), from `source`."""
    url = f"sqlite:///{directory / 'market.db'}"
    serving(artifact_dir, url).serve()
    history = artifacts["btc-usd"].history
    sample = read_minutes(MINUTE_SAMPLE, "btc-usd")
    offset = int(history.ds[-1]) - sample[0].ts
    scale = float(history.close[-1]) / sample[0].open
    prices = ("open", "high", "low", "close", "vwap")
    bars = [
        dataclasses.replace(
            bar,
            ts=bar.ts + offset,
            source=source,
            shift=offset if source == "replay" else 0,
            **{name: getattr(bar, name) * scale for name in prices},
        )
        for bar in sample
    ]
    write_minutes(url, bars)
    return url


@pytest.fixture(scope="module", params=["binance", "replay"])
def served(request, artifact_dir, artifacts, tmp_path_factory) -> Iterator[LiveServer]:
    directory = tmp_path_factory.mktemp(f"track-{request.param}")
    url = _database(artifact_dir, artifacts, directory, request.param)
    server = start_server(artifact_dir, directory / "api.log", DATABASE_URL=url)
    yield server
    server.process.terminate()
    server.process.wait(timeout=10)


def test_the_panel_draws_a_point_per_lead_scored_beside_the_backtest(chromium, served):  # noqa: F811
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
        rows = page.locator("#track-table tbody tr").all_inner_texts()
        assert len(rows) == len(record["leads"])
        assert rows[-1].split("\t")[:4] == ["365 d", "1", "0", "0"]  # a year ahead: not due
        title = page.locator("#track-title").inner_text()
        note = page.locator("#track-note").inner_text()
        if record["prices"] == "replay":
            assert "replayed minutes (a rehearsal, not live data)" in title
            assert "not live data" in note
        else:
            assert title == "Track record of BTC/USD: every forecast issued, scored when due"
        assert "live" not in title.replace("not live data", "")
        assert "too few independent issues" in page.locator("#track-table").inner_text()
        if SCREENSHOT:
            page.locator("#track-record").screenshot(path=f"{SCREENSHOT}-{record['prices']}.png")
        assert not browser.problems, browser.problems
        assert not browser.blocked, browser.blocked


def test_another_band_on_request(chromium, served):  # noqa: F811
    with watched_page(chromium, viewport={"width": 1280, "height": 1100}) as browser:
        page = browser.page
        page.goto(served.url + "/")
        page.locator("#track-chart[data-points]").wait_for(timeout=60_000)
        page.select_option("#track-level", "95")
        page.locator("#track-chart[data-level='95']").wait_for(timeout=30_000)
        by_name = {trace["name"]: trace for trace in page.locator("#track-chart").evaluate(TRACES)}
        assert by_name["expected (95%)"]["y"] == [0.95, 0.95]
        assert not browser.problems, browser.problems
