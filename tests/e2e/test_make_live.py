"""`make live` on the real model (issue 55, bar 4): the embedded minutes replayed to end now,
as a newcomer runs it. Neither the model card nor the dashboard calls the replayed minutes live:
the last-minute panel says they are a replay, and the track record panel, showing the issue the
API archived when it first served the model, names what it scores. Screenshot of the whole
dashboard: `reports/e2e/make-live-dashboard.png`."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator

import pytest

from tests.browser import watched_page
from tests.make_live import called_live
from tests.make_live import make_live as running_make_live


@pytest.fixture(scope="module")
def make_live(model_dir, tmp_path_factory) -> Iterator[str]:
    directory = tmp_path_factory.mktemp("make-live")
    with running_make_live(model_dir, directory, speed=10, play_minutes=30) as url:
        yield url


def test_bar_4_after_make_live_nothing_calls_the_replayed_minutes_live(
    make_live, chromium, reports
):
    with urllib.request.urlopen(f"{make_live}/model/btc-usd", timeout=30) as answer:
        card = json.load(answer)
    assert card["track_record"] is not None
    assert called_live(json.dumps(card)) == []
    with watched_page(chromium, viewport={"width": 1280, "height": 1000}) as browser:
        page = browser.page
        page.goto(make_live + "/")
        page.wait_for_selector("#live:not([hidden]) #live-chart .main-svg", timeout=60_000)
        page.wait_for_selector("#track-record:not([hidden])", timeout=60_000)
        page.wait_for_selector("#forecast-chart[data-asset='btc-usd']", timeout=60_000)
        text = page.locator("body").inner_text()
        assert "replay of recorded minutes, not live data" in page.locator("#live").inner_text()
        assert "forecast issued" in page.locator("#track-note").inner_text()
        assert called_live(text) == []
        page.screenshot(path=str(reports / "make-live-dashboard.png"), full_page=True)
        assert not browser.problems, browser.problems
        assert not browser.blocked, browser.blocked
