"""The archive of issued forecasts (issue 55): a model is archived once, when first served, with
what the point answers give at every lead and naive's forecast beside it; never rewritten,
never twice; on SQLite and PostgreSQL; and a database that cannot be written never stops the
serving (logged, counted in /metrics, tried again with the time it was first served)."""

from __future__ import annotations

import logging
import sqlite3
import time

import numpy as np
import pytest

from cryptopredict.api.serving.archive import Archive, ArchiveWriter
from cryptopredict.api.serving.issued import VALUES, issue_of, lead_hours
from cryptopredict.artifact.schema import LEVELS
from cryptopredict.band_scores import tails
from cryptopredict.database import StoreError
from cryptopredict.minutes.store import MinuteStore
from cryptopredict.model.bands import Market
from cryptopredict.model.scoring import naive_band
from tests.api.artifacts import PROPHET_DEPRECATION
from tests.api.issues import HOUR, point_at, serving, sqlite_rows
from tests.collect.postgres import new_postgres_database

pytestmark = PROPHET_DEPRECATION
LEADS = "SELECT lead, valid_at, {} FROM forecast_leads ORDER BY lead"


def test_a_model_is_archived_when_first_served_with_what_the_answers_said(
    artifact_dir, artifacts, tmp_path
):
    url = f"sqlite:///{tmp_path / 'market.db'}"
    served = serving(artifact_dir, url)
    assert served.client.get("/assets").status_code == 200  # lists, serves nothing
    assert served.archive.counts == {"archived": 0, "already": 0, "failed": 0}
    before = time.time()
    served.serve()
    assert served.archive.counts["archived"] == 1
    [(asset, version, data_until, issued_at)] = sqlite_rows(url, "SELECT * FROM forecast_issues")
    artifact = artifacts["btc-usd"]
    assert (asset, version) == ("btc-usd", artifact.manifest.model_version)
    assert data_until == int(artifact.history.ds[-1]) + HOUR  # the last bar's close
    assert before - 1 <= issued_at <= time.time()
    rows = sqlite_rows(url, LEADS.format(", ".join(VALUES)))
    hours = [row[0] / HOUR for row in rows]
    assert hours == lead_hours(artifact.manifest.postprocess.band_hours)
    assert {1, 24, 30 * 24, 90 * 24, 365 * 24} <= set(hours)
    for lead, valid_at, point, *bounds in rows:
        assert valid_at == data_until + lead
        for index, level in enumerate(LEVELS):
            answer = point_at(served.client, "btc-usd", valid_at, level)
            assert answer["lead_hours"] == lead / HOUR
            assert point == answer["prediction"]
            assert bounds[2 * index : 2 * index + 2] == [
                answer["prediction_low"],
                answer["prediction_high"],
            ]


def test_naive_is_archived_beside_it_as_the_backtest_makes_naive(artifact_dir, artifacts, tmp_path):
    url = f"sqlite:///{tmp_path / 'market.db'}"
    serving(artifact_dir, url).serve()
    naive = [f"naive_{name}" for name in VALUES]
    rows = np.array(sqlite_rows(url, LEADS.format(", ".join(naive))), dtype=np.float64)
    history = artifacts["btc-usd"].history
    hours = rows[:, 0] / HOUR
    market = Market(history.ds, np.log(history.close), HOUR)
    last = np.array([len(history.ds) - 1])
    band = naive_band(market, last, [h for h in (1, 24, 168, 720) if h <= 7 * 24])  # its plan
    offsets = band.offsets(last, hours, calibrated_at=history.ds[last])
    price = float(history.close[-1])
    assert np.all(rows[:, 2] == round(price, 2))
    for index, level in enumerate(LEVELS):
        low, high = tails(level)
        lower = price * np.exp(offsets[low][0])
        upper = price * np.exp(offsets[high][0])
        assert rows[:, 3 + 2 * index] == pytest.approx(lower, abs=0.005)
        assert rows[:, 4 + 2 * index] == pytest.approx(upper, abs=0.005)


def test_serving_a_model_again_adds_nothing(artifact_dir, tmp_path):
    url = f"sqlite:///{tmp_path / 'market.db'}"
    first = serving(artifact_dir, url)
    first.serve()
    first.serve("eth-usd")
    issued = sqlite_rows(url, "SELECT * FROM forecast_issues ORDER BY asset")
    leads = sqlite_rows(url, "SELECT * FROM forecast_leads ORDER BY asset, lead")
    again = serving(artifact_dir, url)  # another process, say, serving the same models
    again.serve()
    again.serve("eth-usd")
    assert again.archive.counts == {"archived": 0, "already": 2, "failed": 0}
    assert sqlite_rows(url, "SELECT * FROM forecast_issues ORDER BY asset") == issued
    assert sqlite_rows(url, "SELECT * FROM forecast_leads ORDER BY asset, lead") == leads
    assert [row[0] for row in issued] == ["btc-usd", "eth-usd"]


def test_an_issue_is_never_rewritten(artifact_dir, tmp_path):
    url = f"sqlite:///{tmp_path / 'market.db'}"
    served = serving(artifact_dir, url)
    served.serve()
    catalog = served.app.extensions["cryptopredict"]["catalog"]
    issue = issue_of(catalog["btc-usd"], issued_at=1)
    other = type(issue)(**{**issue.__dict__, "served": issue.served * 2, "issued_at": 2})
    before = sqlite_rows(url, "SELECT * FROM forecast_leads")
    with ArchiveWriter.open(url, timeout=5) as writer:
        assert writer.write(other) is False
    assert sqlite_rows(url, "SELECT * FROM forecast_leads") == before
    assert sqlite_rows(url, "SELECT issued_at FROM forecast_issues")[0][0] > 2


@pytest.mark.slow
def test_on_postgresql_too(artifact_dir, postgres_server):
    import psycopg

    url = new_postgres_database(postgres_server)
    served = serving(artifact_dir, url)
    served.serve()
    serving(artifact_dir, url).serve()  # served again, by another app
    with psycopg.connect(url) as plain:
        issues = plain.execute("SELECT asset, model_version FROM forecast_issues").fetchall()
        leads = plain.execute("SELECT lead, point FROM forecast_leads ORDER BY lead").fetchall()
    assert issues == [("btc-usd", "test-1")]
    data_until = served.client.get("/assets").get_json()["assets"][0]["data_until"]
    for lead, point in leads:
        assert point == point_at(served.client, "btc-usd", _epoch(data_until) + lead)["prediction"]


def test_a_database_that_cannot_be_written_never_stops_serving(artifact_dir, tmp_path, caplog):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the database's directory should be")
    url = f"sqlite:///{blocker / 'market.db'}"
    served = serving(artifact_dir, url)
    with caplog.at_level(logging.WARNING, "cryptopredict.api.serving.archive"):
        served.serve()
        assert served.client.get("/bitcoin?date=2026-09-01").status_code == 200
    assert served.archive.counts["failed"] == 1
    assert served.archive.pending == 1
    assert "cannot archive the forecast of btc-usd test-1 now" in caplog.text
    assert "serving goes on" in caplog.text
    metrics = served.client.get("/metrics").get_data(as_text=True)
    assert 'cryptopredict_archive_writes_total{outcome="failed"} 1.0' in metrics
    assert "cryptopredict_archive_pending 1.0" in metrics


def test_an_issue_not_written_is_tried_again_with_the_time_it_was_first_served(
    artifact_dir, tmp_path
):
    blocker = tmp_path / "later"
    blocker.write_text("in the way, for now")
    url = f"sqlite:///{blocker / 'market.db'}"
    served = serving(artifact_dir, url)
    served.serve()  # opens the asset: the app's own archive fails too
    btc = served.app.extensions["cryptopredict"]["catalog"]["btc-usd"]
    times = iter([1_790_000_000.0])
    archive = Archive(url, retry_seconds=0.05, clock=lambda: next(times))
    archive.issue(btc)
    assert archive.wait(30)
    assert archive.counts["failed"] >= 1
    blocker.unlink()
    deadline = time.monotonic() + 30
    while archive.pending and time.monotonic() < deadline:
        time.sleep(0.05)
    assert archive.counts["archived"] == 1
    assert sqlite_rows(url, "SELECT issued_at FROM forecast_issues") == [(1_790_000_000,)]


def test_an_archive_of_another_version_is_refused_and_nothing_written(artifact_dir, tmp_path):
    url = f"sqlite:///{tmp_path / 'market.db'}"
    served = serving(artifact_dir, url)
    with ArchiveWriter.open(url, timeout=5):
        pass
    with sqlite3.connect(tmp_path / "market.db") as plain:
        plain.execute("UPDATE archive_info SET value = '99' WHERE name = 'version'")
    refused = pytest.raises(StoreError, match="holds an archive of version 99; this code writes")
    with refused, ArchiveWriter.open(url, timeout=5):
        pass
    served.serve()
    assert served.archive.counts["failed"] == 1
    assert sqlite_rows(url, "SELECT COUNT(*) FROM forecast_leads") == [(0,)]


def test_a_database_the_archive_made_is_one_the_collector_writes_as_its_own(artifact_dir, tmp_path):
    """The API may make the SQLite file first: with the settings the collector gives one it
    makes (incremental auto-vacuum, WAL), and the collector adds its tables beside."""
    url = f"sqlite:///{tmp_path / 'market.db'}"
    serving(artifact_dir, url).serve()
    with sqlite3.connect(tmp_path / "market.db") as plain:
        assert plain.execute("PRAGMA auto_vacuum").fetchone() == (2,)  # incremental
        assert plain.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    with MinuteStore.open(url) as store:
        assert {"minute_bars", "forecast_issues", "forecast_leads"} <= store.tables()


def _epoch(text: str) -> int:
    from datetime import datetime

    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())
