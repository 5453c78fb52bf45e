"""The service says when it is stale (issue 82, bar 4): `/healthz` gives each pair's data age and
where an answer starts from now, and is `degraded` (still 200) with the reason in words once the
newest data is older than STALE_AFTER_HOURS; `/metrics` has the same as gauges; a forecast
anchored more than NOTE_AFTER_HOURS back says so in its `note`, with how to get fresh prices. On
synthetic models whose data ends some hours before now, as the settings we ship see them."""

from __future__ import annotations

import re
import time
from dataclasses import replace

import pytest
from flask.testing import FlaskClient

from cryptopredict.api.app import create_app
from cryptopredict.artifact.store import open_artifacts
from cryptopredict.config import ApiSettings
from cryptopredict.utc import iso_utc
from tests.api.synthetic import BTC, DOGE, write_synthetic

HOUR = 3600


def served(tmp_path, hours_old: dict[str, int], version: str | None = None) -> FlaskClient:
    """BTC/USD and DOGE/USDT hourly, each ending its given whole hours before this hour."""
    this_hour = int(time.time()) // HOUR * HOUR
    for seed, pair in enumerate((BTC, DOGE)):
        ended = replace(pair, last_bar=this_hour - hours_old[pair.slug] * HOUR)
        write_synthetic(tmp_path / "models", ended, seed=seed, model_version=version)
    settings = ApiSettings(
        model_dir=tmp_path / "models", database_url=f"sqlite:///{tmp_path / 'none.db'}"
    )
    return create_app(open_artifacts(tmp_path / "models"), settings).test_client()


def metric(text: str, name: str, labels: str = "") -> float:
    found = re.search(rf"^{name}{re.escape(labels)} (\S+)$", text, re.MULTILINE)
    assert found, f"no {name}{labels}"
    return float(found.group(1))


def test_data_older_than_the_promise_is_degraded_naming_each_pair_and_its_age(tmp_path, conforms):
    client = served(tmp_path, {"btc-usd": 13, "doge-usdt": 1})
    response = client.get("/healthz")
    assert response.status_code == 200
    conforms("/healthz", response)
    health = response.get_json()
    ages = {entry["asset"]: entry["data_age_seconds"] for entry in health["assets"]}
    assert 13 * HOUR <= ages["btc-usd"] < 14 * HOUR + 60
    assert HOUR <= ages["doge-usdt"] < 2 * HOUR + 60
    assert health["data_age_seconds"] == ages["btc-usd"]  # the default asset's, on top
    assert (health["status"], health["stale"], health["stale_after_hours"]) == (
        "degraded",
        ["btc-usd"],
        12.0,
    )
    (reason,) = health["reasons"]
    said = rf"btc-usd's newest data is 1[34] hours old \(its last bar {health['data_last']}\)"
    assert re.match(said, reason), reason
    assert "older than the 12 hours promised (STALE_AFTER_HOURS)" in reason
    # No latest price is read: an answer for the next hour starts from the model's last close.
    anchor = health["assets"][0]["anchor"]
    assert anchor["source"] == "model"
    assert anchor["at"] == iso_utc(int(time.time()) // HOUR * HOUR - 12 * HOUR)
    assert 12 * HOUR <= anchor["age_seconds"] < 13 * HOUR + 60

    text = client.get("/metrics").get_data(as_text=True)
    assert metric(text, "cryptopredict_stale") == 1
    age = metric(text, "cryptopredict_anchor_age_seconds", '{asset="btc-usd"}')
    assert 12 * HOUR <= age < 13 * HOUR + 60
    assert metric(text, "cryptopredict_anchor_age_seconds", '{asset="doge-usdt"}') < HOUR + 60


@pytest.mark.parametrize(
    ("version", "retrains"),
    [("dev", "`make run` where Binance or Alpaca answers"), ("1.4.0", "the next release")],
)
def test_stale_data_says_what_retrains_it_a_local_run_or_a_release(tmp_path, version, retrains):
    """Issue 96, item 5: a local run's models (MODEL_VERSION unset: `dev`) are retrained by
    `make run`, not by a release, which `/healthz` said."""
    (reason,) = (
        served(tmp_path, {"btc-usd": 13, "doge-usdt": 1}, version).get("/healthz").json["reasons"]
    )
    assert reason.endswith(f"; {retrains} retrains it on fresh data"), reason


def test_data_within_the_promise_is_ok(tmp_path):
    client = served(tmp_path, {"btc-usd": 11, "doge-usdt": 1})
    health = client.get("/healthz").get_json()
    assert (health["status"], health["stale"], health["reasons"]) == ("ok", [], [])
    text = client.get("/metrics").get_data(as_text=True)
    assert metric(text, "cryptopredict_stale") == 0


@pytest.mark.parametrize(
    ("route", "query"), [("/bitcoin", "date"), ("/forecast/{asset}/range", "end")]
)
def test_a_forecast_from_a_price_hours_old_says_so_and_how_to_get_fresh_prices(
    tmp_path, route, query, conforms
):
    client = served(tmp_path, {"btc-usd": 5, "doge-usdt": 0})
    date = iso_utc(int(time.time()) // HOUR * HOUR + 2 * HOUR)
    response = client.get(f"{route.format(asset='btc-usd')}?{query}={date}")
    assert response.status_code == 200
    conforms(route, response)
    note = response.get_json()["note"]
    data_end = response.get_json()["anchor"]["date"]
    assert re.match(rf"This forecast starts from a price [45] hours old \({data_end}\): ", note)
    assert "no newer price is seen" in note
    assert "LATEST_PRICES=binance,alpaca" in note
    assert "`make run`" in note
    # One starting less than NOTE_AFTER_HOURS (2) back has none; nor has a hindcast.
    fresh = client.get(f"/forecast/doge-usdt?date={date}").get_json()
    assert fresh["anchor"]["source"] == "model"
    assert "note" not in fresh
    hindcast = client.get(f"/bitcoin?date={iso_utc(int(time.time()) - 30 * HOUR)}").get_json()
    assert (hindcast["kind"], "note" in hindcast) == ("hindcast", False)


def test_the_document_declares_the_note_and_the_staleness(spec):
    schemas = spec["components"]["schemas"]
    for answer in ("Prediction", "ForecastPoints"):
        assert "note" in schemas[answer]["properties"]
        assert "note" not in schemas[answer]["required"]
    assert {"data_age_seconds", "anchor"} <= set(schemas["AssetHealth"]["required"])
    assert {"stale", "stale_after_hours", "reasons"} <= set(schemas["Health"]["required"])
    assert set(schemas["AnchorNow"]["required"]) == {"source", "at", "age_seconds"}
