"""The track record on five real releases (issue 61): BTC/USD trained by `train.py --until`
2026-02-20 00:00, 06:00, 12:00 and 18:00 UTC, then 2026-03-20 00:00, on the embedded hourly
history, each with its own MODEL_VERSION and each reading the record of the one before
(`releases.py`), as five releases read the previous image's.

1. The fourth record holds four issues, every lead due by its data's end is scored, and its
   figures equal an independent computation from the four models' `/forecast` answers at their
   lead instants and the hourly closes, within 1e-6.
2. On the fifth, the leads from 1 hour to 28 days of the first issue are scored, and
   `/model/btc-usd/track-record` answers them with no DATABASE_URL set and no database file
   written anywhere.
5. The dashboard's panel on the fifth shows the scored leads (the screenshot is kept under
   `reports/`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import requests

from cryptopredict.artifact.read import open_artifact
from cryptopredict.artifact.record import read_records
from cryptopredict.artifact.schema import LEVELS
from cryptopredict.utc import iso_utc
from tests.api.records import exact_within
from tests.browser import watched_page
from tests.e2e.releases import UNTIL, trained_releases, version
from tests.e2e.training import ROOT
from tests.live_server import LiveServer, start_server

HOUR, DAY = 3600, 86_400
RELATIVE = 1e-6
SCREENSHOT = ROOT / "reports" / "track-record.png"


def get(server: LiveServer, path: str, **params: object) -> requests.Response:
    return requests.get(server.url + path, params=params, timeout=60)


@pytest.fixture(scope="module")
def releases() -> list[Path]:
    return trained_releases()


def closes_of(model_dir: Path) -> dict[int, float]:
    """The hourly closes the release fetched, by the instant each bar ends."""
    history = open_artifact(model_dir / "btc-usd").history
    return dict(zip((history.ds + HOUR).tolist(), history["close"].tolist(), strict=True))


def served(model_dir: Path, log: Path) -> LiveServer:
    """`python api.py` on `model_dir`, with no DATABASE_URL."""
    return start_server(model_dir, log, unset=("DATABASE_URL",))


@pytest.fixture(scope="module")
def answers(releases, tmp_path_factory) -> list[dict[int, dict[int, tuple[float, float, float]]]]:
    """Each of the first four releases' `/forecast/btc-usd` answers at every lead instant of
    its record, per level."""
    logs = tmp_path_factory.mktemp("answers")
    found = []
    for index, model_dir in enumerate(releases[:4]):
        record = read_records(model_dir)["btc-usd"]
        issue, newest = record.issues[-1], record.pending.issue == len(record.issues) - 1
        with served(model_dir, logs / f"api-{index}.log") as server:
            mine: dict[int, dict[int, tuple[float, float, float]]] = {}
            for level in LEVELS:
                for lead in record.pending.lead[newest].tolist():
                    at = issue.data_until + lead
                    point = get(server, "/forecast/btc-usd", date=iso_utc(at), level=level)
                    assert point.status_code == 200, point.text
                    body = point.json()
                    mine.setdefault(level, {})[at] = (
                        body["prediction"],
                        body["prediction_low"],
                        body["prediction_high"],
                    )
            found.append(mine)
    return found


@pytest.fixture(scope="module")
def fifth(releases, tmp_path_factory) -> Iterator[LiveServer]:
    with served(releases[4], tmp_path_factory.mktemp("fifth") / "api.log") as server:
        yield server


def scored_leads(record, index: int) -> set[int]:
    """The leads (seconds) at which the record's issue `index` is scored."""
    return set(record.scored.lead[record.scored.issue == index].tolist())


def test_bar_1_the_fourth_record_holds_four_issues_every_due_lead_scored(releases):
    record = read_records(releases[3])["btc-usd"]
    assert [issue.model_version for issue in record.issues] == [version(t) for t in UNTIL[:4]]
    assert [iso_utc(issue.data_until) for issue in record.issues] == [
        f"{until}:00Z" for until in UNTIL[:4]
    ]
    closes = closes_of(releases[3])
    end = max(closes)
    assert record.scored_until == end
    # Due by the fourth's data end: the first issue's leads to 18 h, the second's to 12 h, the
    # third's to 6 h (each of the band's hours and 8, 12 and 18 h among them), the fourth's none.
    due = []
    for index, issue in enumerate(record.issues):
        leads = {*scored_leads(record, index), *record.pending.lead[record.pending.issue == index]}
        due.append({lead for lead in leads if issue.data_until + lead <= end})
        assert scored_leads(record, index) == due[-1]
    assert len(due[0]) > len(due[1]) > len(due[2]) > len(due[3]) == 0


def test_bar_1_the_figures_equal_an_independent_computation(releases, answers, tmp_path):
    """From each release's `/forecast` answers at its instants and the hourly close there."""
    record = read_records(releases[3])["btc-usd"]
    closes = closes_of(releases[3])
    with served(releases[3], tmp_path / "api.log") as server:
        found = get(server, "/model/btc-usd/track-record").json()
    assert found["issues"] == 4
    compared = 0
    for lead in found["leads"]:
        seconds = round(lead["lead_hours"] * HOUR)
        instants = [issue.data_until + seconds for issue in record.issues]
        kept = [at in closes and at <= max(closes) for at in instants]
        assert (lead["issued"], lead["scored"]) == (4, sum(kept))
        if not any(kept):
            continue
        prices = np.array([closes[at] for at, ok in zip(instants, kept, strict=True) if ok])
        asked = [mine for mine, ok in zip(answers, kept, strict=True) if ok]
        at_kept = [at for at, ok in zip(instants, kept, strict=True) if ok]
        point = np.array([mine[80][at][0] for mine, at in zip(asked, at_kept, strict=True)])
        error = np.mean(np.abs(prices - point) / prices)
        within = exact_within(releases[3], seconds)  # as the record keeps them
        assert lead["error"]["mean"] == pytest.approx(error, abs=within)
        for level in LEVELS:
            low, high = (
                np.array([mine[level][at][side] for mine, at in zip(asked, at_kept, strict=True)])
                for side in (1, 2)
            )
            held = np.mean((low <= prices) & (prices <= high))
            outside = np.maximum(np.log(low) - np.log(prices), 0) + np.maximum(
                np.log(prices) - np.log(high), 0
            )
            score = np.mean(np.log(high) - np.log(low) + 2 / (1 - level / 100) * outside)
            mine = lead["levels"][str(level)]
            assert mine["coverage"]["mean"] == pytest.approx(held, rel=RELATIVE)
            assert mine["interval_score"]["mean"] == pytest.approx(score, abs=within)
        compared += 1
    # Every lead the first issue reached by the fourth's data end (its 1 h to 18 h) was compared.
    first = record.issues[0]
    assert compared == len(scored_leads(record, 0)) > 0
    assert all(first.data_until + lead <= max(closes) for lead in scored_leads(record, 0))


def test_bar_2_the_fifth_scores_the_first_issue_to_28_days_with_no_database(
    releases, fifth, tmp_path
):
    before = set(ROOT.glob(".cache/*.db")) | set(ROOT.glob("*.db"))
    found = get(fifth, "/model/btc-usd/track-record").json()
    fifth_record = read_records(releases[4])["btc-usd"]
    scored_hours = {lead // HOUR for lead in scored_leads(fifth_record, 0)}
    first_rows = np.concatenate(
        [
            fifth_record.scored.lead[fifth_record.scored.issue == 0],
            fifth_record.pending.lead[fifth_record.pending.issue == 0],
        ]
    )
    leads = {lead // HOUR for lead in first_rows.tolist()}
    assert scored_hours == {hours for hours in leads if hours <= 28 * 24}
    assert {1, 24, 28 * 24} <= scored_hours
    by_lead = {lead["lead_hours"]: lead for lead in found["leads"]}
    # 28 days after the first issue is the fifth's data end; after the next three, later.
    record = read_records(releases[4])["btc-usd"]
    month = [issue.data_until + 28 * DAY <= record.scored_until for issue in record.issues]
    assert month == [True, False, False, False, False]
    assert (by_lead[28 * 24]["due"], by_lead[28 * 24]["scored"]) == (1, 1)
    assert by_lead[29 * 24]["scored"] == 0
    assert found["issues"] == 5
    for route in ("/", "/model/btc-usd", "/metrics", "/live", "/model/btc-usd/track-record"):
        assert get(fifth, route).status_code == 200
    after = set(ROOT.glob(".cache/*.db")) | set(ROOT.glob("*.db"))
    assert after == before
    written = [path for path in releases[4].parent.rglob("*") if path.suffix in {".db", ".sqlite"}]
    assert written == []


def test_bar_5_the_dashboard_shows_the_fifth_s_scored_leads(chromium, fifth):
    record = get(fifth, "/model/btc-usd/track-record").json()
    scored = [lead for lead in record["leads"] if lead["scored"]]
    with watched_page(chromium, viewport={"width": 1280, "height": 1400}) as browser:
        page = browser.page
        page.goto(fifth.url + "/")
        page.locator("#track-chart[data-points]").wait_for(timeout=60_000)
        rows = page.locator("#track-table tbody tr").all_inner_texts()
        assert len(rows) == len(scored) > 0
        assert [row.split("\t")[0] for row in rows][-1] == "28 d"  # the first issue's month
        assert rows[0].split("\t")[:2] == ["1 h", f"{scored[0]['scored']} of {scored[0]['due']}"]
        assert "5 forecasts issued" in page.locator("#track-note").inner_text()
        SCREENSHOT.parent.mkdir(exist_ok=True)
        page.locator("#track-record").screenshot(path=str(SCREENSHOT))
        assert not browser.problems, browser.problems
