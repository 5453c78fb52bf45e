"""The dashboard on the real model, in Debian's chromium: every asset, every candle interval it
offers, and the live panel's, where the asset has minute bars. Each view must draw data in every
chart and show no error; a screenshot of each is saved as `reports/e2e/<asset>-<interval>.png`
(`<asset>-live-<interval>.png` for the live panel). At 1280 and 800 px wide, as served offline and
from a latest price months after the model's data, no chart's label overlaps another
(`reports/e2e/labels-<view>-<width>.png`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
import requests

from cryptopredict.collect.replay import read_minutes
from cryptopredict.minutes.bars import MINUTE
from cryptopredict.utc import iso_utc
from tests.browser import LABELS, overlapping, watched_page
from tests.collect.fake_binance import FakeBinance
from tests.live_server import start_server
from tests.paths import MINUTE_SAMPLE

CHARTS = ("#forecast-chart", "#candles-chart", "#backtest-chart")
LIVE = ("1m", "5m", "10m")  # the live panel's candle intervals
VIEWPORT = {"width": 1280, "height": 900}
TIMEOUT_MS = 60_000
UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}
_time = datetime.fromisoformat  # an answer's instant, its Z included
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


@pytest.fixture(scope="module")
def anchored(model_dir, tmp_path_factory) -> Iterator[str]:
    """The real model served with a latest price months after its data (the market feed polls a
    stand-in Binance whose minutes, the embedded sample's, are moved to now): its URL once the
    feed has polled BTC/USD's price."""
    sample = read_minutes(MINUTE_SAMPLE, "btc-usd")[-120:]
    offset = int(time.time()) // MINUTE * MINUTE - sample[-1].ts
    tmp = tmp_path_factory.mktemp("anchored")
    moved = [replace(bar, ts=bar.ts + offset, source="binance") for bar in sample]
    with FakeBinance(moved) as fake:
        server = start_server(
            model_dir, tmp / "api.log", LATEST_PRICES=f"binance={fake.url}",
            DATABASE_URL=f"sqlite:///{tmp / 'market.db'}",
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            ahead = f"{server.url}/bitcoin?date={iso_utc(int(time.time()) + 7200)}"
            while requests.get(ahead, timeout=60).json()["anchor"]["source"] == "model":
                assert time.monotonic() < deadline, "the feed gave no latest price"
                time.sleep(0.2)
            yield server.url
        finally:
            server.process.terminate()
            server.process.wait(timeout=10)


@pytest.mark.parametrize("width", [1280, 800])
def test_no_label_overlaps_another_offline_or_across_a_gap(
    chromium, served, anchored, reports, width
):
    """Issue 84 bar 4: the annotations ("data end", "today", the anchor's "latest price", the
    gap's length), legends, tick labels and axis titles of every chart, each inside its chart
    and none over another; from a latest price, the months without data between the model's
    last bar and it are a gap: shaded, said in words, no trace drawn across them. ("today" and
    "latest price", minutes apart, once drew over each other here: they share one label now.)"""
    labels = {}
    for view, url in (("offline", served.url), ("anchored", anchored)):
        with watched_page(chromium, viewport={"width": width, "height": 900}) as browser:
            page = browser.page
            page.goto(url + "/")
            for chart in CHARTS:
                _wait(page, f"{chart}[data-asset='btc-usd']")
            page.screenshot(path=str(reports / f"labels-{view}-{width}.png"), full_page=True)
            labels[view] = page.evaluate(LABELS)
            drawn = page.eval_on_selector(
                "#forecast-chart", "e => e.data.map(trace => ({name: trace.name, x: trace.x}))"
            )
            said = page.locator("#forecast-anchor").inner_text()
            assert browser.problems == []
            assert browser.blocked == []
        charts = {label["chart"] for label in labels[view]}
        assert charts >= {chart.lstrip("#") for chart in CHARTS}, (view, charts)
        assert [label for label in labels[view] if not label["within"]] == [], view
        assert overlapping(labels[view]) == [], view
    data_end = next(asset["data_until"] for asset in served.assets if asset["asset"] == "btc-usd")
    for trace in drawn:  # the anchored view's: every trace on one side of the gap
        assert trace["x"][-1] <= data_end or trace["x"][0] > data_end, trace["name"]
    texts = [label["text"] for label in labels["anchored"]]
    assert all(mark in " ".join(texts) for mark in ("data end", "today", "latest price"))
    assert [text for text in texts if re.fullmatch(r"no data:\d+ months \(\d+ days\)", text)]
    assert re.search(r"No data from the model's last bar to it: \d+ months \(\d+ days\)\.", said)
    # The check sees an overlap where there is one.
    assert overlapping([labels["offline"][0], labels["offline"][0]])


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
    # Drawn in pieces: the hindcast's and the forecast's fan, grey past the 30 days the band was
    # scored at (issue 117).
    untested = data_end + timedelta(days=30)
    for band in ("50% band", "80% band"):
        drawn = [(_time(t["first"]), _time(t["last"])) for t in forecast if t["name"] == band]
        assert min(drawn)[0] == _time(hindcast["first"]), f"{view}: {band}"
        assert untested <= max(last for _, last in drawn) < untested + timedelta(days=1), view
        grey = named[f"{band}, untested"]
        assert untested <= _time(grey["first"]) < untested + timedelta(days=1), f"{view}: {band}"
        assert _time(grey["last"]) == _time(named["forecast"]["last"]), f"{view}: {band}"
    assert page.locator("#backtest-symbol").inner_text() == asset["symbol"], view
    assert f"the {asset['symbol']} model" in page.locator("#verdict").text_content(), view
    marks = page.eval_on_selector(
        "#forecast-chart", "element => element.layout.annotations.map(a => a.text)"
    )
    assert sorted(marks) == ["band untested after", "data end", "today"], f"{view}: {marks}"
    assert "old" in page.locator("#data-age").inner_text(), view


def _offered(asset: dict) -> list[str]:
    stored = _seconds(asset["interval"])
    return [i for i in ("1h", "4h", "1d", "1w") if _seconds(i) % stored == 0]


def _seconds(interval: str) -> int:
    return int(interval[:-1]) * UNIT_SECONDS[interval[-1]]
