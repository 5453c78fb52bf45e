"""The track record as the API serves it (`/model/{asset}/track-record`, issue 61), read from
the record baked beside the fixture models: each issue scored lead by lead against the hourly
close at its instant (closes at the served point score no error, an hour off they do), figures
equal to an independent computation from the point answers and the closes, due and scored
counted apart, standard errors across issue times only where enough issues are independent,
the model card's summary, the gauges, and what is said with no record or a broken one."""

from __future__ import annotations

import lzma

import numpy as np
import pytest

from cryptopredict.api.serving.track_record import RecordRows, independent_issues, lead_record
from cryptopredict.artifact.record import SUFFIX, read_records, record_dir, write_record
from cryptopredict.artifact.record_rows import VALUES, PairRecord, RecordIssue
from cryptopredict.artifact.schema import LEVELS
from cryptopredict.collect.replay import read_minutes
from cryptopredict.standard_error import inside, interval_score
from cryptopredict.utc import iso_utc
from tests.api.artifacts import PROPHET_DEPRECATION
from tests.api.records import (
    HOUR,
    STARTED,
    baked,
    client_of,
    exact_within,
    exact_within_of,
    point_at,
)
from tests.paths import MINUTE_SAMPLE

pytestmark = PROPHET_DEPRECATION
DAY = 24 * HOUR
Z = (0.0, -0.6745, 0.6745, -1.2816, 1.2816, -1.96, 1.96)  # `VALUES` in standard deviations


def track(client, asset: str = "btc-usd") -> dict:
    answer = client.get(f"/model/{asset}/track-record")
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


@pytest.fixture(scope="module")
def real_closes(artifacts) -> dict[int, float]:
    """The embedded month of real minutes, moved to start at the fixture model's data end and
    scaled to its last close: the hourly closes (the close of each minute ending on the hour),
    up to 29 days after it."""
    sample = read_minutes(MINUTE_SAMPLE, "btc-usd")
    history = artifacts["btc-usd"].history
    data_end = int(history.ds[-1]) + HOUR
    offset = data_end - (sample[0].ts // HOUR) * HOUR
    scale = float(history["close"][-1]) / sample[0].open
    return {bar.ts + 60 + offset: bar.close * scale for bar in sample if (bar.ts + 60) % HOUR == 0}


@pytest.fixture(scope="module")
def scored(artifact_dir, real_closes, tmp_path_factory):
    model_dir = baked(artifact_dir, tmp_path_factory.mktemp("track") / "m", real_closes)
    client = client_of(model_dir)
    return client, track(client), model_dir


@pytest.mark.parametrize("shift", [0, HOUR], ids=["at its instant", "an hour off"])
def test_closes_at_the_served_point_score_no_error_and_an_hour_off_they_do(
    artifact_dir, tmp_path, facts, shift
):
    plain = client_of(artifact_dir)
    leads = [HOUR * hours for hours in (1, 2, 3, 6, 12, 24, 48, 24 * 7)]
    closes = {
        facts.data_end + lead: point_at(plain, "btc-usd", facts.data_end + lead + shift)[
            "prediction"
        ]
        for lead in leads
    }
    model_dir = baked(artifact_dir, tmp_path / "m", closes)
    client = client_of(model_dir)
    found = {lead["lead_hours"]: lead for lead in track(client)["leads"]}
    errors = [found[lead / HOUR]["error"]["mean"] for lead in leads]
    assert [found[lead / HOUR]["scored"] for lead in leads] == [1] * len(leads)
    within = [exact_within(model_dir, lead) for lead in leads]  # and never below 0
    if not shift:
        assert all(0 <= error <= near for error, near in zip(errors, within, strict=True))
        assert all(
            found[lead / HOUR]["levels"][str(level)]["coverage"]["mean"] == 1.0
            for lead in leads
            for level in LEVELS
        )
    else:
        assert min(errors) >= 0
        assert max(errors) > 1e-4


def test_the_record_equals_an_independent_computation_from_the_answers_and_closes(
    scored, real_closes, facts
):
    client, found, model_dir = scored
    checked = 0
    for lead in found["leads"]:
        at = facts.data_end + round(lead["lead_hours"] * HOUR)
        assert lead["issued"] == 1
        assert lead["due"] == int(at <= max(real_closes))
        if at not in real_closes:
            assert (lead["scored"], lead["error"]["mean"]) == (0, None)
            continue
        price = real_closes[at]
        assert lead["scored"] == 1
        answers = {level: point_at(client, "btc-usd", at, level) for level in LEVELS}
        within = exact_within(model_dir, at - facts.data_end)
        for level, answer in answers.items():
            low, high = answer["prediction_low"], answer["prediction_high"]
            mine = lead["levels"][str(level)]
            one = np.array([price])
            assert mine["coverage"]["mean"] == float(inside(one, low, high)[0])
            assert mine["interval_score"]["mean"] == pytest.approx(
                interval_score(one, np.array([low]), np.array([high]), level)[0], abs=within
            )
            assert mine["difference"]["mean"] == pytest.approx(
                mine["interval_score"]["mean"] - mine["naive_interval_score"], rel=1e-9, abs=1e-15
            )
        error = abs(price - point_at(client, "btc-usd", at)["prediction"]) / price
        assert lead["error"]["mean"] == pytest.approx(error, abs=within)
        assert lead["first"] == lead["last"] == iso_utc(at)
        checked += 1
    assert checked >= 30  # every lead up to 29 days


def test_one_issue_gives_no_standard_error_and_no_verdict_saying_why(scored):
    _, found, _ = scored
    for lead in found["leads"]:
        for level in lead["levels"].values():
            assert level["coverage"]["se"] is None
            if lead["scored"]:
                assert level["verdict"] == "too few windows"
                assert "too few independent issues" in level["difference"]["why"]
            else:
                assert level["verdict"] is None


def test_the_record_says_when_it_began_and_stands_beside_the_backtest(scored, real_closes):
    client, found, _ = scored
    assert (found["issues"], found["started_why"]) == (1, "the test's first release")
    assert found["as_of"] == iso_utc(max(real_closes))
    assert found["backtest_model_version"] == "test-1"
    assert found["first_issue"] == found["last_issue"]
    by_lead = {lead["lead_hours"]: lead for lead in found["leads"]}
    backtest = client.get("/model/btc-usd").get_json()["metrics"]["1d"]["prophet"]
    assert by_lead[24]["backtest_error"] == backtest["mape"]
    assert by_lead[24]["levels"]["80"]["backtest_coverage"] == backtest["coverage_by_level"]["80"]
    assert by_lead[2]["backtest_error"] is None  # no backtest horizon of 2 hours
    year = by_lead[365 * 24]
    assert (year["issued"], year["due"], year["scored"]) == (1, 0, 0)


def test_the_model_card_sums_the_record_up(scored):
    client, found, _ = scored
    summary = client.get("/model/btc-usd").get_json()["track_record"]
    assert summary["url"] == "/model/btc-usd/track-record"
    assert (summary["issues"], summary["scored"]) == (1, found["scored"])
    assert summary["sentence"].startswith(f"Of 1 issued forecast, {found['scored']:,} leads are")
    assert "against the exchange's hourly closes" in summary["sentence"]
    assert [lead["lead_hours"] for lead in summary["leads"]] == [
        lead["lead_hours"] for lead in found["leads"] if lead["scored"]
    ]


def test_the_gauges_hold_the_record(scored):
    client, found, _ = scored
    metrics = client.get("/metrics").get_data(as_text=True)
    lead = next(lead for lead in found["leads"] if lead["lead_hours"] == 24)
    labels = 'asset="btc-usd",lead_hours="24",level="80"'
    coverage = lead["levels"]["80"]["coverage"]["mean"]
    assert f"cryptopredict_track_record_coverage{{{labels}}} {coverage}" in metrics
    assert "cryptopredict_track_record_coverage_se{" not in metrics  # one issue: no SE
    naive = 'asset="btc-usd",forecast="naive",lead_hours="24",level="80"'
    assert f"cryptopredict_track_record_interval_score{{{naive}}}" in metrics
    assert "archive" not in metrics


def test_a_first_release_s_record_every_lead_pending_is_served(artifact_dir, tmp_path):
    """The record a first release bakes: its one issue, no close fetched yet, nothing scored
    (an empty table of scored rows was a 500)."""
    client = client_of(baked(artifact_dir, tmp_path / "m", {}))
    answer = track(client)
    assert answer["leads"]
    assert all(lead["scored"] == 0 for lead in answer["leads"]), answer["leads"][0]
    assert client.get("/model/btc-usd").status_code == 200


def test_without_a_baked_record_it_says_none_was_written(artifact_dir):
    client = client_of(artifact_dir)
    found = track(client)
    assert (found["issues"], found["scored"], found["started"], found["leads"]) == (0, 0, None, [])
    assert "holds no track record" in found["detail"]
    assert client.get("/model/btc-usd").get_json()["track_record"]["issues"] == 0


@pytest.mark.parametrize("damage", ["truncated", "another pair's"])
def test_a_broken_record_is_a_503_naming_it_and_the_card_answers_all_the_same(
    artifact_dir, real_closes, tmp_path, damage
):
    model_dir = baked(artifact_dir, tmp_path / "m", real_closes)
    file = record_dir(model_dir) / f"btc-usd{SUFFIX}"
    if damage == "truncated":
        file.write_bytes(file.read_bytes()[:-40])
    else:
        text = lzma.decompress(file.read_bytes()).replace(b"btc-usd", b"eth-usd")
        file.write_bytes(lzma.compress(text))
    client = client_of(model_dir)
    answer = client.get("/model/btc-usd/track-record")
    assert (answer.status_code, answer.get_json()["error"]) == (503, "track_record_unavailable")
    assert str(file) in answer.get_json()["detail"]
    card = client.get("/model/btc-usd")
    assert (card.status_code, card.get_json()["track_record"]) == (200, None)


def test_nothing_is_written_by_serving_the_record(scored):
    client, _, model_dir = scored

    def files() -> list[tuple[str, int]]:
        return sorted((str(path), path.stat().st_mtime_ns) for path in model_dir.rglob("*"))

    before = files()
    for route in ("/model/btc-usd/track-record", "/model/btc-usd", "/metrics", "/"):
        assert client.get(route).status_code == 200
    assert files() == before


def _rows(count: int, spacing: int, leads: list[int], price: float, wander: float = 0.012):
    """`count` issues `spacing` apart, each at `leads`, with a served band of ±1% and naive's
    of ±2% around `price`, scored on prices at every instant wandering deterministically."""
    width = {
        "point": 0.0,
        **{
            f"{s}_{lv}": (-1 if s == "low" else 1) * lv / 8000
            for lv in LEVELS
            for s in ("low", "high")
        },
    }
    kept = PairRecord("btc-usd", "BTC/USD", STARTED, 2_000_000_000)
    closes = {}
    for until in (1_700_000_000 + spacing * np.arange(count)).tolist():
        kept = kept.issued(
            RecordIssue(
                model_version=f"v{until}",
                data_until=until,
                issued_at=until,
                leads=leads,
                served=[[price * (1 + width[name]) for name in VALUES]] * len(leads),
                naive=[[price * (1 + 2 * width[name]) for name in VALUES]] * len(leads),
                closes=[None] * len(leads),
            )
        )
        closes.update(
            {until + lead: price * (1 + wander * np.sin((until + lead) / 7919.0)) for lead in leads}
        )
    return RecordRows.of(kept.scored_on(closes))


def test_standard_errors_come_with_enough_independent_issues_and_say_why_not_otherwise():
    rows = _rows(count=40, spacing=6 * HOUR, leads=[HOUR, 30 * DAY], price=100.0)
    short, long = (lead_record(rows, lead, now=2_000_000_000) for lead in (HOUR, 30 * DAY))
    assert (short.scored, short.independent) == (40, 40)
    for level in short.levels.values():
        assert level.difference.se is not None
        assert level.difference.se > 0
        assert level.verdict is not None
    assert long.independent == 1
    for level in long.levels.values():
        assert level.difference.se is None
        assert "too few independent issues" in (level.difference.why or "")
        assert level.verdict == "too few windows"


def test_a_standard_error_of_nothing_is_never_given_as_zero():
    """All 40 prices inside the 95% band: its coverage is 1, with no standard error (never
    "100% +/- 0"), saying why."""
    rows = _rows(count=40, spacing=6 * HOUR, leads=[HOUR], price=100.0, wander=0.0)
    lead = lead_record(rows, HOUR, now=2_000_000_000)
    held = lead.levels["95"]
    assert held.coverage.mean == 1.0
    assert held.coverage.se is None
    assert "no spread" in (held.coverage.why or "")


def test_issues_are_independent_when_a_lead_apart():
    times = np.array([0, 1, 2, 5, 6, 10]) * HOUR
    assert independent_issues(times, HOUR) == 6
    assert independent_issues(times, 2 * HOUR) == 4  # 0, 2, 5, 10
    assert independent_issues(times, 5 * HOUR) == 3  # 0, 5, 10
    assert independent_issues(times[:0], HOUR) == 0


def test_where_the_served_point_is_naive_s_their_errors_are_equal_exactly():
    """Every outcome is rounded plainly: where the difference of the point errors is 0 (the
    panel's damping at tau 0 serves the last close, as naive does), it is kept and shown as 0."""
    rows = _rows(count=40, spacing=6 * HOUR, leads=[HOUR, 30 * DAY], price=100.0)
    for lead in (HOUR, 30 * DAY):
        found = lead_record(rows, lead, now=2_000_000_000)
        assert found.scored == 40
        assert found.error_difference.mean == 0.0
        assert found.naive_error == found.error.mean


def test_a_lead_s_means_are_within_half_a_step_of_the_exact_ones_through_releases(tmp_path):
    """A scored row keeps each outcome rounded to its step (`artifact/record_rows.py`): every
    mean over a lead's issues, a single issue's included, is within half a step of the exact
    one, through releases that each score what fell due and write the record again."""
    leads, spacing, start = [HOUR, 7 * DAY, 30 * DAY], 6 * HOUR, 1_700_000_000
    wander = np.sin(np.arange(0, 40 * DAY, HOUR) / 7919.0) * 0.05
    price = {start + k * HOUR: 100.0 * (1 + w) for k, w in enumerate(wander.tolist())}
    issues = []
    for k in range(24):
        until, spread = start + k * spacing, 0.01 * (1 + (k % 5) / 4)
        band, naive = (
            [
                [price[until] * np.exp(z * wide * spread * (lead / HOUR) ** 0.5) for z in Z]
                for lead in leads
            ]
            for wide in (1.0, 1.3)
        )
        issues.append(RecordIssue(f"v{k}", until, until, leads, band, naive, [None] * len(leads)))
    kept = PairRecord("btc-usd", "BTC/USD", STARTED, start)
    for release, until in enumerate((start + 3 * DAY, start + 10 * DAY, start + 36 * DAY)):
        for issue in issues[release * 8 : release * 8 + 8]:
            kept = kept.issued(issue)
        kept = kept.scored_on({at: close for at, close in price.items() if at <= until})
        write_record(tmp_path / str(release), kept, None)
        kept = read_records(tmp_path / str(release))["btc-usd"]
    rows = RecordRows.of(kept)
    for position, lead in enumerate(leads):
        due = [issue for issue in issues if issue.data_until + lead <= start + 36 * DAY]
        close = np.array([price[issue.data_until + lead] for issue in due])
        band = np.array([issue.served[position] for issue in due])
        found = lead_record(rows, lead, now=start + 36 * DAY)
        assert found.scored == len(due) >= 1
        near = exact_within_of(kept, lead)
        assert found.error.mean == pytest.approx(
            np.mean(np.abs(close - band[:, 0]) / close), abs=near
        )
        for index, (level, mine) in enumerate(zip(LEVELS, found.levels.values(), strict=True)):
            low, high = band[:, 1 + 2 * index], band[:, 2 + 2 * index]
            exact = interval_score(close, low, high, level).mean()
            assert mine.interval_score.mean == pytest.approx(exact, abs=near)
