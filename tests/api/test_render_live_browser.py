"""Issue 83, bar 5: the service as render.yaml sets it (no PostgreSQL), its exchanges pointed at a
local Binance on the real clock: within 120 s of start `/price/btc-usd` answers with a minute
under two minutes old, and the dashboard's live panel draws it, in Debian's chromium."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.api.test_latest_prices import exchange, render_service_env  # noqa: F401 (fixture)
from tests.browser import needs_chromium, watched_page
from tests.live_server import start_server

pytestmark = [pytest.mark.slow, pytest.mark.e2e, needs_chromium]
SCREENSHOT = os.environ.get("LIVE_SCREENSHOT")  # keep the screenshot here, to look at it


def test_the_shipped_service_s_live_panel_draws_its_own_feed(
    chromium,
    exchange,  # noqa: F811
    artifact_dir,
    tmp_path,
):
    fake, moved = exchange
    started = time.monotonic()
    with start_server(
        artifact_dir, tmp_path / "api.log", proxied=True, **render_service_env(fake, tmp_path)
    ) as server:
        while True:
            try:
                with urllib.request.urlopen(f"{server.url}/price/btc-usd", timeout=10) as answer:
                    price = json.load(answer)
                break
            except urllib.error.HTTPError as refusal:  # 404: no minute stored yet
                if refusal.code != 404:
                    raise
            assert time.monotonic() - started < 120, server.log.read_text()
            time.sleep(0.2)
        answered = time.monotonic() - started
        with watched_page(chromium, viewport={"width": 1280, "height": 900}) as browser:
            page = browser.page
            # Issue 96, item 3: the panel's band is /bitcoin's for the same instant, to the cent.
            # The same instant is the same latest price: where the feed read a newer one between
            # the page's /price and our /bitcoin, /bitcoin answers a date before it from the
            # model, so the page is loaded again (each poll moves the price's time).
            for _ in range(5):
                with page.expect_response(lambda answer: "/price/" in answer.url) as asked:
                    page.goto(server.url + "/")
                page.wait_for_selector("#live:not([hidden]) #live-chart .main-svg", timeout=30_000)
                shown = asked.value.json()["forecast"]
                same = _get(f"{server.url}/bitcoin?date={shown['date']}")
                if same["anchor"] == shown["anchor"]:
                    break
            band = page.locator("#live-band").inner_text()
            keys = ("prediction_low", "prediction_high", "prediction")
            money = page.evaluate("values => values.map(money)", [same[key] for key in keys])
            assert band.startswith("{} to {} (80% band; prediction {})".format(*money)), band
            assert [shown[key] for key in keys] == [same[key] for key in keys]
            assert shown["anchor"] == same["anchor"]
            assert same["anchor"]["source"] == "binance"
            panel = page.locator("#live")
            title = page.locator("#live-title").inner_text()
            age = page.locator("#live-age").inner_text()
            candles = page.locator("#live-chart .boxlayer .trace path").count()
            shot = Path(SCREENSHOT) if SCREENSHOT else tmp_path / "render-live-panel.png"
            panel.screenshot(path=str(shot))
            source = panel.get_attribute("data-source")
            assert browser.blocked == []
            assert browser.problems == []
    assert answered < 120
    assert price["source"] == "binance"
    assert 0 <= price["age_seconds"] < 120
    assert price["close"] in {bar.close for bar in moved}
    assert source == "binance"
    assert title == "BTC/USD live: the last minute against the forecast"
    assert "ago" in age
    assert candles >= 1
    assert shot.stat().st_size > 10_000


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.load(answer)
