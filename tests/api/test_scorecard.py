"""The live scorecard (`/model/{asset}/live`, issue 46) on the fixture model and real minutes:
the served band's figures against an independent computation from the artifact's grid and the
minutes, naive's against the backtest's own band code, the lead buckets, gaps, minutes before
the model's data ended, the two-halves incremental equality on SQLite and PostgreSQL with only
new rows read, the model card's summary, the Prometheus gauges and the errors."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from cryptopredict.api import create_app
from cryptopredict.api.serving.scorecard import LEADS
from cryptopredict.artifact.schema import LEVELS
from cryptopredict.artifact.store import open_artifacts
from cryptopredict.band_scores import inside, interval_score
from cryptopredict.config import ApiSettings
from cryptopredict.minutes.bars import MinuteBar
from cryptopredict.minutes.store import MinuteStore
from cryptopredict.model.market import Market
from cryptopredict.model.scoring import naive_band
from cryptopredict.utc import iso_utc
from tests.api.scorecards import GAP, assert_same, write
from tests.collect.postgres import new_postgres_database

MINUTE = 60
HOUR = 3600


def scorecard_client(artifact_dir, url):
    settings = ApiSettings(model_dir=artifact_dir, database_url=url, live_cache_seconds=0)
    return create_app(open_artifacts(artifact_dir), settings).test_client()


@pytest.fixture(scope="module")
def card(artifact_dir, sqlite_url) -> dict:
    answer = scorecard_client(artifact_dir, sqlite_url).get("/model/btc-usd/live")
    assert answer.status_code == 200, answer.get_json()
    assert answer.headers["Cache-Control"] == "no-cache"
    return answer.get_json()


def expected(artifacts, minutes: list[MinuteBar]) -> dict[str, dict]:
    """Per lead bucket, from the artifact's grid at every bar (interpolated to each minute's
    close time) and the naive band of the backtest's own code: the minutes, and per level the
    share inside and the mean interval scores."""
    artifact = artifacts["btc-usd"]
    grid, history = artifact.grid, artifact.history
    last_bar = int(history.ds[-1])
    opened = np.array([bar.ts for bar in minutes])
    close = np.array([bar.close for bar in minutes])
    keep = opened >= last_bar + HOUR  # opened once the last bar had closed
    opened, close = opened[keep], close[keep]
    closed = opened + MINUTE
    hours = (closed - last_bar) / HOUR  # ahead of the last bar, as the grid and naive's band
    since_data = hours - 1  # the lead buckets count from when the last bar closed
    market = Market(history.ds, np.log(history.close), HOUR)
    last = np.array([len(history.ds) - 1])
    horizons = [h for h in (1, 24, 168, 720) if h <= 7 * 24]  # the fixture's plan: 7 days
    naive = naive_band(market, last, horizons).offsets(last, hours, calibrated_at=history.ds[last])
    out = {}
    for lead in LEADS:
        mine = lead.holds(since_data)
        levels = {}
        for level in LEVELS:
            low = np.interp(closed, grid.ds, grid.lower(level))[mine]
            high = np.interp(closed, grid.ds, grid.upper(level))[mine]
            price = close[mine]
            lower, upper = (naive[tau][0][mine] for tau in _tails(level))
            centre = float(history.close[-1])
            levels[str(level)] = {
                "coverage": inside(price, low, high).mean() if mine.any() else None,
                "interval_score": interval_score(price, low, high, level).mean()
                if mine.any()
                else None,
                "naive": interval_score(
                    price, centre * np.exp(lower), centre * np.exp(upper), level
                ).mean()
                if mine.any()
                else None,
            }
        out[lead.name] = {"minutes": int(mine.sum()), "levels": levels}
    return out


def _tails(level: int) -> tuple[float, float]:
    low = round((100 - level) / 200, 10)
    return low, round(1 - low, 10)


def test_every_minute_after_the_last_bar_is_scored_against_the_served_band(
    card, artifacts, minutes, facts
):
    want = expected(artifacts, minutes)
    assert card["data_until"] == iso_utc(facts.last_bar)
    assert card["scored_from"] == iso_utc(facts.last_bar + HOUR)
    scored = sum(lead["minutes"] for lead in card["since_release"])
    assert card["minutes"] == scored == len(minutes) - 60  # the hour before: never scored
    assert card["missing_minutes"] == GAP.stop - GAP.start  # a gap is a gap, not a miss
    assert card["first"] == iso_utc(facts.last_bar + HOUR + MINUTE)
    assert [lead["lead"] for lead in card["since_release"]] == [lead.name for lead in LEADS]
    for lead in card["since_release"]:
        found = want[lead["lead"]]
        assert lead["minutes"] == found["minutes"] > 0
        for level, figures in lead["levels"].items():
            assert figures["expected"] == int(level) / 100
            assert figures["coverage"] == pytest.approx(
                found["levels"][level]["coverage"], rel=1e-12
            )
            assert figures["interval_score"] == pytest.approx(
                found["levels"][level]["interval_score"], rel=1e-9
            )
            assert figures["naive_interval_score"] == pytest.approx(
                found["levels"][level]["naive"], rel=1e-9
            )
            assert figures["difference"] == pytest.approx(
                figures["interval_score"] - figures["naive_interval_score"], rel=1e-9, abs=1e-12
            )


def test_the_standard_error_waits_for_twice_the_overlap(card):
    by_lead = {lead["lead"]: lead for lead in card["since_release"]}
    # the first hour: 60 minutes, one outcome
    assert by_lead["under_1h"]["levels"]["80"]["coverage_se"] is None
    assert by_lead["under_1h"]["levels"]["80"]["verdict"] is None
    # an hour to a day: 23 hours of minutes, overlapping over an hour
    figures = by_lead["1h_to_1d"]["levels"]["80"]
    assert figures["coverage_se"] > 0
    assert figures["difference_se"] > 0
    assert figures["verdict"] in ("better", "tie", "worse")
    # beyond a week: two days of minutes overlap over a week
    assert by_lead["beyond_7d"]["levels"]["80"]["coverage_se"] is None


def test_the_backtest_coverage_is_beside_each_bucket(card, artifacts):
    horizons = artifacts["btc-usd"].manifest.metrics.horizons()
    by_lead = {lead["lead"]: lead for lead in card["since_release"]}
    assert by_lead["1h_to_1d"]["backtest_horizon"] == "1d"
    backtest = horizons["1d"].prophet.coverage_by_level
    assert by_lead["1h_to_1d"]["levels"]["80"]["backtest_coverage"] == backtest["80"]


def test_the_rolling_window_holds_the_last_day(card, minutes):
    window = card["window"]
    assert window["hours"] == 24
    assert sum(lead["minutes"] for lead in window["leads"]) == 24 * 60
    by_lead = {lead["lead"]: lead for lead in window["leads"]}
    assert by_lead["beyond_7d"]["last"] == iso_utc(minutes[-1].ts + MINUTE)


def test_the_answer_is_what_the_openapi_document_says(artifact_dir, sqlite_url, conforms):
    conforms(
        "/model/{asset}/live", scorecard_client(artifact_dir, sqlite_url).get("/model/btc-usd/live")
    )


def test_written_in_two_halves_it_equals_all_at_once_reading_only_the_new_rows(
    artifact_dir, minutes, card, tmp_path, monkeypatch
):
    assert_two_halves(
        artifact_dir, minutes, card, f"sqlite:///{tmp_path / 'halves.db'}", monkeypatch
    )


@pytest.mark.slow
def test_on_postgresql_too(artifact_dir, minutes, card, postgres_server, monkeypatch):
    url = new_postgres_database(postgres_server)
    assert_two_halves(artifact_dir, minutes, card, url, monkeypatch)


def assert_two_halves(artifact_dir, minutes, whole: dict, url: str, monkeypatch) -> None:
    read: list[int] = []
    closes_after = MinuteStore.closes_after

    def counted(store, asset, after, limit):
        rows = closes_after(store, asset, after, limit)
        read.append(len(rows))
        return rows

    monkeypatch.setattr(MinuteStore, "closes_after", counted)
    half = len(minutes) // 2
    write(url, minutes[:half])
    client = scorecard_client(artifact_dir, url)
    first = client.get("/model/btc-usd/live").get_json()
    assert first["minutes"] == half - 60
    assert sum(read) == half - 60  # the hour before the last bar closed is not even read
    write(url, minutes[half:])
    read.clear()
    second = client.get("/model/btc-usd/live").get_json()
    assert sum(read) == len(minutes) - half  # the new rows, and nothing else
    assert_same(second, whole)


def test_new_minutes_are_read_through_the_primary_key(sqlite_url):
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as plain:
        plan = plain.execute(
            "EXPLAIN QUERY PLAN SELECT ts, close FROM minute_bars WHERE asset = ? AND ts > ? "
            "ORDER BY ts LIMIT ?",
            ("btc-usd", 0, 10),
        ).fetchall()
    detail = " ".join(str(row[-1]) for row in plan)
    # the primary key (asset, ts), as SQLite names its index
    assert (
        "SEARCH minute_bars USING INDEX sqlite_autoindex_minute_bars_1 (asset=? AND ts>?)" in detail
    )
    assert "SCAN" not in detail
    assert "TEMP B-TREE" not in detail


def test_the_model_card_sums_it_up(artifact_dir, sqlite_url, card):
    model = scorecard_client(artifact_dir, sqlite_url).get("/model/btc-usd").get_json()
    live = model["live"]
    assert live["url"] == "/model/btc-usd/live"
    assert live["minutes"] == card["minutes"]
    by_lead = {lead["lead"]: lead for lead in card["since_release"]}
    for lead in live["leads"]:
        assert lead["coverage_80"] == by_lead[lead["lead"]]["levels"]["80"]["coverage"]
    share = by_lead["1h_to_1d"]["levels"]["80"]["coverage"]
    assert f"{share:.1%}" in live["sentence"]
    assert f"{card['minutes']:,} live minutes" in live["sentence"]


def test_without_minutes_the_model_card_says_null(client):
    assert client.get("/model/btc-usd").get_json()["live"] is None


def test_the_gauges_by_asset_level_lead_and_window(artifact_dir, sqlite_url, card):
    text = scorecard_client(artifact_dir, sqlite_url).get("/metrics").get_data(as_text=True)
    by_lead = {lead["lead"]: lead for lead in card["since_release"]}
    coverage = by_lead["1d_to_7d"]["levels"]["95"]["coverage"]
    line = (
        'cryptopredict_live_coverage{asset="btc-usd",lead="1d_to_7d",level="95",'
        f'window="since_release"}} {coverage!r}'
    )
    assert line in text
    minutes = by_lead["beyond_7d"]["minutes"]
    assert (
        'cryptopredict_live_minutes{asset="btc-usd",lead="beyond_7d",window="since_release"} '
        f"{float(minutes)!r}"
    ) in text
    assert 'cryptopredict_live_coverage_se{asset="btc-usd",lead="1h_to_1d",level="80"' in text
    assert 'lead="under_1h",level="80",window="since_release"}' not in _lines(
        text, "cryptopredict_live_coverage_se"
    )
    assert 'forecast="naive"' in _lines(text, "cryptopredict_live_interval_score")


def _lines(text: str, name: str) -> str:
    return "\n".join(line for line in text.splitlines() if line.startswith(name + "{"))


def test_without_a_database_it_is_404_and_the_gauges_are_left_out(client):
    answer = client.get("/model/btc-usd/live")
    assert answer.status_code == 404
    assert answer.get_json()["error"] == "no_minute_data"
    assert "cryptopredict_live_coverage{" not in client.get("/metrics").get_data(as_text=True)


def test_an_unreadable_database_is_503_and_the_card_still_answers(artifact_dir, tmp_path):
    broken = tmp_path / "market.db"
    broken.write_bytes(b"not a database" * 100)
    client = scorecard_client(artifact_dir, f"sqlite:///{broken}")
    answer = client.get("/model/btc-usd/live")
    assert answer.status_code == 503
    assert str(broken) not in answer.get_data(as_text=True)
    assert client.get("/model/btc-usd").get_json()["live"] is None


def test_before_any_minute_it_says_why(artifact_dir, tmp_path, minutes):
    url = f"sqlite:///{tmp_path / 'early.db'}"
    write(url, minutes[:30])  # all before the last bar closed
    answer = scorecard_client(artifact_dir, url).get("/model/btc-usd/live").get_json()
    assert answer["minutes"] == 0
    assert "no stored minute of BTC/USD opened from" in answer["detail"]
    assert all(lead["levels"]["80"]["coverage"] is None for lead in answer["since_release"])


def test_an_unknown_asset_is_404(client):
    assert client.get("/model/doge-usd/live").status_code == 404
