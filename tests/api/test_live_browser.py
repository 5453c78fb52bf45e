"""`make live` in a real browser: the dashboard's live panel appears and moves as the replay
writes minutes (issue 17, acceptance bar 4).

Debian's chromium, driven by Playwright (never its own browser download). The panel refreshes
every 30 seconds; Playwright's clock moves the page's timers forward so the test need not wait
for them, while the replay writes real minutes in real time.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser import Browser, needs_chromium, watched_page
from tests.live_server import wait_for
from tests.make_live import called_live
from tests.make_live import make_live as running_make_live

pytestmark = [pytest.mark.slow, pytest.mark.e2e, needs_chromium]
SCREENSHOT = os.environ.get("LIVE_SCREENSHOT")  # keep the screenshot here, to look at it


@pytest.fixture(scope="module")
def make_live(artifact_dir, tmp_path_factory) -> Iterator[str]:
    """`make live` on a free port, replaying 30 minutes at 10x (a bar every 6 s); the fixture
    model's forecast reaches past now, as a `make run` model's does."""
    directory = tmp_path_factory.mktemp("make-live")
    with running_make_live(artifact_dir, directory, speed=10, play_minutes=30) as url:
        yield url


def _price(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/price/btc-usd", timeout=5) as answer:
        return json.load(answer)


@pytest.fixture
def browser(chromium) -> Iterator[Browser]:
    with watched_page(chromium, viewport={"width": 1280, "height": 900}) as watched:
        yield watched


def test_make_live_shows_the_live_panel_moving(browser, make_live, tmp_path):
    page = browser.page
    page.clock.install()
    page.goto(make_live + "/")
    shown = "#live:not([hidden]) #live-chart .main-svg"
    try:
        page.wait_for_selector(shown, timeout=20_000)
    except PlaywrightTimeout:
        # The page's first refresh failed (seen once in a whole-suite run, not reproduced alone;
        # a follow-up): its own 30 s timer tries again, as a reader's page would.
        first = (
            page.locator("#live-age").inner_text(),
            page.locator("#live").get_attribute("data-reason"),
        )
        page.clock.fast_forward(30_000)
        try:
            page.wait_for_selector(shown, timeout=20_000)
        except PlaywrightTimeout as error:
            raise AssertionError(
                f"no live panel after two refreshes; the first said {first}"
            ) from error
    panel = page.locator("#live")
    first_date = panel.get_attribute("data-date")
    first_price = page.locator("#live-price").inner_text()
    assert page.locator("#live-chart .boxlayer .trace path").count() >= 1  # candlesticks
    assert re.search(r"is (below|inside|above)$", page.locator("#live-band").inner_text())
    assert "ago" in page.locator("#live-age").inner_text()
    # A replay says so: February-March minutes moved to now are not live market data.
    assert panel.get_attribute("data-source") == "replay"
    assert (
        page.locator("#live-title")
        .inner_text()
        .startswith("BTC/USD: replay of recorded minutes, not live data")
    )
    source = page.locator("#live-source").inner_text()
    assert re.search(r"not live data \(moved [\d,.]+ days forward\); this price was", source)
    assert re.search(r"recorded at 2026-0[23]-\d\d \d\d:\d\d UTC", source)
    price = _price(make_live)
    assert (price["source"], price["recorded_date"][:7]) in {
        ("replay", "2026-02"),
        ("replay", "2026-03"),
    }

    # The replay writes a minute every 6 s; the page's 30 s refresh timer then picks them up.
    started = _price(make_live)["date"]
    wait_for(lambda: _price(make_live)["date"] > started, "a new minute")
    page.clock.fast_forward(30_000)
    page.wait_for_function(
        "first => document.getElementById('live').dataset.date > first", arg=first_date
    )
    assert panel.get_attribute("data-refreshes") >= "2"
    assert page.locator("#live-price").inner_text() != first_price

    page.locator("#live-interval").select_option("1m")
    page.wait_for_selector("#live-chart[data-interval='1m']", timeout=20_000)
    shot = Path(SCREENSHOT) if SCREENSHOT else tmp_path / "live-panel.png"
    page.locator("#live").screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    _assert_the_axis_fits_the_price_and_the_band_is_labelled(page)
    assert browser.blocked == []
    assert browser.problems == []


def _assert_the_axis_fits_the_price_and_the_band_is_labelled(page) -> None:
    """Issue 47 bar 5: the y-axis spans at most twice the prices in view, the band has a legend
    entry, and the forecast is on the chart or an arrow at its edge says where it is."""
    drawn = page.eval_on_selector(
        "#live-chart",
        """chart => {
          const candles = chart.data.find(trace => trace.type === "candlestick");
          return {
            range: chart.layout.yaxis.range,
            low: Math.min(...candles.low),
            high: Math.max(...candles.high),
            notes: (chart.layout.annotations || []).map(note => note.text),
          };
        }""",
    )
    low, high = drawn["range"]
    assert drawn["low"] >= low  # every candle in view
    assert drawn["high"] <= high
    assert high - low <= 2 * (drawn["high"] - drawn["low"])
    legend = page.locator("#live-chart .legend .traces").all_text_contents()
    band = [entry for entry in legend if re.match(r"80% forecast band: [\d,.]+ to [\d,.]+$", entry)]
    assert band, legend
    forecast = _price_forecast(page)
    if low <= forecast <= high:
        assert any(entry.startswith("forecast: ") for entry in legend), legend
    else:
        where = "above" if forecast > high else "below"
        assert any(f"{where} the chart" in note for note in drawn["notes"]), drawn


def _price_forecast(page) -> float:
    text = page.locator("#live-band").inner_text()
    found = re.search(r"prediction ([\d,]+\.\d\d)", text)
    assert found, text
    return float(found.group(1).replace(",", ""))


# Every text the live panel showed while visible, recorded from the page's first moment.
RECORD_THE_PANEL = """
window.liveSeen = [];
document.addEventListener("DOMContentLoaded", () => {
  const panel = document.getElementById("live");
  const record = () => {
    if (!panel.hidden) {
      window.liveSeen.push(panel.innerText);
    }
  };
  new MutationObserver(record).observe(panel, {
    subtree: true, childList: true, characterData: true, attributes: true,
  });
});
"""


def test_a_shared_link_to_a_pair_without_minutes_never_shows_another_pairs_price(
    browser, make_live
):
    """Issue 35, bar 1: BTC/USD minutes stored, `/#eth-usd` opened directly (a shared link),
    reloaded, and switched away and back: ETH/USD has no minutes, so no live panel, and BTC/USD's
    last price is nowhere on the page; when BTC/USD is chosen, the panel names it."""
    page = browser.page
    page.add_init_script(RECORD_THE_PANEL)
    page.clock.install()
    for arrive in (lambda: page.goto(make_live + "/#eth-usd"), page.reload):
        arrive()
        page.wait_for_selector("#forecast-chart[data-asset='eth-usd'] .main-svg", timeout=30_000)
        page.wait_for_selector("#backtest-chart[data-asset='eth-usd'] .main-svg", timeout=30_000)
        for _ in range(2):  # two of the panel's 30 s refreshes
            page.clock.fast_forward(30_000)
            page.wait_for_timeout(500)
        btc = _price(make_live)["price"]
        shown = f"{btc:,.2f}"
        assert page.locator("#live").is_hidden()
        assert shown not in page.locator("body").inner_text()
        assert page.evaluate("window.liveSeen") == []
        assert page.locator("#symbol").inner_text() == "ETH/USD"

    # Switched to BTC/USD: the panel appears and says whose price it is.
    page.locator("#asset-select").select_option("btc-usd")
    page.wait_for_selector("#live[data-asset='btc-usd']:not([hidden])", timeout=20_000)
    assert page.locator("#live-title").inner_text().startswith("BTC/USD")
    # Back to ETH/USD by the address: the panel goes at once, before any answer comes.
    page.evaluate("window.liveSeen = []; window.location.hash = 'eth-usd'")
    page.wait_for_selector("#forecast-chart[data-asset='eth-usd'] .main-svg", timeout=30_000)
    page.clock.fast_forward(30_000)
    page.wait_for_timeout(500)
    assert page.locator("#live").is_hidden()
    assert page.evaluate("window.liveSeen") == []
    assert browser.blocked == []
    assert browser.problems == []


def test_bar_4_after_make_live_nothing_calls_the_replayed_minutes_live(browser, make_live):
    """Issue 55 bar 4: the model card and the dashboard's live panel name the replayed minutes
    a replay, and nothing there calls them live (the track record is scored on the releases'
    hourly closes, never on minutes)."""
    with urllib.request.urlopen(f"{make_live}/model/btc-usd", timeout=10) as answer:
        card = json.load(answer)
    assert card["track_record"] is not None
    assert called_live(json.dumps(card)) == []
    page = browser.page
    page.goto(make_live + "/")
    page.wait_for_selector("#live:not([hidden]) #live-chart .main-svg", timeout=60_000)
    text = page.locator("body").inner_text()
    assert "replay of recorded minutes, not live data" in text
    assert called_live(text) == []
    assert browser.problems == []


def test_the_check_finds_a_replaycalled_live():
    assert called_live("BTC/USD live: the last minute; not live data") == [
        "BTC/USD live: the last minute; n"
    ]
    assert called_live("41,759 live minutes were scored") != []
    assert called_live("a replay of recorded minutes, not live data (moved)") == []
