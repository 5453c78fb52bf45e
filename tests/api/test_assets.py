"""`/assets`, `/forecast/{asset}` and `/forecast/{asset}/range`: every served asset's forecast,
with `/bitcoin` as the unchanged alias of `btc-usd`."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cryptopredict.api.app import create_app
from cryptopredict.artifact.schema import MANIFEST
from cryptopredict.utc import iso_utc
from tests.api.artifacts import DAY, HOUR, PROPHET_DEPRECATION
from tests.api.documented import check_conforms

pytestmark = PROPHET_DEPRECATION


def test_assets_lists_each_served_asset_with_its_model_range_and_urls(client, artifacts, conforms):
    response = client.get("/assets")
    assert response.status_code == 200
    conforms("/assets", response)
    listing = response.get_json()
    assert listing["default"] == "btc-usd"
    assert [entry["asset"] for entry in listing["assets"]] == ["btc-usd", "eth-usd"]
    eth = listing["assets"][1]
    history, grid = artifacts["eth-usd"].history, artifacts["eth-usd"].grid
    assert eth == {
        "asset": "eth-usd",
        "symbol": "ETH/USD",
        "interval": "1d",
        "model_version": "test-eth-1",
        "created_at": json.loads((artifacts["eth-usd"].path / MANIFEST).read_bytes())["created_at"],
        "source": "snapshot",
        "first_bar": iso_utc(int(history["ds"][0])),
        "last_bar": iso_utc(int(history["ds"][-1])),
        "data_until": iso_utc(int(history["ds"][-1]) + DAY),  # the last bar's close
        "grid_end": iso_utc(int(grid["ds"][-1]) + DAY),
        "valid_from": iso_utc(int(grid["ds"][0]) + DAY),
        "valid_until": iso_utc(int(history["ds"][-1]) + DAY + 1096 * DAY),
        "interval_width": 0.8,
        "quote": "usd",
        "volume_rank": None,
        "quote_volume_24h": None,
        "links": {
            "forecast": "/forecast/eth-usd",
            "range": "/forecast/eth-usd/range",
            "candles": "/candles/eth-usd",
            "model": "/model/eth-usd",
            "backtest": "/model/eth-usd/backtest",
        },
    }
    for entry in listing["assets"]:
        for url in entry["links"].values():
            assert client.get(url, query_string={"date": entry["data_until"]}).status_code == 200


def point_queries(facts) -> list[str]:
    return [
        f"date={iso_utc(facts.first + 10 * HOUR + 1234)}",
        f"date={iso_utc(facts.gap)}",
        f"date={iso_utc(facts.grid_end)}",
        "date=2026-07-20T14:00%2B02:00",
        "date=not-a-date",
        "",
        "date=2026-07-20&date=2026-07-21",
        "date=1999-01-01",
    ]


def range_queries(facts) -> list[str]:
    return [
        "",
        f"start={iso_utc(facts.data_end - 3 * HOUR)}&end={iso_utc(facts.data_end + 2 * HOUR)}",
        "format=csv",
        "start=2026-07-26&format=xml",
        "start=2026-07-27&end=2026-07-20",
    ]


def test_forecast_btc_usd_answers_as_bitcoin_does(client, facts):
    for query in point_queries(facts):
        alias, general = client.get(f"/bitcoin?{query}"), client.get(f"/forecast/btc-usd?{query}")
        assert (general.status_code, general.data) == (alias.status_code, alias.data), query
        assert general.headers["Cache-Control"] == alias.headers["Cache-Control"]
    for query in range_queries(facts):
        alias = client.get(f"/bitcoin/forecast?{query}")
        general = client.get(f"/forecast/btc-usd/range?{query}")
        assert (general.status_code, general.data) == (alias.status_code, alias.data), query


def test_the_eth_forecast_at_a_date_is_of_the_price_then_the_close_of_the_day_before(
    client, artifacts, conforms
):
    """On daily bars a date alone is 00:00 UTC: the price then is the close of the bar that
    opened the day before, and the forecast for it is the grid row of that bar."""
    grid, history = artifacts["eth-usd"].grid, artifacts["eth-usd"].history
    last_bar = int(history["ds"][-1])
    ahead = client.get(f"/forecast/eth-usd?date={iso_utc(last_bar + 3 * DAY)[:10]}")
    conforms("/forecast/{asset}", ahead)
    index = int(np.flatnonzero(grid["ds"] == last_bar + 2 * DAY)[0])
    assert ahead.get_json()["prediction"] == round(float(grid["yhat"][index]), 2)
    assert ahead.get_json()["model_version"] == "test-eth-1"
    assert ahead.get_json()["lead_hours"] == 48  # from the last bar's close
    assert "actual" not in ahead.get_json()
    day = iso_utc(int(history["ds"][6]))[:10]  # the day bar 5 closes
    inside = client.get(f"/forecast/eth-usd?date={day}").get_json()
    assert inside["actual"] == round(float(history["close"][5]), 2)
    index = int(np.flatnonzero(grid["ds"] == history["ds"][5])[0])
    assert inside["prediction"] == round(float(grid["yhat"][index]), 2)
    halfway = client.get(f"/forecast/eth-usd?date={day}T12:00").get_json()
    expected = (history["close"][5] + history["close"][6]) / 2
    assert halfway["actual"] == pytest.approx(expected, abs=0.01)


def test_the_eth_range_is_daily_and_its_csv_is_named_for_it(client, artifacts, conforms):
    response = client.get("/forecast/eth-usd/range")
    conforms("/forecast/{asset}/range", response)
    series = response.get_json()
    assert series["interval"] == "1d"
    # By default, 30 days back from the data's end and 365 days ahead.
    assert series["count"] == 31 + 365
    data_end = int(artifacts["eth-usd"].history.ds[-1]) + DAY
    assert series["date"][-1] == iso_utc(data_end + 365 * DAY)
    assert series["data_until"] == iso_utc(data_end)
    csv = client.get("/forecast/eth-usd/range?format=csv")
    conforms("/forecast/{asset}/range", csv)
    assert csv.headers["Content-Disposition"] == 'inline; filename="eth-usd-forecast.csv"'
    assert len(csv.get_data(as_text=True).splitlines()) == series["count"] + 1


@pytest.mark.parametrize(
    ("path", "route"),
    [
        ("/forecast/doge-usd", "/forecast/{asset}"),
        ("/forecast/DOGE-USD", "/forecast/{asset}"),
        ("/forecast/doge-usd/range", "/forecast/{asset}/range"),
        ("/candles/doge-usd", "/candles/{asset}"),
        ("/model/doge-usd", "/model/{asset}"),
        ("/model/doge-usd/backtest", "/model/{asset}/backtest"),
        ("/model/doge-usd/track-record", "/model/{asset}/track-record"),
    ],
)
def test_an_unknown_asset_is_a_404_naming_the_served_ones(client, conforms, path, route):
    response = client.get(path, query_string={"date": "2026-07-20"})
    assert response.status_code == 404
    conforms(route, response)
    answer = response.get_json()
    assert answer["error"] == "unknown_asset"
    assert "known: btc-usd, eth-usd" in answer["detail"]
    assert response.headers["Cache-Control"] == "no-store"


@pytest.fixture
def eth_only(artifacts, settings):
    return create_app({"eth-usd": artifacts["eth-usd"]}, settings).test_client()


def test_without_bitcoin_the_others_serve_and_bitcoin_is_an_unknown_asset(eth_only):
    spec = eth_only.get("/openapi.json").get_json()  # its own: /bitcoin may answer 404
    for path in ("/bitcoin", "/bitcoin/forecast"):
        response = eth_only.get(f"{path}?date=2026-07-20")
        assert response.status_code == 404
        check_conforms(spec, path, response)
        assert response.get_json()["error"] == "unknown_asset"
        assert "known: eth-usd" in response.get_json()["detail"]
    assert eth_only.get("/forecast/eth-usd?date=2026-06-01").status_code == 200
    assert eth_only.get("/assets").get_json()["default"] == "eth-usd"
    assert eth_only.get("/healthz").get_json()["asset"] == "eth-usd"
    assert eth_only.get("/model").get_json()["symbol"] == "ETH/USD"
    assert "ETH/USD" in eth_only.get("/").get_data(as_text=True)
