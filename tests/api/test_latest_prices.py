"""A forecast from the latest price (issue 70, bars 3 and 4), on the fixture models: from the
market feed's minute bars (the real 1m sample, moved to just after the model's data) and the
latest prices it read (Binance's ticker, Alpaca's latest bar); and `api.py` as the Render
Blueprint runs it, feeding itself from a local Binance. After the price every forecast route
answers from it: the point is the price, the band the model's own band for the lead that
remains; up to it, and without one, the model's answers as issued; each answer says which.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from flask import Flask

from cryptopredict.api import forecasts
from cryptopredict.api.app import create_app
from cryptopredict.api.serving.forecast import LatestPrice
from cryptopredict.artifact.index import record
from cryptopredict.artifact.store import open_artifacts
from cryptopredict.collect.replay import read_minutes
from cryptopredict.config import ApiSettings, ConfigError
from cryptopredict.minutes.bars import MINUTE, Quote
from cryptopredict.minutes.store import MinuteStore
from cryptopredict.utc import iso_utc
from tests.collect.fake_binance import FakeBinance
from tests.collect.helpers import Clock, binance, feed_for
from tests.live_server import LiveServer, start_server
from tests.paths import MINUTE_SAMPLE, ROOT

HOUR = 3600
FORECAST_ROUTES = ("/bitcoin", "/forecast/btc-usd")
RANGE_ROUTES = ("/bitcoin/forecast", "/forecast/btc-usd/range")
BTCUSDT, ETHUSDT = 69010.01, 3928.82  # their `lastPrice` in Binance's ticker of 2024-03-10
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


def test_price_and_the_forecast_routes_answer_one_forecast_for_one_instant(minute_app, conforms):
    """Issue 96, item 3: `/price`'s forecast (the live panel's) is the served, re-anchored one
    that `/bitcoin?date=` answers for its instant, now: not the model's from its own data."""
    latest_of(minute_app)
    client = minute_app.test_client()
    answer = client.get("/price/btc-usd")
    conforms("/price/{asset}", answer)
    said = answer.get_json()["forecast"]
    assert abs(time.time() - _epoch(said["date"])) < 10  # now
    assert said["anchor"]["source"] == "minutes"
    same = client.get(f"/bitcoin?date={said['date']}").get_json()
    keys = ("prediction", "prediction_low", "prediction_high", "data_until", "anchor")
    assert {key: said[key] for key in keys} == {key: same[key] for key in keys}


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


def test_before_the_newest_minute_the_answers_are_the_model_s_and_at_it_its_close(
    minute_app, client, minutes, facts
):
    """At the price's own instant the answer is that price (a feed's quote read this second
    anchored /price's forecast only from the next one: the live panel said "model" once a
    round)."""
    last = minutes[-1]
    anchor = last.ts + MINUTE
    latest_of(minute_app)
    live = minute_app.test_client()
    for at in (facts.data_end - 5 * HOUR, facts.data_end + HOUR, anchor - 1):
        for route in FORECAST_ROUTES:
            path = f"{route}?date={iso_utc(at)}"
            assert live.get(path).get_json() == client.get(path).get_json()
    before = live.get(f"/bitcoin?date={iso_utc(anchor - 1)}").get_json()
    assert before["anchor"]["source"] == "model"
    assert before["anchor"]["date"] == iso_utc(facts.data_end)
    at = live.get(f"/bitcoin?date={iso_utc(anchor)}").get_json()
    assert at["anchor"]["source"] == "minutes"
    close = round(last.close, 2)
    assert (at["prediction_low"], at["prediction"], at["prediction_high"]) == (close,) * 3


def test_a_range_is_the_model_s_before_the_price_and_from_it_on(
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
            if date < iso_utc(anchor):
                expected = [model[name][index] for name in ("prediction", "prediction_low")]
            else:
                point = live.get(f"/forecast/btc-usd?date={date}").get_json()
                expected = [point["prediction"], point["prediction_low"]]
            assert values == expected, date
        csv = live.get(f"{route}?{query}&format=csv").get_data(as_text=True).splitlines()
        assert csv[0].endswith(",anchor_source")
        sources = [row.rsplit(",", 1)[1] for row in csv[1:]]
        assert sources == ["model"] * 5 + ["minutes"] * 6  # the price's own instant: its own


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


# The prices the market feed read.


def quoted(artifact_dir, tmp_path, *quotes: Quote, **settings) -> Flask:
    """An application over a database holding `quotes` (as the feed writes them)."""
    url = f"sqlite:///{tmp_path / 'market.db'}"
    with MinuteStore.open(url) as store:
        store.write_quotes(quotes)
    options = {"model_dir": artifact_dir, "database_url": url, **settings}
    return create_app(open_artifacts(artifact_dir), ApiSettings(**options))


@pytest.mark.parametrize(
    ("source", "detail"),
    [
        ("binance", "Binance's ticker price of BTCUSDT, read at that instant"),
        ("alpaca", "the close of Alpaca's latest minute bar of BTC/USD"),
    ],
)
def test_the_latest_price_the_feed_read_is_where_the_forecasts_start(
    artifact_dir, tmp_path, source, detail, conforms
):
    at = int(time.time()) - 30
    app = quoted(artifact_dir, tmp_path, Quote("btc-usd", source, at, BTCUSDT))
    assert latest_of(app) == LatestPrice(at, BTCUSDT, source, detail)
    response = app.test_client().get(f"/forecast/btc-usd?date={iso_utc(at + HOUR)}")
    conforms("/forecast/{asset}", response)
    body = response.get_json()
    assert body["prediction"] == BTCUSDT
    assert body["anchor"] == {
        "date": iso_utc(at),
        "price": BTCUSDT,
        "source": source,
        "detail": detail,
    }


def test_the_newer_of_the_feed_s_price_and_the_newest_minute_s_close_wins(
    artifact_dir, minutes, tmp_path
):
    newest = minutes[-1]
    older = Quote("btc-usd", "binance", newest.ts, BTCUSDT)  # the minute closes after it
    newer = Quote("eth-usd", "binance", newest.ts + 2 * MINUTE, ETHUSDT)
    app = quoted(artifact_dir, tmp_path, older, newer)
    with MinuteStore.open(f"sqlite:///{tmp_path / 'market.db'}") as store:
        store.write(minutes + [dataclasses.replace(bar, asset="eth-usd") for bar in minutes])
    assert latest_of(app).source == "minutes"
    assert latest_of(app, "eth-usd").price == ETHUSDT


def test_the_first_lookup_after_an_idle_spell_answers_from_a_read_made_meanwhile(
    artifact_dir, tmp_path
):
    """Issue 96, item 4: prices are read on their own clock, not when a request comes: no
    lookup answers from a read older than LIVE_CACHE_SECONDS, the first after a quiet spell
    included."""
    at = int(time.time()) - 60
    app = quoted(
        artifact_dir, tmp_path, Quote("btc-usd", "binance", at, BTCUSDT), live_cache_seconds=0.1
    )
    assert latest_of(app).price == BTCUSDT
    with MinuteStore.open(f"sqlite:///{tmp_path / 'market.db'}") as store:
        store.write_quotes([Quote("btc-usd", "binance", at + 30, BTCUSDT + 1)])
    time.sleep(0.5)  # no request meanwhile
    assert app.extensions["cryptopredict"]["latest"].of("btc-usd").price == BTCUSDT + 1


def test_the_prices_are_read_as_the_feed_beside_the_api_polls(exchange, artifact_dir, tmp_path):
    """Issue 96, item 4: no answer starts from a price older than the feed's last poll: the
    feed that runs beside the API has the prices read before it asks for a minute (`/price`
    shows none without its price) and before its round returns."""
    fake, moved = exchange
    app = quoted(artifact_dir, tmp_path, live_cache_seconds=3600)  # its own reads: hourly
    latest = app.extensions["cryptopredict"]["latest"]
    assert latest.of("btc-usd") is None
    exchanges = [binance(fake)]
    feed = feed_for(f"sqlite:///{tmp_path / 'market.db'}", Clock(time.time()), exchanges)
    feed.on_written = latest.read  # as api.py wires it (beside_the_api)
    asked, seen = exchanges[0].minutes, []

    def minutes(*args):
        seen.append(latest.of("btc-usd"))
        return asked(*args)

    exchanges[0].minutes = minutes  # type: ignore[method-assign]
    feed.round()
    assert seen, "no minute asked for"
    assert seen[0] is not None, "the minutes were asked for before the prices were read"
    assert seen[0].source == "binance"
    said = latest.of("btc-usd")
    assert said is not None, "not read as the feed polled"
    assert said.source == "binance"
    assert said.price in {round(bar.close, 2) for bar in moved[-3:]}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LATEST_PRICES", "kraken"),
        ("LATEST_PRICES", "binance=ftp://example.com"),
        ("LATEST_PRICES", "binance=https://me:s3cret@example.com"),  # published on /healthz
        ("LATEST_PRICES", "alpaca=https://ghp_s3cret@example.com/v2"),
        ("LATEST_PRICES", "binance=http://[::1/v2"),  # a traceback each poll (issue 95)
        ("LATEST_PRICE_SECONDS", "30"),
        ("LATEST_PRICE_TIMEOUT", "0"),
    ],
)
def test_a_latest_price_setting_it_cannot_use_stops_the_api_saying_so(name, value):
    with pytest.raises(ConfigError, match=name) as raised:
        ApiSettings.from_env({name: value})
    assert "s3cret" not in str(raised.value)


# The deployment as it ships (issue 76, bar 1; issue 83, bar 5), and one feed a process (issue
# 77, bar 1; issue 83, part C).


def threads_of(process: subprocess.Popen) -> int:
    status = Path(f"/proc/{process.pid}/status").read_text()
    found = re.search(r"^Threads:\s+(\d+)$", status, re.MULTILINE)
    assert found, status
    return int(found.group(1))


def get(server: LiveServer, path: str) -> dict:
    with urllib.request.urlopen(f"{server.url}{path}", timeout=10) as answer:
        return json.load(answer)


def bitcoin_in(server: LiveServer, hours: float) -> dict:
    return get(server, f"/bitcoin?date={iso_utc(int(time.time() + hours * HOUR))}")


def polled_bitcoin_in(server: LiveServer, hours: float) -> dict:
    """`/bitcoin` for `hours` ahead, once the feed's first poll gave it a price."""
    deadline = time.monotonic() + 60
    while (body := bitcoin_in(server, hours))["anchor"]["source"] == "model":
        assert time.monotonic() < deadline, server.log.read_text()
        time.sleep(0.05)
    return body


def polled_price(server: LiveServer) -> dict:
    """`/price/btc-usd` once the feed has written a minute (404 until then): the ticker's price,
    polled first, may come before it."""
    deadline = time.monotonic() + 60
    while True:
        try:
            return get(server, "/price/btc-usd")
        except urllib.error.HTTPError as error:
            if error.code != 404 or time.monotonic() > deadline:
                raise
        time.sleep(0.05)


@pytest.fixture
def exchange() -> Iterator[tuple[FakeBinance, list]]:
    """A local Binance (klines and ticker) on the real clock, holding the real 1m sample moved
    to end with the minute running now: a minute closes there every minute."""
    sample = read_minutes(MINUTE_SAMPLE, "btc-usd")[-300:]
    running = int(time.time()) // MINUTE * MINUTE
    offset = running - sample[-1].ts
    moved = [dataclasses.replace(bar, ts=bar.ts + offset, source="binance") for bar in sample]
    with FakeBinance(moved) as fake:
        yield fake, moved


def render_service_env(fake: FakeBinance, tmp_path: Path) -> dict[str, str]:
    """The settings of the web service the committed render.yaml deploys, its exchanges pointed
    at the stand-in; its database the image's default SQLite file, here under tmp_path."""
    [service] = yaml.safe_load((ROOT / "render.yaml").read_text())["services"]
    settings = {item["key"]: item["value"] for item in service["envVars"]}
    assert "DATABASE_URL" not in settings
    exchanges = settings["LATEST_PRICES"].split(",")
    assert exchanges[0] == "binance"
    return settings | {
        "LATEST_PRICES": ",".join(f"{name}={fake.url}" for name in exchanges),
        "PORT": "0",  # a free port here, where Render gives the service its own
        "DATABASE_URL": f"sqlite:///{tmp_path / 'market.db'}",
    }


def test_the_shipped_render_service_feeds_itself_and_answers_from_binance(
    exchange, artifact_dir, tmp_path
):
    """api.py with the settings of the web service render.yaml deploys, as Render runs the
    image (no PostgreSQL): its own feed fills its SQLite file, so the next hour is answered from
    Binance's ticker and `/price` from a minute under two minutes old."""
    fake, moved = exchange
    started = time.monotonic()
    # The image's command: behind HAProxy, which render.yaml's MAX_CONNECTIONS_PER_CLIENT=0 sets.
    with start_server(
        artifact_dir, tmp_path / "api.log", proxied=True, **render_service_env(fake, tmp_path)
    ) as server:
        body = polled_bitcoin_in(server, 1)
        price = polled_price(server)
        live = get(server, "/live")
    assert time.monotonic() - started < 120
    closed = [bar for bar in moved if bar.ts + MINUTE <= time.time()]
    assert body["anchor"]["source"] == "binance"
    assert body["anchor"]["detail"].startswith("Binance's ticker price of BTCUSDT")
    assert body["anchor"]["price"] in {round(bar.close, 2) for bar in closed[-3:]}
    assert body["lead_hours"] == pytest.approx(1, abs=0.05)  # from the price, read just now
    assert price["source"] == "binance"
    assert 0 <= price["age_seconds"] < 120
    assert live["assets"]["btc-usd"]["count"] >= len(closed) - 2


def test_an_application_built_again_reads_the_server_s_one_feed(exchange, artifact_dir, tmp_path):
    """`api.py` on a model directory whose index is rewritten ten times, each application built
    after it asked for a forecast from the latest price: the process holds at most two threads
    more than after the first request, and the exchange's ticker is polled once."""
    fake, _ = exchange
    model_dir = tmp_path / "models"
    shutil.copytree(artifact_dir, model_dir)
    with start_server(
        model_dir,
        tmp_path / "api.log",
        LATEST_PRICES=f"binance={fake.url}",
        LATEST_PRICE_SECONDS="3600",  # not due again in this test, however slowly it runs
        DATABASE_URL=f"sqlite:///{tmp_path / 'market.db'}",
    ) as server:
        polled_bitcoin_in(server, 2)
        first = threads_of(server.process)
        sources = []
        for rewrite in range(1, 11):
            record(model_dir, None, afresh=True)
            deadline = time.monotonic() + 60  # the server looks every second
            while server.log.read_text().count(REBUILT) < rewrite:
                assert time.monotonic() < deadline, server.log.read_text()
                time.sleep(0.05)
            sources.append(bitcoin_in(server, 2)["anchor"]["source"])
        assert threads_of(server.process) <= first + 2
    assert sources == ["binance"] * 10  # each application at once from the price read before
    assert [path for path, _ in fake.requests if path.endswith("/ticker/price")] == [
        "/api/v3/ticker/price"
    ]


def _epoch(said: str) -> float:
    return datetime.fromisoformat(said).timestamp()


def test_a_large_answer_is_built_once_for_the_same_prices(artifact_dir, tmp_path, monkeypatch):
    """Issue 104: `/bitcoin/forecast.csv` is built once while the latest prices stay the same:
    a HEAD builds no body, nor one with a query parameter the route ignores (issue 113), a
    conditional GET gets 304 without one; a new price, a new answer."""
    at = int(time.time()) - 30
    app = quoted(artifact_dir, tmp_path, Quote("btc-usd", "binance", at, BTCUSDT))
    latest_of(app)
    built = []
    build = forecasts.csv_response
    monkeypatch.setattr(
        forecasts, "csv_response", lambda *a, **k: built.append(1) or build(*a, **k)
    )
    client, path = app.test_client(), "/bitcoin/forecast.csv"
    whole = client.get(path)
    heads = [client.head(f"{path}?ignored={n}") for n in range(40)]
    same = client.get(path, headers={"If-None-Match": whole.headers["ETag"]})
    assert (len(built), whole.status_code, same.status_code, same.data) == (1, 200, 304, b"")
    assert {
        (head.headers["ETag"], head.headers["Content-Length"], head.data) for head in heads
    } == {(whole.headers["ETag"], str(len(whole.data)), b"")}
    with MinuteStore.open(f"sqlite:///{tmp_path / 'market.db'}") as store:
        store.write_quotes([Quote("btc-usd", "binance", at + 60, ETHUSDT)])
    app.extensions["cryptopredict"]["latest"].read()
    assert client.get(path).headers["ETag"] != whole.headers["ETag"]
    assert len(built) == 2
