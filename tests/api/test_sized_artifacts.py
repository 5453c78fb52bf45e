"""Artifacts sized to what is served (issue 68, bar 2), on the suite's real trained models: the
same models written again keeping only their last `KEPT_DAYS` whole (the fixtures are shorter
than the `FULL_DAYS` a release keeps, so as written they keep every row and every bar) answer
every date they answered before. Answers inside those days, the forecast, every `actual`,
`data_until` and `lead_hours`, and the daily and weekly candles of the whole history are the
same byte for byte; before those days the hindcast's values are interpolated between two knots
of one origin (docs/api.md says by how much), and candles finer than a day are refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from flask.testing import FlaskClient

from cryptopredict.api.app import create_app
from cryptopredict.artifact.read import Artifact
from cryptopredict.artifact.store import open_artifacts
from cryptopredict.artifact.write import encode_artifact, install_artifact
from cryptopredict.candles import Interval, kept_candles
from cryptopredict.config import ApiSettings
from cryptopredict.utc import iso_utc
from tests.api.artifacts import DAY, HOUR, every_bar

KEPT_DAYS = 20
VALUES = ("prediction", "prediction_low", "prediction_high")


@pytest.fixture(scope="module")
def coarser_dir(artifacts: dict[str, Artifact], tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("coarser")
    for artifact in artifacts.values():
        files = encode_artifact(
            model=artifact.load_model(),
            grid=artifact.grid,
            history=every_bar(artifact),
            backtest=artifact.backtest,
            manifest=artifact.manifest,
            candles=kept_candles(every_bar(artifact), Interval.parse(artifact.manifest.interval)),
            full_days=KEPT_DAYS,
        )
        install_artifact(out, artifact.asset, files)
    return out


@pytest.fixture(scope="module")
def clients(artifact_dir, coarser_dir) -> tuple[FlaskClient, FlaskClient]:
    settings = ApiSettings(forecast_max_points=100_000, candles_max_points=100_000)
    before, after = (
        create_app(open_artifacts(directory), settings).test_client()
        for directory in (artifact_dir, coarser_dir)
    )
    return before, after


def test_the_coarser_artifact_is_smaller(artifact_dir, coarser_dir):
    """Forty of sixty days coarser: a third of their hindcast rows, a ninth of their bar data
    (the close of 7 columns: 4 bytes of 32 with the time), beside the forecast's knots."""
    sizes = {
        name: [
            (directory / "btc-usd" / name).stat().st_size
            for directory in (artifact_dir, coarser_dir)
        ]
        for name in ("grid.npy", "history.npy")
    }
    assert sizes["grid.npy"][1] < 0.85 * sizes["grid.npy"][0]
    assert sizes["history.npy"][1] < 0.6 * sizes["history.npy"][0]


def both(clients: tuple[FlaskClient, FlaskClient], url: str) -> tuple[dict, dict]:
    answers = [client.get(url) for client in clients]
    for answer in answers:
        assert answer.status_code == 200, (url, answer.get_json())
    return answers[0].get_json(), answers[1].get_json()


@pytest.mark.parametrize("level", [50, 80, 95])
def test_the_hourly_range_is_the_same_but_the_older_hindcast_s_values(clients, facts, level):
    url = f"/forecast/btc-usd/range?start={iso_utc(facts.first)}&end={iso_utc(facts.grid_end)}"
    before, after = both(clients, f"{url}&level={level}")
    assert {key: value for key, value in before.items() if key not in VALUES} == {
        key: value for key, value in after.items() if key not in VALUES
    }
    dates = np.array([np.datetime64(date[:-1], "s").astype(np.int64) for date in before["date"]])
    older = dates <= facts.last_bar - KEPT_DAYS * DAY + HOUR
    assert older.sum() > 24 * 30
    old, new = ({name: np.array(answer[name]) for name in VALUES} for answer in (before, after))
    for name in VALUES:
        assert np.array_equal(old[name][~older], new[name][~older]), name
    # Before the days kept whole: two knots an origin (its first and its sixth hour), the
    # values between interpolated; the band's bounds move by a fraction of its half-width.
    half = np.maximum(
        old["prediction_high"] - old["prediction"], old["prediction"] - old["prediction_low"]
    )[older]
    moved = np.maximum(
        *(np.abs(new[name] - old[name])[older] for name in ("prediction_low", "prediction_high"))
    ) / np.where(half > 0, half, np.inf)
    assert 0 < np.median(moved) < 0.15
    assert moved.max() < 0.7
    unchanged = np.mean(np.all([old[name][older] == new[name][older] for name in VALUES], 0))
    assert 0.3 < unchanged < 0.5  # two of each six hours: the knots


def test_every_point_keeps_its_data_until_lead_and_actual(clients, facts):
    """What an answer had seen, and the price then, are exact everywhere (every 7.5 hours of the
    history, 3 days of the forecast); `/bitcoin` and `/forecast/btc-usd` alike."""
    recent = facts.last_bar - KEPT_DAYS * DAY + HOUR
    forecast = range(facts.data_end, facts.grid_end, 3 * DAY + 1800)
    for instant in [*range(facts.first, facts.data_end, 7 * HOUR + 1800), *forecast]:
        for route in ("/bitcoin", "/forecast/btc-usd"):
            before, after = both(clients, f"{route}?date={iso_utc(instant)}&level=80")
            if instant > recent:
                assert before == after
            else:
                assert {k: v for k, v in before.items() if k not in VALUES} == {
                    k: v for k, v in after.items() if k not in VALUES
                }


def test_daily_and_weekly_candles_of_the_whole_history_and_finer_ones_of_the_days_kept(
    clients, facts
):
    whole = f"start={iso_utc(facts.first_bar)}"
    for interval in ("1d", "2d", "1w"):
        before, after = both(clients, f"/candles/btc-usd?interval={interval}&{whole}")
        assert before == after, interval
        assert before["count"] >= 60 / int(interval[0]) / (7 if interval == "1w" else 1) - 1
    kept = f"start={iso_utc(facts.last_bar - KEPT_DAYS * DAY)}"
    for interval in ("1h", "4h"):
        before, after = both(clients, f"/candles/btc-usd?interval={interval}&{kept}")
        assert before == after, interval
    refused = clients[1].get(f"/candles/btc-usd?interval=1h&{whole}")
    assert refused.status_code == 422
    assert refused.get_json()["error"] == "out_of_range"
    assert "candles of whole days (1d, 1w) cover the history" in refused.get_json()["detail"]


def test_a_daily_pair_answers_byte_for_byte_as_before(clients):
    info = clients[0].get("/assets").get_json()["assets"]
    eth = next(asset for asset in info if asset["asset"] == "eth-usd")
    start, end = eth["valid_from"], eth["valid_until"]
    urls = [
        f"/forecast/eth-usd/range?start={start}&end={end}",
        f"/forecast/eth-usd?date={eth['data_until']}",
        f"/candles/eth-usd?interval=1d&start={eth['first_bar']}",
        f"/candles/eth-usd?interval=1w&start={eth['first_bar']}",
    ]
    for url in urls:
        before, after = both(clients, url)
        assert before == after, url
