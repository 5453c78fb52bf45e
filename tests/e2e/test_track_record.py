"""The track record on four real releases (issue 55, bars 1 and 2): BTC/USD trained by
`train.py --until` 2026-02-20 00:00, 06:00, 12:00 and 18:00 UTC on the embedded hourly history,
each with its own MODEL_VERSION (`releases.py`), the embedded month of real minutes
(2026-02-16 07:03 to 2026-03-18 07:01) written to SQLite by `python -m cryptopredict.collect
--replay FILE --no-shift`, and each model served in turn by `python api.py` against it.

1. The archive holds four issues, one per model version, and serving one again adds nothing.
2. `/model/btc-usd/track-record` gives, per lead, the coverage and the mean interval scores of
   an independent computation from the four models' `/bitcoin/forecast` answers at their
   instants and the minutes, within 1e-6.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import requests

from cryptopredict.artifact.schema import LEVELS
from cryptopredict.utc import iso_utc
from tests.e2e.releases import UNTIL, trained_releases, version
from tests.e2e.training import ROOT
from tests.live_server import LiveServer, start_server
from tests.paths import MINUTE_SAMPLE as MINUTES

HOUR, DAY, MINUTE = 3600, 86_400, 60
RELATIVE = 1e-6


def get(server: LiveServer, path: str, **params: object) -> requests.Response:
    return requests.get(server.url + path, params=params, timeout=60)


@pytest.fixture(scope="module")
def releases() -> list[Path]:
    return trained_releases()


@pytest.fixture(scope="module")
def database(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('releases') / 'market.db'}"
    done = subprocess.run(
        [sys.executable, "-m", "cryptopredict.collect", "--replay", str(MINUTES), "--no-shift"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return url


def rows(url: str, query: str) -> list[tuple]:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as plain:
        return plain.execute(query).fetchall()


class Served:
    """A release served by `python api.py` against the database: what it answered."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        asset = get(server, "/assets").json()["assets"][0]
        self.version = asset["model_version"]
        self.data_until = _epoch(asset["data_until"])
        self.answers: dict[int, dict[int, tuple[float, float, float]]] = {}

    def ask(self, url: str) -> None:
        """Serve it (it is archived then), and keep its answers: every hour to 30 days after
        its data's end, from `/bitcoin/forecast`, and 90 days and a year from `/bitcoin`."""
        for level in LEVELS:
            answer = get(
                self.server,
                "/bitcoin/forecast",
                start=iso_utc(self.data_until + HOUR),
                end=iso_utc(self.data_until + 30 * DAY),
                level=level,
            )
            assert answer.status_code == 200, answer.text
            points = answer.json()
            found = self.answers.setdefault(level, {})
            for index, date in enumerate(points["date"]):
                found[_epoch(date)] = (
                    points["prediction"][index],
                    points["prediction_low"][index],
                    points["prediction_high"][index],
                )
            for days in (90, 365):
                at = self.data_until + days * DAY
                point = get(self.server, "/bitcoin", date=iso_utc(at), level=level).json()
                found[at] = (point["prediction"], point["prediction_low"], point["prediction_high"])
        _wait_until(lambda: self.version in {row[0] for row in rows(url, ISSUES)}, "archived")


ISSUES = "SELECT model_version, data_until, issued_at FROM forecast_issues ORDER BY data_until"


@pytest.fixture(scope="module")
def served_in_turn(releases, database, tmp_path_factory) -> list[Served]:
    logs = tmp_path_factory.mktemp("served")
    served = []
    for index, model_dir in enumerate(releases):
        server = start_server(model_dir, logs / f"api-{index}.log", DATABASE_URL=database)
        try:
            one = Served(server)
            one.ask(database)
            served.append(one)
        finally:
            server.process.terminate()
            server.process.wait(timeout=10)
    return served


@pytest.fixture(scope="module")
def record(served_in_turn, releases, database, tmp_path_factory) -> Iterator[dict]:
    """The last release serving again: its track record holds every release's issues."""
    log = tmp_path_factory.mktemp("record") / "api.log"
    server = start_server(releases[-1], log, DATABASE_URL=database, LIVE_CACHE_SECONDS="0")
    try:
        answer = get(server, "/model/btc-usd/track-record")
        assert answer.status_code == 200, answer.text
        yield answer.json()
    finally:
        server.process.terminate()
        server.process.wait(timeout=10)


def test_bar_1_the_archive_holds_one_issue_per_release(served_in_turn, database):
    issues = rows(database, ISSUES)
    assert [row[0] for row in issues] == [version(until) for until in UNTIL]
    assert [iso_utc(row[1]) for row in issues] == [f"{until}:00Z" for until in UNTIL]
    assert [row[0] for row in issues] == [one.version for one in served_in_turn]
    assert len({row[0] for row in issues}) == 4


def test_bar_1_serving_a_release_again_adds_nothing(served_in_turn, releases, database, tmp_path):
    before = (
        rows(database, ISSUES),
        rows(database, "SELECT * FROM forecast_leads ORDER BY 1, 2, 3, 4"),
    )
    server = start_server(releases[1], tmp_path / "again.log", DATABASE_URL=database)
    try:
        assert get(server, "/bitcoin", date="2026-03-01").status_code == 200
        _wait_until(lambda: "archived already" in server.log.read_text(), "the archive's look")
    finally:
        server.process.terminate()
        server.process.wait(timeout=10)
    after = (
        rows(database, ISSUES),
        rows(database, "SELECT * FROM forecast_leads ORDER BY 1, 2, 3, 4"),
    )
    assert after == before


def test_bar_2_the_record_equals_an_independent_computation(served_in_turn, record, database):
    """From each release's answers at its instants and the close of the minute ending there."""
    closes = dict(rows(database, "SELECT ts + 60, close FROM minute_bars WHERE asset = 'btc-usd'"))
    now = time.time()
    by_lead = {lead["lead_hours"]: lead for lead in record["leads"]}
    assert record["issues"] == 4
    assert record["prices"] == "replay"  # recorded minutes, not live data
    compared = 0
    for hours, lead in by_lead.items():
        instants = [one.data_until + round(hours * HOUR) for one in served_in_turn]
        scored = [at <= now and at in closes for at in instants]
        assert lead["issued"] == 4
        assert lead["due"] == sum(at <= now for at in instants)
        assert lead["scored"] == lead["replayed"] == sum(scored)
        if not any(scored):
            assert lead["levels"]["80"]["coverage"]["mean"] is None
            continue
        for level in LEVELS:
            held, score = [], []
            for one, at, kept in zip(served_in_turn, instants, scored, strict=True):
                if not kept:
                    continue
                _, low, high = one.answers[level][at]
                price = closes[at]
                held.append(float(low <= price <= high))
                outside = max(np.log(low) - np.log(price), 0) + max(np.log(price) - np.log(high), 0)
                score.append(np.log(high) - np.log(low) + 2 / (1 - level / 100) * outside)
            found = lead["levels"][str(level)]
            assert found["coverage"]["mean"] == pytest.approx(np.mean(held), rel=RELATIVE)
            assert found["interval_score"]["mean"] == pytest.approx(np.mean(score), rel=RELATIVE)
            print(
                f"{hours:g} h, {level}%: {sum(scored)} scored, coverage {np.mean(held):.3f}, "
                f"interval score {np.mean(score):.6f} (served {found['interval_score']['mean']:.6f}"
                f", naive {found['naive_interval_score']:.6f})"
            )
        compared += 1
    assert compared >= 30  # every lead to 26 days: the minutes end 2026-03-18 07:01


def test_bar_2_four_issues_six_hours_apart_give_no_verdict_beyond_them(record):
    """Four issues are at most four independent outcomes: too few for a standard error."""
    for lead in record["leads"]:
        if lead["scored"]:
            assert lead["levels"]["80"]["verdict"] == "too few windows"
            assert "too few independent issues" in lead["levels"]["80"]["difference"]["why"]


def _wait_until(condition, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _epoch(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())
