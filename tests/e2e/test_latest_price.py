"""A forecast from the latest price (issue 70, bar 3), on a real model: the track record's first
release (BTC/USD trained by `train.py --until 2026-02-20T00:00` on the embedded hourly history,
`releases.py`), beside the embedded minutes replayed `--no-shift` (at their own times) up to 03:00.

`/bitcoin?date=2026-02-20T04:00:00Z` is centred on the 03:00 close (the 02:59 minute's), its 80%
band at most 1.5x as wide as the model's own 1-hour band, and names the anchor; with no
database it answers from the 00:00 close, as the release issued it, and says so. The dashboard's
fan starts at that price (its screenshot is kept under `reports/`).
"""

from __future__ import annotations

import csv
import gzip
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from cryptopredict.artifact.read import open_artifact
from tests.browser import watched_page
from tests.e2e.releases import trained_releases
from tests.live_server import LiveServer, replay, start_server
from tests.paths import MINUTE_SAMPLE, ROOT

DAY = "2026-02-20"  # the first release's data ends at its start
LAST_MINUTE = f"{DAY}T02:59:00Z"  # it closes at 03:00
SCREENSHOT = ROOT / "reports" / "latest-price.png"


@pytest.fixture(scope="module")
def model_dir() -> Path:
    return trained_releases(1)[0]


@pytest.fixture(scope="module")
def minutes(tmp_path_factory) -> tuple[str, float]:
    """The database the minutes up to 03:00 are replayed into at their own times, and the
    close of the last one."""
    work = tmp_path_factory.mktemp("latest-price")
    with gzip.open(MINUTE_SAMPLE, "rt", newline="") as sample:
        rows = list(csv.reader(sample))
    kept = [rows[0], *(row for row in rows[1:] if row[0] <= LAST_MINUTE)]
    assert kept[-1][0] == LAST_MINUTE  # the sample covers the date
    file = work / "btc-usd-1m.csv.gz"
    with gzip.open(file, "wt", newline="") as out:
        csv.writer(out, lineterminator="\n").writerows(kept)
    url = f"sqlite:///{work / 'market.db'}"
    replay(url, str(file), "--asset", "btc-usd", "--no-shift")
    return url, float(kept[-1][4])


def serving(model_dir: Path, log: Path, **env: str) -> Iterator[LiveServer]:
    with start_server(model_dir, log, **env) as server:
        yield server


@pytest.fixture(scope="module")
def live(model_dir, minutes, tmp_path_factory) -> Iterator[LiveServer]:
    log = tmp_path_factory.mktemp("live") / "api.log"
    yield from serving(model_dir, log, DATABASE_URL=minutes[0])


@pytest.fixture(scope="module")
def baked(model_dir, tmp_path_factory) -> Iterator[LiveServer]:
    log = tmp_path_factory.mktemp("baked") / "api.log"
    yield from serving(model_dir, log, unset=("DATABASE_URL",))


def bitcoin(server: LiveServer, date: str) -> dict:
    response = requests.get(f"{server.url}/bitcoin", params={"date": date}, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


def anchored(server: LiveServer, date: str) -> dict:
    """The answer at `date` once the server has read its newest minute (on its own thread)."""
    for _ in range(400):
        body = bitcoin(server, date)
        if body["anchor"]["source"] != "model":
            return body
        time.sleep(0.05)
    raise AssertionError(f"never answered from the minutes: {body}")


def width(answer: dict) -> float:
    return answer["prediction_high"] - answer["prediction_low"]


def test_bar_3_the_forecast_at_04_00_is_centred_on_the_03_00_close(live, baked, minutes):
    close = minutes[1]
    answer = anchored(live, f"{DAY}T04:00:00Z")
    own = bitcoin(baked, f"{DAY}T01:00:00Z")  # the model's own 1-hour band
    assert own["lead_hours"] == 1.0
    assert answer["prediction"] == round(close, 2)
    assert answer["prediction_low"] < close < answer["prediction_high"]
    assert width(answer) <= 1.5 * width(own)
    assert answer["anchor"] == {
        "date": f"{DAY}T03:00:00Z",
        "price": round(close, 2),
        "source": "minutes",
        "detail": "the close of the newest minute bar the collector stored, from a replay of "
        "recorded minutes at their own times (not live data)",
    }
    assert (answer["data_until"], answer["lead_hours"]) == (f"{DAY}T03:00:00Z", 1.0)


def test_bar_3_with_no_database_it_answers_from_the_00_00_close_and_says_so(baked, model_dir):
    last_close = open_artifact(model_dir / "btc-usd").history.last_close
    answer = bitcoin(baked, f"{DAY}T04:00:00Z")
    assert answer["anchor"] == {
        "date": f"{DAY}T00:00:00Z",
        "price": round(last_close, 2),
        "source": "model",
        "detail": "the close of the last bar of the model's data",
    }
    assert (answer["data_until"], answer["lead_hours"]) == (f"{DAY}T00:00:00Z", 4.0)


def test_bar_3_the_dashboard_s_fan_starts_at_the_03_00_close(chromium, live, minutes):
    anchored(live, f"{DAY}T04:00:00Z")
    with watched_page(chromium, viewport={"width": 1280, "height": 1000}) as browser:
        page = browser.page
        page.goto(live.url + "/")
        page.locator("#forecast-chart[data-anchor]").wait_for(timeout=60_000)
        assert page.locator("#forecast-chart").get_attribute("data-anchor") == "minutes"
        said = page.locator("#forecast-anchor").inner_text()
        assert said.startswith(
            f"The forecast starts from the latest price, {minutes[1]:,.2f} USD at {DAY} 03:00 UTC"
        )
        SCREENSHOT.parent.mkdir(exist_ok=True)
        page.locator("section:has(#forecast-chart)").screenshot(path=str(SCREENSHOT))
        assert not browser.problems, browser.problems
