"""The track record (`/model/{asset}/track-record`, issue 55) on the fixture models: each
archived issue scored lead by lead against the price at its instant (bar 3: minutes priced at
the served point score no error, a bar off they do), figures equal to an independent
computation from the point answers and the minutes, due and scored counted apart, replayed
minutes named a replay and never live, standard errors across issue times only where enough
issues are independent, the model card's summary, the gauges and the errors."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest

from cryptopredict.api.serving.archive import Archived
from cryptopredict.api.serving.issued import VALUES
from cryptopredict.api.serving.track_record import independent_issues, record
from cryptopredict.artifact.schema import LEVELS
from cryptopredict.band_scores import inside, interval_score
from cryptopredict.collect.replay import read_minutes
from cryptopredict.utc import iso_utc
from tests.api.artifacts import PROPHET_DEPRECATION
from tests.api.issues import HOUR, bars_at, point_at, serving, sqlite_rows, write_minutes
from tests.paths import MINUTE_SAMPLE

pytestmark = PROPHET_DEPRECATION
DAY = 24 * HOUR


def archived_leads(url: str) -> list[tuple[int, int]]:
    """(lead, valid instant) of every archived lead of btc-usd."""
    return sqlite_rows(
        url, "SELECT lead, valid_at FROM forecast_leads WHERE asset = 'btc-usd' ORDER BY lead"
    )


def track(served, asset: str = "btc-usd") -> dict:
    answer = served.client.get(f"/model/{asset}/track-record")
    assert answer.status_code == 200, answer.get_json()
    assert answer.headers["Cache-Control"] == "no-cache"
    return answer.get_json()


@pytest.mark.parametrize("shift", [0, HOUR], ids=["at its instant", "a bar off"])
def test_bar_3_prices_at_the_served_point_score_no_error_and_a_bar_off_they_do(
    artifact_dir, tmp_path, shift
):
    url = f"sqlite:///{tmp_path / 'market.db'}"
    served = serving(artifact_dir, url)
    served.serve()
    due = [at for _, at in archived_leads(url) if at <= time.time()]
    # Each minute ending at an instant is priced at the served point `shift` later.
    prices = [point_at(served.client, "btc-usd", at + shift)["prediction"] for at in due]
    write_minutes(url, bars_at("btc-usd", due, prices, "binance"))
    found = track(served)
    scored = [lead for lead in found["leads"] if lead["scored"]]
    assert len(scored) == len(due) >= 40
    errors = [lead["error"]["mean"] for lead in scored]
    if not shift:
        assert errors == [0.0] * len(scored)
        assert all(
            lead["levels"][str(level)]["coverage"]["mean"] == 1.0
            for lead in scored
            for level in LEVELS
        )
    else:
        assert min(errors) > 0
        assert max(errors) > 1e-4


def test_bar_3_the_price_at_an_instant_is_the_close_of_the_minute_ending_then(
    artifact_dir, tmp_path
):
    """A minute opening at the instant (the next one) is not the price then."""
    url = f"sqlite:///{tmp_path / 'market.db'}"
    served = serving(artifact_dir, url)
    served.serve()
    lead, at = archived_leads(url)[0]
    point = point_at(served.client, "btc-usd", at)["prediction"]
    after = bars_at("btc-usd", [at + 60], [point * 1.5], "binance")  # opens at the instant
    write_minutes(url, [*bars_at("btc-usd", [at], [point], "binance"), *after])
    first = track(served)["leads"][0]
    assert (first["lead_hours"], first["scored"], first["error"]["mean"]) == (lead / HOUR, 1, 0.0)


@pytest.fixture(scope="module")
def real_minutes(artifacts):
    """The embedded month of real minutes, moved to start an hour before the fixture model's
    data end and scaled to its last close: prices at leads up to 29 days."""
    sample = read_minutes(MINUTE_SAMPLE, "btc-usd")
    history = artifacts["btc-usd"].history
    offset = int(history.ds[-1]) - sample[0].ts
    scale = float(history.close[-1]) / sample[0].open
    return [
        dataclasses.replace(
            bar,
            ts=bar.ts + offset,
            source="binance",
            **{
                name: getattr(bar, name) * scale
                for name in ("open", "high", "low", "close", "vwap")
            },
        )
        for bar in sample
    ]


@pytest.fixture(scope="module")
def scored(artifact_dir, real_minutes, tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('track') / 'market.db'}"
    served = serving(artifact_dir, url)
    served.serve()
    write_minutes(url, real_minutes)
    return served, url, track(served)


def test_the_record_equals_an_independent_computation_from_the_answers_and_minutes(
    scored, real_minutes
):
    served, url, found = scored
    closes = {bar.ts + 60: bar.close for bar in real_minutes}  # the price at each close
    by_lead = {lead["lead_hours"]: lead for lead in found["leads"]}
    checked = 0
    for lead, at in archived_leads(url):
        figures = by_lead[lead / HOUR]
        assert figures["issued"] == 1
        assert figures["due"] == int(at <= time.time())
        if at not in closes:
            assert figures["scored"] == 0
            assert figures["error"]["mean"] is None
            continue
        price = closes[at]
        assert figures["scored"] == 1
        for level in LEVELS:
            answer = point_at(served.client, "btc-usd", at, level)
            low, high = answer["prediction_low"], answer["prediction_high"]
            mine = figures["levels"][str(level)]
            one = np.array([price])
            assert mine["coverage"]["mean"] == float(inside(one, low, high)[0])
            assert mine["interval_score"]["mean"] == pytest.approx(
                interval_score(one, np.array([low]), np.array([high]), level)[0], rel=1e-12
            )
            naive = mine["naive_interval_score"]
            assert mine["difference"]["mean"] == pytest.approx(
                mine["interval_score"]["mean"] - naive, rel=1e-9, abs=1e-15
            )
        error = abs(price - point_at(served.client, "btc-usd", at)["prediction"]) / price
        assert figures["error"]["mean"] == pytest.approx(error, rel=1e-12)
        checked += 1
    assert checked >= 30  # every lead up to 29 days


def test_one_issue_gives_no_standard_error_and_no_verdict_saying_why(scored):
    _, _, found = scored
    for lead in found["leads"]:
        for level in lead["levels"].values():
            assert level["coverage"]["se"] is None
            if lead["scored"]:
                assert level["verdict"] == "too few windows"
                assert "too few independent issues" in level["difference"]["why"]
            else:
                assert level["verdict"] is None


def test_the_record_says_the_prices_came_from_an_exchange_and_its_backtest_beside(scored):
    served, _, found = scored
    assert (found["prices"], found["issues"]) == ("exchange", 1)
    assert found["prices_detail"] == "every price scored is an exchange's minute close"
    assert found["backtest_model_version"] == "test-1"
    assert found["first_issue"] == found["last_issue"]
    by_lead = {lead["lead_hours"]: lead for lead in found["leads"]}
    backtest = served.client.get("/model/btc-usd").get_json()["metrics"]["1d"]["prophet"]
    assert by_lead[24]["backtest_error"] == backtest["mape"]
    assert by_lead[24]["levels"]["80"]["backtest_coverage"] == backtest["coverage_by_level"]["80"]
    assert by_lead[2]["backtest_error"] is None  # no backtest horizon of 2 hours


def test_the_model_card_sums_the_record_up(scored):
    served, _, found = scored
    card = served.client.get("/model/btc-usd").get_json()
    summary = card["track_record"]
    assert summary["url"] == "/model/btc-usd/track-record"
    assert (summary["issues"], summary["scored"], summary["prices"]) == (
        1,
        found["scored"],
        "exchange",
    )
    assert summary["sentence"].startswith(f"Of 1 issued forecast, {found['scored']:,} leads are")
    assert "against the exchange's prices" in summary["sentence"]
    assert [lead["lead_hours"] for lead in summary["leads"]] == [
        lead["lead_hours"] for lead in found["leads"] if lead["scored"]
    ]


def test_replayed_minutes_are_named_a_replay_and_never_live(artifact_dir, real_minutes, tmp_path):
    url = f"sqlite:///{tmp_path / 'market.db'}"
    served = serving(artifact_dir, url)
    served.serve()
    replayed = [dataclasses.replace(bar, source="replay", shift=3600) for bar in real_minutes]
    write_minutes(url, replayed)
    found = track(served)
    assert found["prices"] == "replay"
    assert "not live data" in found["prices_detail"]
    assert all(lead["replayed"] == lead["scored"] for lead in found["leads"])
    sentence = served.client.get("/model/btc-usd").get_json()["track_record"]["sentence"]
    assert "replayed minutes (a rehearsal, not live data)" in sentence
    assert "live minutes" not in sentence
    metrics = served.client.get("/metrics").get_data(as_text=True)
    assert 'cryptopredict_track_record_scored{asset="btc-usd",lead_hours="1",prices="replay"}' in (
        metrics
    )


def test_the_gauges_hold_the_record(scored):
    served, _, found = scored
    metrics = served.client.get("/metrics").get_data(as_text=True)
    lead = next(lead for lead in found["leads"] if lead["lead_hours"] == 24)
    labels = 'asset="btc-usd",lead_hours="24",level="80",prices="exchange"'
    coverage = lead["levels"]["80"]["coverage"]["mean"]
    assert f"cryptopredict_track_record_coverage{{{labels}}} {coverage}" in metrics
    assert "cryptopredict_track_record_coverage_se{" not in metrics  # one issue: no SE
    naive = 'asset="btc-usd",forecast="naive",lead_hours="24",level="80",prices="exchange"'
    assert f"cryptopredict_track_record_interval_score{{{naive}}}" in metrics


def test_before_any_minute_database_it_is_a_404_and_the_card_says_nothing(artifact_dir, tmp_path):
    served = serving(artifact_dir, f"sqlite:///{tmp_path / 'none.db'}")
    answer = served.client.get("/model/btc-usd/track-record")
    assert (answer.status_code, answer.get_json()["error"]) == (404, "no_minute_data")
    assert served.client.get("/model/btc-usd").get_json()["track_record"] is None


def test_an_unreadable_database_is_a_503(artifact_dir, tmp_path):
    (tmp_path / "garbage.db").write_bytes(b"\x00" * 4096)
    served = serving(artifact_dir, f"sqlite:///{tmp_path / 'garbage.db'}")
    answer = served.client.get("/model/btc-usd/track-record")
    assert (answer.status_code, answer.get_json()["error"]) == (503, "minute_data_unavailable")


def test_with_minutes_but_nothing_archived_it_says_so(artifact_dir, real_minutes, tmp_path):
    url = f"sqlite:///{tmp_path / 'market.db'}"
    write_minutes(url, real_minutes[:10])
    served = serving(artifact_dir, url)
    found = track(served, "eth-usd")  # opened now, archived in the background: not read yet
    assert found["issues"] in (0, 1)
    assert found["detail"]


def _rows(count: int, spacing: int, leads: list[int], price: float) -> Archived:
    """`count` issues `spacing` apart, each at `leads`, with a served band of ±1% and naive's
    of ±2% around `price`, and prices at every instant wandering deterministically."""
    data_until = np.repeat(1_700_000_000 + spacing * np.arange(count), len(leads))
    lead = np.tile(np.array(leads), count)
    valid_at = data_until + lead
    width = {
        "point": 0.0,
        **{
            f"{s}_{lv}": (-1 if s == "low" else 1) * lv / 8000
            for lv in LEVELS
            for s in ("low", "high")
        },
    }
    served = np.array([[price * (1 + width[name]) for name in VALUES]] * len(lead))
    naive = np.array([[price * (1 + 2 * width[name]) for name in VALUES]] * len(lead))
    close = price * (1 + 0.012 * np.sin(valid_at / 7919.0))
    return Archived(
        model_version=[f"v{at}" for at in data_until.tolist()],
        data_until=data_until,
        issued_at=data_until + 600,
        lead=lead,
        valid_at=valid_at,
        served=served,
        naive=naive,
        close=close,
        source=["binance"] * len(lead),
    )


def test_standard_errors_come_with_enough_independent_issues_and_say_why_not_otherwise():
    rows = _rows(count=40, spacing=6 * HOUR, leads=[HOUR, 30 * DAY], price=100.0)
    found = record(rows, now=2_000_000_000)
    short, long = found.leads
    assert (short.scored, short.independent) == (40, 40)
    for level in short.levels:
        assert level.difference.se is not None
        assert level.difference.se > 0
        assert level.verdict() is not None
    assert long.independent == 1
    for level in long.levels:
        assert level.difference.se is None
        assert "too few independent issues" in (level.difference.why or "")
        assert level.verdict() == "too few windows"


def test_a_standard_error_of_nothing_is_never_given_as_zero():
    """All 40 prices inside the 95% band: its coverage is 1, with no standard error (never
    "100% +/- 0"), saying why."""
    rows = _rows(count=40, spacing=6 * HOUR, leads=[HOUR], price=100.0)
    rows = dataclasses.replace(rows, close=np.full(len(rows.close), 100.0))
    [lead] = record(rows, now=2_000_000_000).leads
    held = next(level for level in lead.levels if level.level == 95)
    assert held.coverage.mean == 1.0
    assert held.coverage.se is None
    assert "no spread" in (held.coverage.why or "")


def test_issues_are_independent_when_a_lead_apart():
    times = np.array([0, 1, 2, 5, 6, 10]) * HOUR
    assert independent_issues(times, HOUR) == 6
    assert independent_issues(times, 2 * HOUR) == 4  # 0, 2, 5, 10
    assert independent_issues(times, 5 * HOUR) == 3  # 0, 5, 10
    assert independent_issues(times[:0], HOUR) == 0


def test_not_yet_due_is_not_scored(artifact_dir, tmp_path):
    url = f"sqlite:///{tmp_path / 'market.db'}"
    served = serving(artifact_dir, url)
    served.serve()
    year = next(lead for lead in track_or_empty(served, url) if lead["lead_hours"] == 365 * 24)
    assert (year["issued"], year["due"], year["scored"]) == (1, 0, 0)


def track_or_empty(served, url) -> list[dict]:
    write_minutes(url, bars_at("btc-usd", [1_785_081_600], [65_000.0], "binance"))
    return track(served)["leads"]


def test_times_are_instants(scored):
    _, url, found = scored
    first_scored = next(lead for lead in found["leads"] if lead["scored"])
    lead, at = archived_leads(url)[0]
    assert first_scored["first"] == iso_utc(at)
    assert first_scored["lead_hours"] == lead / HOUR
