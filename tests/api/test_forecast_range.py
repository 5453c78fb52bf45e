"""`/bitcoin/forecast`: the series for charts, as JSON columns or CSV, capped in size."""

from __future__ import annotations

import csv
import dataclasses
import io
from datetime import datetime

import numpy as np
import pytest

from cryptopredict.api.app import create_app
from cryptopredict.utc import iso_utc
from tests.api.artifacts import HOUR, PROPHET_DEPRECATION
from tests.artifact_files import load_artifacts

pytestmark = PROPHET_DEPRECATION
DAY = 24 * HOUR


def test_by_default_the_last_30_days_and_a_year_ahead(client, facts, conforms):
    response = client.get("/bitcoin/forecast")
    assert response.status_code == 200
    conforms("/bitcoin/forecast", response)
    series = response.get_json()
    start = max(facts.first, facts.data_end - 30 * DAY)
    assert series["start"] == iso_utc(start)
    assert series["end"] == iso_utc(facts.data_end + 365 * DAY)
    assert series["date"][0] == series["start"]
    assert series["date"][-1] == series["end"]
    count = (facts.data_end + 365 * DAY - start) // HOUR + 1
    assert series["count"] == len(series["date"]) == count
    assert series["interval"] == "1h"
    assert series["model_version"] == facts.model_version


@pytest.mark.parametrize("level", [50, 80, 95])
def test_the_range_matches_the_grid_and_the_history(client, artifacts, facts, conforms, level):
    start, end = facts.data_end - 3 * HOUR, facts.data_end + 2 * HOUR
    query = f"start={iso_utc(start)}&end={iso_utc(end)}"
    response = client.get(f"/bitcoin/forecast?{query}" + ("" if level == 80 else f"&level={level}"))
    conforms("/bitcoin/forecast", response)
    series = response.get_json()
    grid, history = artifacts["btc-usd"].grid, artifacts["btc-usd"].history
    instants = grid.ds + HOUR  # the row labelled by a bar's open time is of its close
    inside = (instants >= start) & (instants <= end)
    assert series["date"] == [iso_utc(int(ds)) for ds in instants[inside]]
    expected = np.column_stack([grid.yhat, grid.lower(level), grid.upper(level)])[inside]
    expected[3] = history["close"][-1]  # at the data's end the forecast at lead 0: no band
    shown = [series["prediction"], series["prediction_low"], series["prediction_high"]]
    assert shown == np.round(expected, 2).T.tolist()
    assert (series["level"], series["interval_width"]) == (level, level / 100)
    # Before the data's end the points are the hindcast, beside the closes; then the forecast.
    assert series["data_until"] == iso_utc(facts.data_end) == series["date"][3]
    assert series["actual"][:4] == np.round(history["close"][-4:], 2).tolist()
    assert series["actual"][4:] == [None, None]


def test_the_range_refuses_a_level_that_is_not_served(client):
    response = client.get("/forecast/btc-usd/range?level=99")
    assert response.status_code == 400
    assert "use one of 50, 80, 95" in response.get_json()["detail"]


def test_points_of_a_missing_bar_have_no_actual(client, facts):
    query = f"start={iso_utc(facts.gap - HOUR)}&end={iso_utc(facts.gap + HOUR)}"
    series = client.get(f"/bitcoin/forecast?{query}").get_json()
    assert series["actual"][1] is None
    assert None not in (series["actual"][0], series["actual"][2])


def test_bounds_between_grid_points_take_the_points_inside(client, facts):
    query = f"start={iso_utc(facts.data_end + 1)}&end={iso_utc(facts.data_end + 3 * HOUR - 1)}"
    series = client.get(f"/bitcoin/forecast?{query}").get_json()
    assert series["count"] == 2
    empty = client.get(
        f"/bitcoin/forecast?start={iso_utc(facts.data_end + 1)}&end={iso_utc(facts.data_end + 2)}"
    )
    assert empty.status_code == 200
    assert empty.get_json()["count"] == 0


def test_csv_has_one_row_per_point(client, facts, conforms):
    query = f"start={iso_utc(facts.data_end - HOUR)}&end={iso_utc(facts.data_end + HOUR)}"
    response = client.get(f"/bitcoin/forecast?{query}&format=csv")
    assert response.status_code == 200
    conforms("/bitcoin/forecast", response)
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [row["date"] for row in rows] == [iso_utc(facts.data_end + h * HOUR) for h in (-1, 0, 1)]
    assert rows[0]["actual"]
    assert not rows[2]["actual"]
    assert [row["kind"] for row in rows] == ["hindcast", "forecast", "forecast"]
    assert all(float(row["prediction_low"]) <= float(row["prediction"]) for row in rows)


def test_only_start_runs_a_year_ahead_and_only_end_starts_30_days_before(client, facts):
    since = client.get(f"/bitcoin/forecast?start={iso_utc(facts.data_end)}").get_json()
    assert since["end"] == iso_utc(facts.data_end + 365 * DAY)
    until = client.get(f"/bitcoin/forecast?end={iso_utc(facts.data_end - DAY)}").get_json()
    assert until["start"] == iso_utc(max(facts.first, facts.data_end - 31 * DAY))


def test_a_range_far_ahead_comes_from_the_grid(client, artifacts, facts, conforms):
    start = facts.grid_end - 40 * DAY
    response = client.get(f"/bitcoin/forecast?start={iso_utc(start)}&end={iso_utc(facts.grid_end)}")
    assert response.status_code == 200
    conforms("/bitcoin/forecast", response)
    series = response.get_json()
    assert series["count"] == 40 * 24 + 1
    grid = artifacts["btc-usd"].grid
    assert series["prediction"] == np.round(grid.yhat[-series["count"] :], 2).tolist()
    only_start = client.get(f"/bitcoin/forecast?start={iso_utc(facts.grid_end - DAY)}")
    assert only_start.get_json()["count"] == 24 + 1  # 30 days after start, within the grid


def test_the_point_cap_is_a_setting_and_answers_422(artifacts, settings, facts, conforms):
    app = create_app(artifacts, dataclasses.replace(settings, forecast_max_points=24))
    client = app.test_client()
    end = iso_utc(facts.data_end)
    ok = client.get(f"/bitcoin/forecast?start={iso_utc(facts.data_end - 23 * HOUR)}&end={end}")
    assert ok.status_code == 200
    over = client.get(f"/bitcoin/forecast?start={iso_utc(facts.data_end - 24 * HOUR)}&end={end}")
    assert over.status_code == 422
    conforms("/bitcoin/forecast", over)
    assert over.get_json()["error"] == "too_many_points"
    assert "25 points" in over.get_json()["detail"]
    assert "at most 24" in over.get_json()["detail"]


def test_a_step_answers_the_grid_points_that_open_each_step(client, artifacts, facts, conforms):
    start, end = facts.data_end - 2 * DAY, facts.grid_end
    query = f"start={iso_utc(start)}&end={iso_utc(end)}&step=1d"
    response = client.get(f"/bitcoin/forecast?{query}")
    assert response.status_code == 200
    conforms("/bitcoin/forecast", response)
    series = response.get_json()
    grid, history = artifacts["btc-usd"].grid, artifacts["btc-usd"].history
    instants = grid.ds + HOUR
    days = (instants >= start) & (instants <= end) & (instants % DAY == 0)
    assert series["interval"] == "1d"
    assert series["count"] == days.sum() > 365 * 3
    assert series["date"] == [iso_utc(int(ds)) for ds in instants[days]]
    assert all(date.endswith("T00:00:00Z") for date in series["date"])
    assert series["prediction"] == np.round(grid.yhat[days], 2).tolist()
    assert series["prediction_high"] == np.round(grid.upper(80)[days], 2).tolist()
    in_history = [ds for ds in instants[days] if ds <= facts.data_end]
    closed = (history.ds + HOUR).tolist()
    closes = dict(zip(closed, np.round(history["close"], 2).tolist(), strict=True))
    assert series["actual"][: len(in_history)] == [closes.get(int(ds)) for ds in in_history]
    assert set(series["actual"][len(in_history) :]) == {None}


def test_the_whole_horizon_fits_the_cap_at_a_coarser_step(artifacts, settings, facts):
    app = create_app(artifacts, dataclasses.replace(settings, forecast_max_points=2000))
    client = app.test_client()
    whole = f"start={iso_utc(facts.first)}&end={iso_utc(facts.grid_end)}"
    refused = client.get(f"/bitcoin/forecast?{whole}")
    assert refused.status_code == 422
    assert "ask for a coarser step" in refused.get_json()["detail"]
    for step, spacing in (("1d", DAY), ("2d", 2 * DAY), ("1w", 7 * DAY)):
        series = client.get(f"/bitcoin/forecast?{whole}&step={step}").get_json()
        assert series["count"] <= 2000
        assert set(np.diff([_epoch(date) for date in series["date"]])) == {spacing}, step
    weeks = client.get(f"/bitcoin/forecast?{whole}&step=1w").get_json()["date"]
    assert {_weekday(date) for date in weeks} == {0}  # weeks open on Monday, as candles do


def test_a_step_in_csv_and_for_another_asset(client, artifacts):
    eth = artifacts["eth-usd"]
    start, end = int(eth.history.ds[-1]) - 30 * DAY, int(eth.history.ds[-1])
    query = f"start={iso_utc(start)}&end={iso_utc(end)}&step=1w&format=csv"
    response = client.get(f"/forecast/eth-usd/range?{query}")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert 4 <= len(rows) <= 5
    assert {_weekday(row["date"]) for row in rows} == {0}
    assert all(row["actual"] for row in rows)  # inside ETH's history, one bar a day


@pytest.mark.parametrize(
    ("path", "query", "expected"),
    [
        ("/bitcoin/forecast", "step=30m", (422, "unsupported_interval", "step 30m is finer than")),
        (
            "/bitcoin/forecast",
            "step=90m",
            (422, "unsupported_interval", "no multiple of the stored"),
        ),
        (
            "/forecast/eth-usd/range",
            "step=12h",
            (422, "unsupported_interval", "the stored 1d bars"),
        ),
        ("/bitcoin/forecast", "step=1y", (400, "bad_request", "step='1y' is not an interval")),
        ("/bitcoin/forecast", "step=", (400, "bad_request", "is not an interval")),
        ("/bitcoin/forecast", "step=1d&step=1w", (400, "bad_request", "step is given 2 times")),
    ],
)
def test_a_bad_step_is_a_clear_json_error(client, conforms, path, query, expected):
    response = client.get(f"{path}?{query}")
    route = "/bitcoin/forecast" if path.startswith("/bitcoin") else "/forecast/{asset}/range"
    conforms(route, response)
    body = response.get_json()
    assert (response.status_code, body["error"]) == expected[:2]
    assert expected[2] in body["detail"]


def _epoch(date: str) -> int:
    return int(datetime.fromisoformat(date.replace("Z", "+00:00")).timestamp())


def _weekday(date: str) -> int:
    return datetime.fromisoformat(date.replace("Z", "+00:00")).weekday()


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("format=xml", 400),
        ("format=", 400),  # was answered as JSON, though the document allows only json or csv
        ("format=json&format=csv", 400),
        ("start=soon", 400),
        ("end=2026-07-20&end=2026-07-21", 400),
        ("start=2020-01-01", 422),
        ("end=2099-01-01", 422),
        ("start=2026-07-20&end=2026-07-19", 422),
        ("start=2026-07-01&end=2029-07-01", 422),
    ],
)
def test_bad_ranges_get_json_errors(client, conforms, query, status):
    response = client.get(f"/bitcoin/forecast?{query}")
    assert response.status_code == status
    conforms("/bitcoin/forecast", response)
    assert set(response.get_json()) == {"error", "detail"}


def test_hindcast_rows_older_than_the_band_choice_data_are_labelled(client, artifacts, conforms):
    boundary = artifacts["btc-usd"].manifest.backtest_boundary
    assert boundary is not None
    # Chosen on the bars opening up to the boundary: on the prices up to their close.
    chosen_until = int(boundary.last_validation_outcome.timestamp()) + HOUR
    data_end = int(artifacts["btc-usd"].history.ds[-1]) + HOUR
    assert artifacts["btc-usd"].history.ds[0] < chosen_until < data_end  # rows on both sides
    start, end = chosen_until - 2 * HOUR + 1, chosen_until + 2 * HOUR  # 2 rows up to it, 2 after
    response = client.get(f"/forecast/btc-usd/range?start={iso_utc(start)}&end={iso_utc(end)}")
    conforms("/forecast/{asset}/range", response)
    series = response.get_json()
    assert series["band_chosen_until"] == iso_utc(chosen_until)
    assert series["band_chosen_later"] == [True, True, False, False]
    at_end = client.get(
        f"/forecast/btc-usd/range?start={iso_utc(data_end)}&end={iso_utc(data_end + HOUR)}"
    ).get_json()
    assert at_end["band_chosen_later"] == [False, False]  # the last bar's hindcast, the forecast
    rows = list(
        csv.DictReader(
            io.StringIO(
                client.get(
                    f"/forecast/btc-usd/range?start={iso_utc(start)}&end={iso_utc(end)}&format=csv"
                ).get_data(as_text=True)
            )
        )
    )
    assert [row["band_chosen_later"] for row in rows] == ["true", "true", "false", "false"]


def test_without_a_backtest_no_row_is_labelled_as_chosen_later(no_backtest_dir, settings):
    app = create_app(load_artifacts(no_backtest_dir), settings)
    series = app.test_client().get("/forecast/btc-usd/range").get_json()
    assert series["band_chosen_until"] is None
    assert series["count"] > 0
    assert not any(series["band_chosen_later"])
