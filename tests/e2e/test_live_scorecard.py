"""The live scorecard on the real path (issue 46, bars 1, 2 and 4): BTC/USD trained by
`train.py --until 2026-02-16` on the embedded hourly history, the embedded month of real BTC
minutes (2026-02-16 07:03 to 2026-03-18 07:01) written to SQLite by `python -m
cryptopredict.collect --replay FILE --no-shift`, served by `python api.py`.

1. `/model/btc-usd/live` against an independent computation from the stored minutes and
   `/bitcoin/forecast?format=csv`, within the served values' rounding;
2. the same minutes written in two halves: the scorecard after the second equals the one of all
   minutes at once, and the second update reads only the new rows;
4. the dashboard's scorecard panel in chromium: one point per lead bucket with minutes, and the
   expected coverage line (screenshot: `reports/e2e/live-scorecard.png`).
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import requests

from cryptopredict.api import create_app
from cryptopredict.artifact.schema import LEVELS
from cryptopredict.artifact.store import open_artifacts
from cryptopredict.config import ApiSettings
from cryptopredict.minutes.store import MinuteStore
from cryptopredict.utc import iso_utc
from tests.api.scorecards import assert_same
from tests.browser import CHROMIUM, launched_chromium, watched_page
from tests.e2e.training import ROOT, trained_artifacts
from tests.live_server import LiveServer, start_server
from tests.paths import MINUTE_SAMPLE as MINUTES

UNTIL = "2026-02-16"
COMMAND = ("train.py", "--asset", "btc-usd", "--source", "snapshot", "--until", UNTIL)
CACHE = ROOT / ".cache" / "e2e-until"
HOUR, MINUTE = 3600, 60
# The buckets' bounds in hours, as the scorecard documents them.
BUCKETS = {"under_1h": (0, 1), "1h_to_1d": (1, 24), "1d_to_7d": (24, 168), "beyond_7d": (168, None)}
RELATIVE = 1e-6  # the served values' rounding: prices to the cent, ~1e-7 of BTC's


@pytest.fixture(scope="module")
def until_model() -> Path:
    return trained_artifacts(cache=CACHE, command=COMMAND)


def replay_unshifted(url: str, path: Path = MINUTES) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cryptopredict.collect", "--replay", str(path), "--no-shift"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def until_database(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('until') / 'market.db'}"
    replay_unshifted(url)
    return url


@pytest.fixture(scope="module")
def until_served(until_model, until_database, reports) -> Iterator[LiveServer]:
    server = start_server(until_model, reports / "api-until.log", DATABASE_URL=until_database)
    try:
        yield server
    finally:
        server.process.terminate()
        server.process.wait(timeout=10)


def get(server: LiveServer, path: str, **params: object) -> requests.Response:
    return requests.get(server.url + path, params=params, timeout=60)


@pytest.fixture(scope="module")
def card(until_served) -> dict:
    answer = get(until_served, "/model/btc-usd/live")
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_model_is_the_one_of_2026_02_16(card, until_model):
    assert card["data_until"] == "2026-02-15T23:00:00Z"  # the last bar closed at T
    assert card["scored_from"] == "2026-02-16T00:00:00Z"
    assert card["first"] == "2026-02-16T07:04:00Z"  # the first minute of the file closes then
    assert card["last"] == "2026-03-18T07:02:00Z"
    assert card["minutes"] == 43199
    assert card["missing_minutes"] == 0


def test_bar_1_the_scorecard_equals_an_independent_computation(card, until_served, until_database):
    """From the minutes in the database and the forecast's CSV, every hour from the last bar:
    each minute's band at its close, linear between the hours (as the API interpolates)."""
    opened, close = _stored(until_database)
    data_until = _epoch(card["data_until"])
    keep = opened >= data_until + HOUR
    opened, close = opened[keep], close[keep]
    closed = opened + MINUTE
    hours = (closed - data_until - HOUR) / HOUR  # since the last bar closed
    figures: dict[str, dict[str, tuple[float, float, int, int]]] = {}
    for level in LEVELS:
        ds, low, high = _forecast_csv(until_served, card["data_until"], closed[-1] + HOUR, level)
        lower, upper = np.interp(closed, ds, low), np.interp(closed, ds, high)
        held = (lower <= close) & (close <= upper)
        score = _interval_score(close, lower, upper, level)
        # Where the close lies within the rounding of a bound, either answer is right.
        unsure = (np.abs(close - lower) <= 0.01) | (np.abs(close - upper) <= 0.01)
        for name, (start, end) in BUCKETS.items():
            mine = (hours >= start) & (hours < (np.inf if end is None else end))
            figures.setdefault(name, {})[str(level)] = (
                held[mine].mean() if mine.any() else np.nan,
                score[mine].mean() if mine.any() else np.nan,
                int(mine.sum()),
                int((unsure & mine).sum()),
            )
    for lead in card["since_release"]:
        for level, found in lead["levels"].items():
            coverage, score, count, unsure = figures[lead["lead"]][level]
            assert lead["minutes"] == count
            if not count:
                assert found["coverage"] is None
                assert found["interval_score"] is None
                continue
            print(
                f"{lead['lead']} {level}%: {count} minutes, coverage {found['coverage']:.6f} "
                f"(independent {coverage:.6f}, {unsure} within rounding of a bound), interval "
                f"score {found['interval_score']:.8f} (independent {score:.8f}), naive "
                f"{found['naive_interval_score']:.8f}"
            )
            assert abs(found["coverage"] - coverage) <= unsure / count + 1e-12
            assert found["interval_score"] == pytest.approx(score, rel=RELATIVE)
    scored = [lead["lead"] for lead in card["since_release"] if lead["minutes"]]
    # The file starts at 07:03, seven hours after the model's data ended.
    assert scored == ["1h_to_1d", "1d_to_7d", "beyond_7d"]


def test_bar_2_two_halves_equal_all_at_once_reading_only_the_new_rows(
    until_model, card, tmp_path, monkeypatch
):
    rows = gzip.decompress(MINUTES.read_bytes()).decode().splitlines(keepends=True)
    header, body = rows[0], rows[1:]
    half = len(body) // 2
    halves = []
    for index, part in enumerate((body[:half], body[half:])):
        path = tmp_path / f"half{index}" / "btc-usd-1m.csv"  # the name says the asset
        path.parent.mkdir()
        path.write_text(header + "".join(part))
        halves.append(path)
    read: list[int] = []
    closes_after = MinuteStore.closes_after

    def counted(store, asset, after, limit):
        found = closes_after(store, asset, after, limit)
        read.append(len(found))
        return found

    monkeypatch.setattr(MinuteStore, "closes_after", counted)
    url = f"sqlite:///{tmp_path / 'halves.db'}"
    settings = ApiSettings(model_dir=until_model, database_url=url, live_cache_seconds=0)
    client = create_app(open_artifacts(until_model), settings).test_client()
    replay_unshifted(url, halves[0])
    first = client.get("/model/btc-usd/live").get_json()
    assert first["minutes"] == half
    assert sum(read) == half
    replay_unshifted(url, halves[1])
    read.clear()
    second = client.get("/model/btc-usd/live").get_json()
    assert sum(read) == len(body) - half, read
    assert_same(second, card)


def test_bar_4_the_dashboard_panel_draws_a_point_per_lead_bucket(card, until_served, reports):
    assert CHROMIUM.exists(), "make e2e needs Debian's chromium (apt-get install chromium)"
    scored = [lead for lead in card["since_release"] if lead["minutes"]]
    with (
        launched_chromium() as chromium,
        watched_page(chromium, viewport={"width": 1280, "height": 1000}) as browser,
    ):
        page = browser.page
        page.goto(until_served.url + "/")
        chart = page.locator("#scorecard-chart[data-points]")
        chart.wait_for(timeout=60_000)
        assert chart.get_attribute("data-points") == str(len(scored))
        traces = chart.evaluate(
            "element => element.data.map(t => ({name: t.name, x: t.x, y: t.y}))"
        )
        by_name = {trace["name"]: trace for trace in traces}
        live = by_name["live minutes"]
        assert len(live["y"]) == len(scored)
        assert live["y"] == [lead["levels"]["80"]["coverage"] for lead in scored]
        assert by_name["expected (80%)"]["y"] == [0.8, 0.8]
        drawn = chart.evaluate(
            "element => element.querySelectorAll('.scatterlayer .trace .points path').length"
        )
        assert drawn >= len(scored) + 1  # the live points and the backtest's
        rows = page.locator("#scorecard-table tbody tr").all_inner_texts()
        assert len(rows) == 4
        page.locator("#scorecard").scroll_into_view_if_needed()
        page.locator("#scorecard").screenshot(path=str(reports / "live-scorecard.png"))
        assert not browser.problems, browser.problems
        assert not browser.blocked, browser.blocked


def _stored(url: str) -> tuple[np.ndarray, np.ndarray]:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as plain:
        rows = plain.execute(
            "SELECT ts, close FROM minute_bars WHERE asset = 'btc-usd' ORDER BY ts"
        ).fetchall()
    found = np.array(rows, dtype=np.float64)
    return found[:, 0].astype(np.int64), found[:, 1]


def _forecast_csv(served: LiveServer, start: str, end: int, level: int):
    answer = get(
        served, "/bitcoin/forecast", start=start, end=iso_utc(end), format="csv", level=level
    )
    assert answer.status_code == 200, answer.text
    table = list(csv.DictReader(io.StringIO(answer.text)))
    ds = np.array([_epoch(row["date"]) for row in table])
    low = np.array([float(row["prediction_low"]) for row in table])
    high = np.array([float(row["prediction_high"]) for row in table])
    return ds, low, high


def _interval_score(actual, lower, upper, level):
    y, low, high = np.log(actual), np.log(lower), np.log(upper)
    outside = np.clip(low - y, 0, None) + np.clip(y - high, 0, None)
    return (high - low) + 2 / (1 - level / 100) * outside


def _epoch(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())
