"""`/bitcoin`: the forecast at one instant, from the grid and the history."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest

from cryptopredict.utc import iso_utc
from tests.api.artifacts import DAY, HOUR, PROPHET_DEPRECATION

pytestmark = PROPHET_DEPRECATION

REFERENCE_KEYS = {"date", "prediction", "prediction_low", "prediction_high"}


def grid_row(artifacts, epoch: int, level: int = 80) -> tuple[float, float, float]:
    """The grid's values for the instant `epoch`: its row labelled by the open time of the bar
    that closes then."""
    grid = artifacts["btc-usd"].grid
    index = int(np.flatnonzero(grid.ds == epoch - HOUR)[0])
    return tuple(
        float(values[index]) for values in (grid.yhat, grid.lower(level), grid.upper(level))
    )


def test_a_grid_point_answers_with_the_grid_values_and_the_reference_keys(
    client, artifacts, facts, conforms
):
    epoch = facts.data_end + 5 * HOUR
    response = client.get(f"/bitcoin?date={iso_utc(epoch)}")
    assert response.status_code == 200
    conforms("/bitcoin", response)
    answer = response.get_json()
    assert answer.keys() >= REFERENCE_KEYS | {"interval_width", "model_version"}
    assert "actual" not in answer  # past the history
    yhat, low, high = grid_row(artifacts, epoch)
    assert answer["date"] == iso_utc(epoch)
    assert answer["prediction"] == round(yhat, 2)
    assert answer["prediction_low"] == round(low, 2)
    assert answer["prediction_high"] == round(high, 2)
    assert answer["prediction_low"] <= answer["prediction"] <= answer["prediction_high"]
    assert answer["interval_width"] == 0.8
    assert answer["level"] == 80
    assert answer["kind"] == "forecast"
    assert answer["data_until"] == iso_utc(facts.data_end)  # the last bar's close
    assert answer["lead_hours"] == 5
    assert answer["model_version"] == facts.model_version


@pytest.mark.parametrize("level", [50, 80, 95])
def test_level_chooses_the_band_of_the_same_forecast(client, artifacts, facts, conforms, level):
    for epoch in (facts.first + 30 * HOUR, facts.data_end + 5 * HOUR):
        response = client.get(f"/bitcoin?date={iso_utc(epoch)}&level={level}")
        conforms("/bitcoin", response)
        answer = response.get_json()
        yhat, low, high = grid_row(artifacts, epoch, level)
        assert (answer["prediction"], answer["prediction_low"], answer["prediction_high"]) == (
            round(yhat, 2),
            round(low, 2),
            round(high, 2),
        )
        assert (answer["level"], answer["interval_width"]) == (level, level / 100)
    bands = [
        client.get(f"/bitcoin?date={iso_utc(facts.data_end + DAY)}&level={level}").get_json()
        for level in (50, 80, 95)
    ]
    assert bands[0]["prediction_low"] > bands[1]["prediction_low"] > bands[2]["prediction_low"]
    assert bands[0]["prediction_high"] < bands[1]["prediction_high"] < bands[2]["prediction_high"]
    assert len({answer["prediction"] for answer in bands}) == 1


@pytest.mark.parametrize("level", ["", "90", "0.8", "80.0", "eighty", "-80", "800"])
def test_a_level_that_is_not_served_is_a_400_naming_the_served_ones(client, facts, conforms, level):
    response = client.get(f"/bitcoin?date={iso_utc(facts.data_end)}&level={level}")
    assert response.status_code == 400
    conforms("/bitcoin", response)
    assert response.get_json()["detail"].endswith("is not served; use one of 50, 80, 95 (percent)")
    repeated = client.get(f"/bitcoin?date={iso_utc(facts.data_end)}&level=50&level=95")
    assert repeated.status_code == 400


def test_inside_the_history_the_answer_is_a_hindcast_made_before_the_date(
    client, artifacts, facts, conforms
):
    grid = artifacts["btc-usd"].grid
    for epoch in (facts.first + 7 * HOUR, facts.data_end - 3 * HOUR):
        response = client.get(f"/bitcoin?date={iso_utc(epoch)}")
        conforms("/bitcoin", response)
        answer = response.get_json()
        # The row of the bar closing at `epoch`; its origin is a bar's open time.
        origin = int(grid.origin[np.flatnonzero(grid.ds == epoch - HOUR)[0]])
        assert answer["kind"] == "hindcast"
        assert "actual" in answer
        assert origin + HOUR < epoch
        assert answer["data_until"] == iso_utc(origin + HOUR)  # when that bar closed
        assert answer["lead_hours"] == (epoch - origin - HOUR) / HOUR
        assert 0 < answer["lead_hours"] <= 6  # retrained every six hours
    # Between two grid points the answer has seen what the later of the two had seen.
    halfway = client.get(f"/bitcoin?date={iso_utc(facts.data_end - HOUR // 2)}").get_json()
    assert halfway["data_until"] == iso_utc(int(grid.origin[grid.ds == facts.last_bar][0]) + HOUR)
    # At the data's end itself, the forecast at lead 0: the last close, no band (issue 117).
    end = client.get(f"/bitcoin?date={iso_utc(facts.data_end)}").get_json()
    assert (end["kind"], end["lead_hours"], end["data_until"]) == ("forecast", 0, end["date"])
    close = artifacts["btc-usd"].history["close"][-1]
    assert end["prediction_low"] == end["prediction_high"] == end["prediction"] == round(close, 2)
    # The first stored bar's close answers too: it had no earlier data, so it is its own origin.
    first = client.get(f"/bitcoin?date={iso_utc(facts.first)}").get_json()
    assert (first["kind"], first["lead_hours"]) == ("hindcast", 0)


def test_a_hindcast_says_whether_its_band_was_chosen_on_later_data(client, artifacts, facts):
    boundary = artifacts["btc-usd"].manifest.backtest_boundary
    assert boundary is not None
    # Chosen on the bars opening up to `until`: on the prices up to its close.
    until = int(boundary.last_validation_outcome.timestamp()) + HOUR
    before, after = until - until % HOUR, until - until % HOUR + HOUR
    assert facts.first < before < after < facts.data_end
    answers = [client.get(f"/bitcoin?date={iso_utc(at)}").get_json() for at in (before, after)]
    assert [answer["band_chosen_later"] for answer in answers] == [True, False]
    ahead = client.get(f"/bitcoin?date={iso_utc(facts.data_end + HOUR)}").get_json()
    assert "band_chosen_later" not in ahead  # the forecast: no hindcast, nothing chosen later


def test_between_grid_points_values_are_interpolated_linearly(client, artifacts, facts):
    start = facts.data_end + 10 * HOUR
    before, after = grid_row(artifacts, start), grid_row(artifacts, start + HOUR)
    answer = client.get(f"/bitcoin?date={iso_utc(start + 15 * 60)}").get_json()
    assert answer["prediction"] == pytest.approx(before[0] + (after[0] - before[0]) / 4, abs=0.01)
    assert answer["prediction_high"] == pytest.approx(
        before[2] + (after[2] - before[2]) / 4, abs=0.01
    )


def test_inside_the_history_the_price_at_the_instant_comes_along(
    client, artifacts, facts, conforms
):
    """The price at t: the close of the bar that ends at t (it opened an hour before)."""
    history = artifacts["btc-usd"].history
    epoch = int(history["ds"][10]) + HOUR
    response = client.get(f"/bitcoin?date={iso_utc(epoch)}")
    conforms("/bitcoin", response)
    assert response.get_json()["actual"] == round(float(history["close"][10]), 2)
    halfway = client.get(f"/bitcoin?date={iso_utc(epoch + HOUR // 2)}").get_json()
    expected = (history["close"][10] + history["close"][11]) / 2
    assert halfway["actual"] == pytest.approx(expected, abs=0.01)


def test_a_missing_bar_inside_the_history_gives_a_null_actual(client, facts, conforms):
    response = client.get(f"/bitcoin?date={iso_utc(facts.gap)}")
    conforms("/bitcoin", response)
    assert response.get_json()["actual"] is None
    assert response.get_json()["prediction"] > 0


def test_answers_are_deterministic(client, app, facts):
    url = f"/bitcoin?date={iso_utc(facts.data_end + 30 * HOUR + 17)}"
    first = client.get(url).data
    assert all(client.get(url).data == first for _ in range(5))
    again = app.test_client().get(url).data
    assert again == first


def test_three_years_after_the_last_bar_answers_from_the_grid(client, artifacts, facts, conforms):
    epoch = facts.data_end + 3 * 365 * DAY
    assert epoch <= facts.grid_end
    response = client.get(f"/bitcoin?date={iso_utc(epoch)}")
    assert response.status_code == 200
    conforms("/bitcoin", response)
    yhat, low, high = grid_row(artifacts, epoch)
    answer = response.get_json()
    assert (answer["prediction"], answer["prediction_low"], answer["prediction_high"]) == (
        round(yhat, 2),
        round(low, 2),
        round(high, 2),
    )


def test_serving_never_reads_the_model(artifact_dir, tmp_path, settings, facts):
    """The pickle may change or vanish once the server runs: every answer comes from the grid."""
    import shutil

    from cryptopredict.api.app import create_app
    from tests.artifact_files import load_artifacts

    copy = shutil.copytree(artifact_dir, tmp_path / "artifacts")
    client = create_app(load_artifacts(copy), settings).test_client()
    before = [
        client.get(f"/bitcoin?date={iso_utc(epoch)}").data
        for epoch in (facts.first, facts.data_end, facts.grid_end - 1800, facts.grid_end)
    ]
    (copy / "btc-usd" / "model.pkl").unlink()
    after = [
        client.get(f"/bitcoin?date={iso_utc(epoch)}").data
        for epoch in (facts.first, facts.data_end, facts.grid_end - 1800, facts.grid_end)
    ]
    assert after == before
    assert client.get(f"/bitcoin/forecast?start={iso_utc(facts.grid_end - DAY)}").status_code == 200


@pytest.mark.parametrize(
    ("query", "status", "error"),
    [
        ("", 400, "bad_request"),
        ("?date=", 400, "bad_request"),
        ("?day=2026-07-20", 400, "bad_request"),
        ("?date=2026-07-20&date=2026-07-21", 400, "bad_request"),
        ("?date=yesterday", 400, "bad_request"),
        ("?date=2026-02-30", 400, "bad_request"),
        ("?date=0000-01-01", 400, "bad_request"),
        ("?date=99999-01-01", 400, "bad_request"),
        ("?date=%F0%9F%92%A9", 400, "bad_request"),
        ("?date=%FF%FE", 400, "bad_request"),
        ("?date=2026-07-20T12:00%2B05:30.5", 400, "bad_request"),
        ("?date=" + "9" * 10_000, 400, "bad_request"),
        ("?date=2020-01-01", 422, "out_of_range"),
        ("?date=0001-01-01T00:00%2B01:00", 422, "out_of_range"),
        ("?date=2099-01-01", 422, "out_of_range"),
        ("?date=9999-12-31T23:59:59-23:59", 422, "out_of_range"),
    ],
)
def test_bad_dates_get_json_errors_that_say_what_to_do(client, conforms, query, status, error):
    response = client.get("/bitcoin" + query)
    assert response.status_code == status
    conforms("/bitcoin", response)
    assert response.get_json()["error"] == error
    assert response.get_json()["detail"]
    assert response.headers["Cache-Control"] == "no-store"


def test_out_of_range_names_the_valid_range(client, facts):
    detail = client.get("/bitcoin?date=2020-01-01").get_json()["detail"]
    assert "before the history" in detail
    assert iso_utc(facts.first) in detail
    far = client.get("/bitcoin?date=2099-01-01").get_json()["detail"]
    assert "too far ahead" in far
    assert iso_utc(facts.data_end + 1096 * 86_400) in far


def test_the_horizon_is_a_setting(artifacts, settings, facts):
    import dataclasses

    from cryptopredict.api.app import create_app

    short = create_app(artifacts, dataclasses.replace(settings, max_horizon_days=1.0))
    client = short.test_client()
    # the grid reaches further, but the API answers only one day past the last bar
    assert client.get(f"/bitcoin?date={iso_utc(facts.data_end + DAY)}").status_code == 200
    assert client.get(f"/bitcoin?date={iso_utc(facts.data_end + DAY + 1)}").status_code == 422
    assert client.get(f"/bitcoin?date={iso_utc(facts.grid_end)}").status_code == 422


@pytest.mark.parametrize(
    ("route", "template"), [("/bitcoin", "/bitcoin"), ("/forecast/eth-usd", "/forecast/{asset}")]
)
def test_without_a_date_the_400_shows_what_to_ask_with_the_next_hour(
    client, route, template, conforms
):
    """Issue 84: many users try `/bitcoin` first. It names no instant, so it guesses none; its
    `detail` writes out the next hour, which the route then answers."""
    before = (int(time.time()) // HOUR + 1) * HOUR
    response = client.get(route)
    after = (int(time.time()) // HOUR + 1) * HOUR
    assert response.status_code == 400
    conforms(template, response)
    detail = response.get_json()["detail"]
    found = re.fullmatch(
        r"the query parameter date is missing; give the instant to forecast, e\.g\. "
        r"date=(\S+) \(the next hour\) or date=(\d{4}-\d\d-\d\d)",
        detail,
    )
    assert found, detail
    assert found.group(1) in {iso_utc(before), iso_utc(after)}
    assert found.group(2) == found.group(1)[:10]
    assert client.get(f"{route}?date={found.group(1)}").status_code == 200


def test_past_the_longest_lead_scored_the_answer_says_its_band_is_untested(
    client, artifacts, facts, conforms
):
    """Issue 117: past the longest lead the band was calibrated and scored at (the panel's 30
    days), `untested` is true and the note says so; a range says from when (`untested_after`)."""
    longest = max(artifacts["btc-usd"].manifest.postprocess.band_hours)
    at = facts.data_end + round(longest * HOUR)
    scored, past = (client.get(f"/bitcoin?date={iso_utc(when)}") for when in (at, at + HOUR))
    conforms("/bitcoin", past)
    scored, past = scored.get_json(), past.get_json()
    assert (scored["untested"], past["untested"]) == (False, True)
    assert f"The band is untested past {longest:g} hours ahead" in past["note"]
    assert "untested" not in scored.get("note", "")
    query = f"start={iso_utc(at)}&end={iso_utc(at + HOUR)}"
    series = client.get(f"/bitcoin/forecast?{query}").get_json()
    assert series["untested_after"] == iso_utc(at)
    assert "untested past" in series["note"]
