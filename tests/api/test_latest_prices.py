"""A forecast from the latest price (issue 70, bars 3 and 4), on the fixture models: from the
collector's minute bars (the real 1m sample, moved to just after the model's data), and from the
sources the API polls itself, a local stand-in speaking Binance's `/api/v3/ticker/price` (the
recorded market of 2024-03-10, tests/data/recorded) and Alpaca's latest bars (a real minute):
answering, down, and slow. After the price every forecast route answers from it: the point is
the price, the band the model's own band for the lead that remains; up to it, and without one,
the model's answers as issued; each answer says which.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import re
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from flask import Flask

from cryptopredict.api import create_app
from cryptopredict.api.serving.anchor import LatestPrice
from cryptopredict.artifact.store import open_artifacts
from cryptopredict.artifact.write import index_artifacts
from cryptopredict.collect.replay import read_minutes
from cryptopredict.config import ApiSettings, ConfigError
from cryptopredict.minutes.bars import MINUTE
from cryptopredict.minutes.store import MinuteStore
from cryptopredict.utc import iso_utc
from tests.data.binance_market import TICKER_24HR, Market, binance_market, recorded
from tests.live_server import LiveServer, start_server
from tests.paths import MINUTE_SAMPLE, ROOT

HOUR = 3600
FORECAST_ROUTES = ("/bitcoin", "/forecast/btc-usd")
RANGE_ROUTES = ("/bitcoin/forecast", "/forecast/btc-usd/range")
TICKER = [{"symbol": row["symbol"], "price": row["lastPrice"]} for row in recorded(TICKER_24HR)]
BTCUSDT, ETHUSDT = 69010.01, 3928.82  # their `lastPrice` in the recording
REBUILT = "the artifacts changed: serving them now"


def latest_of(app: Flask, slug: str = "btc-usd", timeout: float = 20.0) -> LatestPrice:
    """The latest price the app has read of `slug`, waiting for its first read."""
    latest = app.extensions["cryptopredict"]["latest"]
    deadline = time.monotonic() + timeout
    while (found := latest.of(slug)) is None:
        assert time.monotonic() < deadline, f"no latest price of {slug} was read"
        time.sleep(0.01)
    return found


def ratios(answer: dict) -> tuple[float, float]:
    point = answer["prediction"]
    return answer["prediction_low"] / point, answer["prediction_high"] / point


@pytest.fixture(scope="module")
def minutes(facts):
    """Three hours of the real 1m sample from Binance, moved (whole minutes, prices untouched)
    to end three hours after the model's data."""
    sample = read_minutes(MINUTE_SAMPLE, "btc-usd")[:180]
    offset = facts.data_end + 3 * HOUR - (sample[-1].ts + MINUTE)
    return [dataclasses.replace(bar, ts=bar.ts + offset, source="binance") for bar in sample]


@pytest.fixture(scope="module")
def minute_url(minutes, tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('latest') / 'market.db'}"
    with MinuteStore.open(url) as store:
        store.write(minutes)
    return url


@pytest.fixture
def minute_app(artifact_dir, minute_url) -> Flask:
    settings = ApiSettings(model_dir=artifact_dir, database_url=minute_url)
    return create_app(open_artifacts(artifact_dir), settings)


def test_after_the_newest_minute_every_point_starts_from_its_close(
    minute_app, client, minutes, facts, conforms
):
    last = minutes[-1]
    anchor = last.ts + MINUTE
    assert latest_of(minute_app) == LatestPrice(
        anchor, last.close, "minutes", "the close of the newest minute bar the collector "
        "stored, from Binance",
    )  # fmt: skip
    live = minute_app.test_client()
    own = client.get(f"/bitcoin?date={iso_utc(facts.data_end + HOUR)}").get_json()
    for route in FORECAST_ROUTES:
        response = live.get(f"{route}?date={iso_utc(anchor + HOUR)}")
        conforms(route.replace("btc-usd", "{asset}"), response)
        body = response.get_json()
        assert body["prediction"] == round(last.close, 2)
        assert body["anchor"] == {
            "date": iso_utc(anchor),
            "price": round(last.close, 2),
            "source": "minutes",
            "detail": "the close of the newest minute bar the collector stored, from Binance",
        }
        assert (body["data_until"], body["lead_hours"], body["kind"]) == (
            iso_utc(anchor),
            1.0,
            "forecast",
        )
        # the band the model issued for one hour ahead, around the close
        assert ratios(body) == pytest.approx(ratios(own), abs=2e-6)


def test_a_lead_between_bars_and_under_one_interpolates_and_shrinks_the_band(
    minute_app, client, minutes, facts
):
    last = minutes[-1]
    anchor = last.ts + MINUTE
    latest_of(minute_app)
    live = minute_app.test_client()
    model = [
        ratios(client.get(f"/bitcoin?date={iso_utc(facts.data_end + hours * HOUR)}").get_json())
        for hours in (1, 2)
    ]
    between = ratios(live.get(f"/bitcoin?date={iso_utc(anchor + 90 * MINUTE)}").get_json())
    for side in (0, 1):
        low, high = sorted((model[0][side], model[1][side]))
        assert low - 2e-6 <= between[side] <= high + 2e-6
    quarter = ratios(live.get(f"/bitcoin?date={iso_utc(anchor + 15 * MINUTE)}").get_json())
    for side in (0, 1):  # a quarter of an hour: the log distance of the hour's, times 1/2
        assert math.log(quarter[side]) == pytest.approx(math.log(model[0][side]) / 2, abs=2e-5)


def test_up_to_the_newest_minute_the_answers_are_the_model_s(minute_app, client, minutes, facts):
    anchor = minutes[-1].ts + MINUTE
    latest_of(minute_app)
    live = minute_app.test_client()
    for at in (facts.data_end - 5 * HOUR, facts.data_end + HOUR, anchor):
        for route in FORECAST_ROUTES:
            path = f"{route}?date={iso_utc(at)}"
            assert live.get(path).get_json() == client.get(path).get_json()
    before = live.get(f"/bitcoin?date={iso_utc(anchor)}").get_json()
    assert before["anchor"]["source"] == "model"
    assert before["anchor"]["date"] == iso_utc(facts.data_end)


def test_a_range_is_the_model_s_up_to_the_price_and_from_it_after(
    minute_app, client, minutes, facts, conforms
):
    anchor = minutes[-1].ts + MINUTE
    latest_of(minute_app)
    live = minute_app.test_client()
    query = f"start={iso_utc(facts.data_end - 2 * HOUR)}&end={iso_utc(anchor + 5 * HOUR)}"
    for route in RANGE_ROUTES:
        response = live.get(f"{route}?{query}")
        conforms(route.replace("btc-usd", "{asset}"), response)
        body, model = response.get_json(), client.get(f"{route}?{query}").get_json()
        assert body["anchor"]["source"] == "minutes"
        assert body["anchor"]["date"] == iso_utc(anchor)
        assert model["anchor"]["source"] == "model"
        for index, date in enumerate(body["date"]):
            values = [body[name][index] for name in ("prediction", "prediction_low")]
            if date <= iso_utc(anchor):
                expected = [model[name][index] for name in ("prediction", "prediction_low")]
            else:
                point = live.get(f"/forecast/btc-usd?date={date}").get_json()
                expected = [point["prediction"], point["prediction_low"]]
            assert values == expected, date
        csv = live.get(f"{route}?{query}&format=csv").get_data(as_text=True).splitlines()
        assert csv[0].endswith(",anchor_source")
        sources = [row.rsplit(",", 1)[1] for row in csv[1:]]
        assert sources == ["model"] * 6 + ["minutes"] * 5


def test_minutes_a_replay_moved_in_time_are_no_price_then(artifact_dir, minutes, tmp_path):
    """A replay shifted to now: ETH/USD's minutes at their own time anchor it, BTC/USD's moved
    ones never do."""
    url = f"sqlite:///{tmp_path / 'market.db'}"
    moved = [dataclasses.replace(bar, source="replay", shift=86_400) for bar in minutes]
    own = [dataclasses.replace(bar, asset="eth-usd") for bar in minutes]
    with MinuteStore.open(url) as store:
        store.write(moved + own)
    app = create_app(
        open_artifacts(artifact_dir), ApiSettings(model_dir=artifact_dir, database_url=url)
    )
    latest_of(app, "eth-usd")  # the read that found both
    assert app.extensions["cryptopredict"]["latest"].of("btc-usd") is None


def test_without_a_newer_price_the_answers_say_they_start_from_the_model(client, facts):
    for route in FORECAST_ROUTES:
        body = client.get(f"{route}?date={iso_utc(facts.data_end + 5 * HOUR)}").get_json()
        assert body["anchor"]["source"] == "model"
        assert body["anchor"]["date"] == body["data_until"] == iso_utc(facts.data_end)
    hindcast = client.get(f"/bitcoin?date={iso_utc(facts.data_end - 30 * HOUR)}").get_json()
    assert hindcast["anchor"]["date"] == hindcast["data_until"]
    assert hindcast["anchor"]["source"] == "model"


# The sources the API polls itself.


@pytest.fixture
def market() -> Iterator[tuple[str, Market]]:
    with binance_market() as (url, market):
        market.answer("/api/v3/ticker/price", TICKER)
        yield url, market


def polled(artifact_dir, tmp_path, latest_prices: str, **settings: float) -> Flask:
    return create_app(
        open_artifacts(artifact_dir),
        ApiSettings(
            model_dir=artifact_dir,
            database_url=f"sqlite:///{tmp_path / 'none.db'}",
            latest_prices=latest_prices,
            **settings,
        ),
    )


def test_binance_s_ticker_gives_every_served_pair_s_price_in_one_request(
    market, artifact_dir, tmp_path
):
    url, stand_in = market
    before = int(time.time())
    app = polled(artifact_dir, tmp_path, f"binance={url}")
    btc, eth = latest_of(app), latest_of(app, "eth-usd")
    assert (btc.price, btc.source, eth.price) == (BTCUSDT, "binance", ETHUSDT)
    assert before <= btc.epoch <= time.time()
    body = app.test_client().get(f"/bitcoin?date={iso_utc(btc.epoch + 2 * HOUR)}").get_json()
    assert body["prediction"] == BTCUSDT
    assert body["anchor"]["source"] == "binance"
    assert body["anchor"]["detail"] == (
        "Binance's ticker price of BTCUSDT, read by the API at that instant"
    )
    for _ in range(20):  # polled at most once a LATEST_PRICE_SECONDS
        app.test_client().get(f"/bitcoin?date={iso_utc(btc.epoch + 2 * HOUR)}")
    assert stand_in.requests == ["/api/v3/ticker/price"]


def test_alpaca_s_latest_bar_gives_the_usd_pairs_price(market, artifact_dir, tmp_path):
    url, stand_in = market
    real = read_minutes(MINUTE_SAMPLE, "btc-usd")[-1]
    opened = int(time.time()) // MINUTE * MINUTE - MINUTE
    bar = {
        "t": iso_utc(opened), "o": real.open, "h": real.high, "l": real.low, "c": real.close,
        "v": real.volume, "n": 37, "vw": real.vwap,
    }  # fmt: skip
    stand_in.answer("/v1beta3/crypto/us/latest/bars", {"bars": {"BTC/USD": bar}})
    app = polled(artifact_dir, tmp_path, f"alpaca={url}")
    btc = latest_of(app)
    assert (btc.epoch, btc.price, btc.source) == (opened + MINUTE, real.close, "alpaca")
    assert stand_in.requests == ["/v1beta3/crypto/us/latest/bars?symbols=BTC/USD,ETH/USD"]
    body = app.test_client().get(f"/forecast/btc-usd?date={iso_utc(opened + HOUR)}").get_json()
    assert body["anchor"] == {
        "date": iso_utc(opened + MINUTE),
        "price": round(real.close, 2),
        "source": "alpaca",
        "detail": "the close of Alpaca's latest minute bar of BTC/USD",
    }


def every_route_answers_from_the_model(app: Flask, facts) -> None:
    client = app.test_client()
    at = iso_utc(int(time.time()) + 2 * HOUR)
    for route in FORECAST_ROUTES:
        body = client.get(f"{route}?date={at}").get_json()
        assert body["anchor"]["source"] == "model", route
        assert body["anchor"]["date"] == iso_utc(facts.data_end)
    for route in RANGE_ROUTES:
        body = client.get(f"{route}?start={at}&end={at}").get_json()
        assert body["anchor"]["source"] == "model", route


def test_a_source_that_is_down_leaves_the_model_s_answers_and_says_why(
    artifact_dir, tmp_path, facts, caplog
):
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    caplog.set_level(logging.WARNING, logger="cryptopredict.api.latest")
    app = polled(artifact_dir, tmp_path, f"binance=http://127.0.0.1:{port}")
    every_route_answers_from_the_model(app, facts)  # the first asks for the first poll
    deadline = time.monotonic() + 20
    while not (records := [r for r in caplog.records if r.name == "cryptopredict.api.latest"]):
        assert time.monotonic() < deadline, "the failed poll was not logged"
        time.sleep(0.01)
    (record,) = records
    assert record.getMessage().startswith(
        f"latest prices from binance cannot be read: cannot reach 127.0.0.1:{port}: "
    )
    every_route_answers_from_the_model(app, facts)


def test_while_a_slow_source_is_read_every_route_answers_at_once_from_the_model(
    market, artifact_dir, tmp_path, facts
):
    """The poll waits on the stand-in (held until released): meanwhile the forecasts answer,
    from the model's data end, and after it from the price it gave."""
    url, stand_in = market
    stand_in.slow = True
    app = polled(artifact_dir, tmp_path, f"binance={url}", latest_price_timeout=60.0)
    every_route_answers_from_the_model(app, facts)  # the first asks for the first poll
    deadline = time.monotonic() + 20
    while not stand_in.requests:  # the poll is under way, its answer held
        assert time.monotonic() < deadline
        time.sleep(0.01)
    every_route_answers_from_the_model(app, facts)
    stand_in.released.set()
    assert latest_of(app).price == BTCUSDT


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LATEST_PRICES", "kraken"),
        ("LATEST_PRICES", "binance=ftp://example.com"),
        ("LATEST_PRICE_SECONDS", "30"),
        ("LATEST_PRICE_TIMEOUT", "0"),
    ],
)
def test_a_latest_price_setting_it_cannot_use_stops_the_api_saying_so(name, value):
    with pytest.raises(ConfigError, match=name):
        ApiSettings.from_env({name: value})


# The deployment as it ships (issue 76, bar 1), and one poller a process (issue 77, bar 1).


def threads_of(process: subprocess.Popen) -> int:
    status = Path(f"/proc/{process.pid}/status").read_text()
    found = re.search(r"^Threads:\s+(\d+)$", status, re.MULTILINE)
    assert found, status
    return int(found.group(1))


def bitcoin_in(server: LiveServer, hours: float) -> dict:
    at = iso_utc(int(time.time() + hours * HOUR))
    with urllib.request.urlopen(f"{server.url}/bitcoin?date={at}", timeout=10) as answer:
        return json.load(answer)


def polled_bitcoin_in(server: LiveServer, hours: float) -> dict:
    """`/bitcoin` for `hours` ahead, once the server's first poll gave it a price."""
    deadline = time.monotonic() + 20
    while (body := bitcoin_in(server, hours))["anchor"]["source"] == "model":
        assert time.monotonic() < deadline, server.log.read_text()
        time.sleep(0.05)
    return body


def test_the_shipped_render_service_answers_the_next_hour_from_binance_s_ticker(
    market, artifact_dir, tmp_path
):
    """api.py with the settings of the web service the committed render.yaml deploys (its
    sources, pointed at the stand-in), as Render runs the image: no database."""
    url, _ = market
    [service] = yaml.safe_load((ROOT / "render.yaml").read_text())["services"]
    settings = {item["key"]: item["value"] for item in service["envVars"]}
    sources = settings["LATEST_PRICES"].split(",")
    assert "binance" in sources
    settings |= {
        "LATEST_PRICES": ",".join(f"{source}={url}" for source in sources),
        "PORT": "0",  # a free port here, where Render gives the service its own
        "DATABASE_URL": f"sqlite:///{tmp_path / 'none.db'}",  # none, as in the image
    }
    server = start_server(artifact_dir, tmp_path / "api.log", **settings)
    try:
        body = polled_bitcoin_in(server, 1)
    finally:
        server.process.terminate()
        server.process.wait(timeout=30)
    assert body["prediction_low"] < body["prediction"] == BTCUSDT < body["prediction_high"]
    assert body["anchor"]["price"] == BTCUSDT
    assert body["anchor"]["source"] == "binance"
    assert body["lead_hours"] == pytest.approx(1, abs=0.05)  # from the price, read just now
    assert body["anchor"]["detail"].startswith("Binance's ticker price of BTCUSDT")


def test_an_application_built_again_reads_the_server_s_one_poller(market, artifact_dir, tmp_path):
    """`api.py` on a model directory whose index is rewritten ten times, each application built
    after it asked for a forecast from the latest price: the process holds at most two threads
    more than after the first request, and the source is polled once."""
    url, stand_in = market
    model_dir = tmp_path / "models"
    shutil.copytree(artifact_dir, model_dir)
    server = start_server(
        model_dir,
        tmp_path / "api.log",
        LATEST_PRICES=f"binance={url}",
        LATEST_PRICE_SECONDS="3600",  # not due again in this test, however slowly it runs
        DATABASE_URL=f"sqlite:///{tmp_path / 'none.db'}",
    )
    try:
        polled_bitcoin_in(server, 2)
        first = threads_of(server.process)
        sources = []
        for rewrite in range(1, 11):
            index_artifacts(model_dir)
            deadline = time.monotonic() + 60  # the server looks every second
            while server.log.read_text().count(REBUILT) < rewrite:
                assert time.monotonic() < deadline, server.log.read_text()
                time.sleep(0.05)
            sources.append(bitcoin_in(server, 2)["anchor"]["source"])
        assert threads_of(server.process) <= first + 2
    finally:
        server.process.terminate()
        server.process.wait(timeout=30)
    assert sources == ["binance"] * 10  # each application at once from the price read before
    assert stand_in.requests == ["/api/v3/ticker/price"]
