"""The dashboard on the real model, in Debian's chromium: every asset, every candle interval it
offers, and the live panel's, where the asset has minute bars. Each view must draw data in every
chart and show no error; a screenshot of each is saved as `reports/e2e/<asset>-<interval>.png`
(`<asset>-live-<interval>.png` for the live panel).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from tests.browser import CHROMIUM, launched_chromium, watched_page

CHARTS = ("#forecast-chart", "#candles-chart", "#backtest-chart")
LIVE = ("1m", "5m", "10m")  # the live panel's candle intervals
VIEWPORT = {"width": 1280, "height": 900}
TIMEOUT_MS = 60_000
UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}
# Each trace of a chart, with how many of its values are numbers (y, or close for candlesticks).
TRACES = """element => element.data.map(trace => ({
    name: trace.name,
    type: trace.type || "scatter",
    points: (trace.y || trace.close || []).filter(value => typeof value === "number").length,
    first: trace.x && trace.x.length ? trace.x[0] : null,
    last: trace.x && trace.x.length ? trace.x[trace.x.length - 1] : null,
}))"""
# Paths plotly drew beyond a bare move: lines ("M x,y L x,y ...") and candlesticks (bodies and
# wicks, "M x,y H x V y ...").
DRAWN = """element => [...element.querySelectorAll(
    ".scatterlayer .trace path.js-line, .boxlayer .trace path"
)].filter(path => /[LHV]/.test(path.getAttribute("d") || "")).length"""


@pytest.fixture(scope="module")
def chromium() -> Iterator:
    assert CHROMIUM.exists(), "make e2e needs Debian's chromium (apt-get install chromium)"
    with launched_chromium() as browser:
        yield browser


def test_every_asset_and_candle_interval_draws_data(chromium, served, reports):
    with_minutes = served.get("/live").json()["assets"]
    saved = []
    with watched_page(chromium, viewport=VIEWPORT) as browser:
        page = browser.page
        page.goto(served.url + "/")
        for asset in served.assets:
            slug = asset["asset"]
            if page.locator("#asset-select").input_value() != slug:
                page.locator("#asset-select").select_option(slug)
            for chart in CHARTS:
                _wait(page, f"{chart}[data-asset='{slug}']")
            intervals = page.locator("#candle-interval option").all_inner_texts()
            assert intervals == _offered(asset), f"{slug}: offers {intervals}"
            for interval in intervals:
                if page.locator("#candle-interval").input_value() != interval:
                    page.locator("#candle-interval").select_option(interval)
                _wait(page, f"#candles-chart[data-asset='{slug}'][data-interval='{interval}']")
                view = f"{slug}-{interval}"
                _check_view(page, asset, view)
                path = reports / f"{view}.png"
                page.screenshot(path=str(path), full_page=True)
                saved.append(path.name)
            saved += _live_views(page, slug, slug in with_minutes, reports)
        assert browser.blocked == []
        assert browser.problems == []
    views = sum(len(_offered(asset)) for asset in served.assets) + len(LIVE) * len(with_minutes)
    assert len(saved) == views, saved


def _live_views(page, slug: str, has_minutes: bool, reports) -> list[str]:
    """The live panel at each candle interval it offers, where the asset has minute bars;
    hidden where it has none."""
    if not has_minutes:
        _wait(page, "#live[hidden]")
        return []
    _wait(page, f"#live[data-asset='{slug}']:not([hidden])")
    assert page.locator("#live-interval option").all_inner_texts() == list(LIVE)
    saved = []
    for interval in LIVE:
        if page.locator("#live-interval").input_value() != interval:
            page.locator("#live-interval").select_option(interval)
        _wait(page, f"#live-chart[data-interval='{interval}']")
        age = page.locator("#live-age").inner_text()
        assert age.endswith("ago"), f"{slug} live {interval}: {age}"
        assert re.search(r"is (below|inside|above)$", page.locator("#live-band").inner_text())
        candles = page.eval_on_selector("#live-chart", TRACES)
        assert candles[0]["points"] >= 2, f"{slug} live {interval}: {candles}"
        assert page.eval_on_selector("#live-chart", DRAWN) >= 1, f"{slug} live {interval}"
        path = reports / f"{slug}-live-{interval}.png"
        page.screenshot(path=str(path), full_page=True)
        saved.append(path.name)
    return saved


def test_the_scores_are_ordered_by_horizon_and_summed_up_in_a_sentence(chromium, served):
    with watched_page(chromium, viewport=VIEWPORT) as browser:
        page = browser.page
        page.goto(served.url + "/")
        _wait(page, "#scores:not([hidden])")
        horizons = page.locator("#scores tbody tr td:first-child").all_inner_texts()
        assert horizons == sorted(horizons, key=_seconds), horizons
        assert {"1d", "7d", "30d"} <= set(horizons)
        verdict = page.locator("#verdict").text_content()
        assert "naive forecast" in verdict
        assert re.fullmatch(r"[A-Z][^\n]*\.", verdict), verdict
        assert not re.search(r"[.;] [A-Z]", verdict), f"more than one sentence: {verdict}"
        # First on the page, one plain sentence: what the line and the band are, how they scored.
        summary = page.locator("#summary").inner_text()
        assert summary.startswith("The line is "), summary
        assert re.fullmatch(r"[^\n]*ahead\.", summary), summary
        assert not re.search(r"\d\.\d", summary), f"figures belong to the detail: {summary}"
        assert browser.problems == []


def _wait(page, selector: str) -> None:
    """Wait until `selector` matches or the page reports an error, then fail on the error."""
    page.wait_for_function(
        "selector => document.querySelector(selector) || "
        "document.getElementById('status').textContent",
        arg=selector,
        timeout=TIMEOUT_MS,
    )
    assert page.locator("#status").inner_text() == "", page.locator("#status").inner_text()


def _check_view(page, asset: dict, view: str) -> None:
    assert page.locator("#status").inner_text() == "", view
    for chart in CHARTS:
        traces = page.eval_on_selector(chart, TRACES)
        empty = [trace["name"] for trace in traces if trace["points"] < 2]
        assert traces, f"{view}: {chart} has no trace"
        assert not empty, f"{view}: {chart} drew no data for {empty}"
        assert page.eval_on_selector(chart, DRAWN) >= 1, f"{view}: {chart} drew nothing"
    forecast = page.eval_on_selector("#forecast-chart", TRACES)
    named = {trace["name"]: trace for trace in forecast}
    data_end = _time(asset["data_until"])  # the last bar's close: the hindcast's last instant
    year_ahead = min(_time(asset["valid_until"]), data_end + timedelta(days=365))
    hindcast = named["hindcast (said before each bar)"]
    assert _time(hindcast["first"]) <= data_end - timedelta(days=89), view
    assert _time(hindcast["last"]) == data_end, view
    assert _time(named["forecast"]["last"]) > year_ahead - timedelta(days=1), f"{view}: short"
    for band in ("50% band", "80% band"):
        assert _time(named[band]["first"]) == _time(hindcast["first"]), f"{view}: {band}"
        assert _time(named[band]["last"]) == _time(named["forecast"]["last"]), f"{view}: {band}"
    assert page.locator("#backtest-symbol").inner_text() == asset["symbol"], view
    assert f"the {asset['symbol']} model" in page.locator("#verdict").text_content(), view
    marks = page.eval_on_selector(
        "#forecast-chart", "element => element.layout.annotations.map(a => a.text)"
    )
    assert sorted(marks) == ["data end", "today"], f"{view}: {marks}"
    assert "old" in page.locator("#data-age").inner_text(), view


def _offered(asset: dict) -> list[str]:
    stored = _seconds(asset["interval"])
    return [i for i in ("1h", "4h", "1d", "1w") if _seconds(i) % stored == 0]


def _seconds(interval: str) -> int:
    return int(interval[:-1]) * UNIT_SECONDS[interval[-1]]


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
