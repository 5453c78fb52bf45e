"""Minute candles and the live price, served from the database the market feed filled (issue 17,
acceptance bar 2), checked against an independent pandas resample of the stored minutes."""

from __future__ import annotations

import dataclasses
import sqlite3
import time

import numpy as np
import pandas as pd
import pytest

from cryptopredict.api.app import create_app
from cryptopredict.api.serving.forecast import price_decimals
from cryptopredict.collect.feed import SETTLE
from cryptopredict.collect.replay import read_minutes
from cryptopredict.config import ApiSettings
from cryptopredict.minutes.bars import MINUTE
from cryptopredict.minutes.store import MinuteStore
from tests.collect.fake_binance import FakeBinance
from tests.collect.helpers import Clock, binance, feed_for
from tests.pandas_candles import pandas_candles
from tests.paths import MINUTE_SAMPLE as SAMPLE

MINUTES = 180


@pytest.fixture(scope="module")
def minutes(facts):
    """Three hours of the real 1m sample, moved (whole minutes, prices untouched) to end a day
    after the fixture model's last bar, inside its forecast."""
    sample = read_minutes(SAMPLE, "btc-usd")[:MINUTES]
    offset = (facts.last_bar + 86_400) - sample[-1].ts
    return [dataclasses.replace(bar, ts=bar.ts + offset, source="binance") for bar in sample]


@pytest.fixture(scope="module")
def collected(minutes, tmp_path_factory):
    """The database the market feed filled: the window's backfill, then a round a minute as
    each of the last four closes (the feed's clock, and the exchange's, moved to each close)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('live') / 'market.db'}"
    clock = Clock(minutes[174].ts + MINUTE + SETTLE)
    with FakeBinance(minutes, clock=clock) as fake:
        feed = feed_for(url, clock, [binance(fake)])
        for _ in range(5):
            feed.round()
            clock.now += MINUTE
        feed.writer.store.close()
    return url


@pytest.fixture
def live_client(artifacts, artifact_dir, collected):
    settings = ApiSettings(model_dir=artifact_dir, database_url=collected)
    return create_app(artifacts, settings).test_client()


def stored_frame(url: str) -> pd.DataFrame:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as plain:
        frame = pd.read_sql_query(
            "SELECT ts, open, high, low, close, volume, vwap FROM minute_bars ORDER BY ts", plain
        )
    frame.index = pd.to_datetime(frame.pop("ts"), unit="s", utc=True)
    return frame


def test_the_feed_filled_the_database_with_every_minute(collected, minutes):
    frame = stored_frame(collected)
    assert len(frame) == 179  # all but the running last minute
    expected = [bar.close for bar in minutes[:179]]
    assert frame["close"].tolist() == expected


@pytest.mark.parametrize("interval", ["1m", "5m", "10m", "15m"])
def test_minute_candles_equal_a_pandas_resample_of_the_stored_minutes(
    live_client, collected, interval, conforms
):
    """Acceptance bar 2 (and its 1m and 10m siblings)."""
    frame = stored_frame(collected)
    rule = interval.replace("m", "min")
    # From the open of the candle holding the first minute to the last minute.
    first = frame.index[0].floor(rule).strftime("%Y-%m-%dT%H:%M:%SZ")
    last = frame.index[-1].strftime("%Y-%m-%dT%H:%M:%SZ")
    response = live_client.get(f"/candles/btc-usd?interval={interval}&start={first}&end={last}")
    assert response.status_code == 200, response.get_json()
    conforms("/candles/{asset}", response)
    answer = response.get_json()
    bars = frame.set_axis(frame.index.tz_convert(None))
    expected = pandas_candles(bars, rule, int(interval[:-1]), label="left", closed="left")
    assert answer["stored_interval"] == "1m"
    assert answer["date"] == [stamp.strftime("%Y-%m-%dT%H:%M:%SZ") for stamp in expected.index]
    assert len(expected) > 1
    for column in ("open", "high", "low", "close"):
        np.testing.assert_allclose(answer[column], expected[column], rtol=1e-12, err_msg=column)
    # Volume and VWAP as the API rounds them (test_candles_endpoint.assert_rounded).
    np.testing.assert_array_equal(answer["volume"], expected["volume"].round(8))
    decimals = price_decimals(float(expected["low"].min()))
    np.testing.assert_array_equal(answer["vwap"], expected["vwap"].round(decimals))
    assert answer["complete"] == expected["complete"].tolist()
    assert response.headers["Cache-Control"] == "no-cache"


def test_the_default_minute_candles_end_at_the_last_minute(live_client, collected):
    answer = live_client.get("/candles/btc-usd?interval=5m").get_json()
    last = stored_frame(collected).index[-1]
    assert answer["date"][-1] == last.floor("5min").strftime("%Y-%m-%dT%H:%M:%SZ")
    # 13:01 to 15:59: the first 5m candle misses its first minute, the last one is whole.
    assert answer["complete"][0] is False
    assert answer["complete"][-1] is True


def test_minute_candles_are_bounded_by_the_minutes_they_read(
    artifacts, artifact_dir, collected, conforms
):
    """Issue 41: one 43,199m candle passed the bound on candles and read a month of minutes.
    With LIVE_MAX_ROWS at 60, a range of 180 minutes is refused before it is read, however
    few candles it makes; without `start`, the last candles are as many as 60 minutes make."""
    settings = ApiSettings(model_dir=artifact_dir, database_url=collected, live_max_rows=60)
    bounded = create_app(artifacts, settings).test_client()
    frame = stored_frame(collected)
    first = frame.index[0].floor("179min").strftime("%Y-%m-%dT%H:%M:%SZ")
    last = frame.index[-1].strftime("%Y-%m-%dT%H:%M:%SZ")
    refused = bounded.get(f"/candles/btc-usd?interval=179m&start={first}&end={last}")
    assert refused.status_code == 422
    conforms("/candles/{asset}", refused)
    assert "at most 60 are read per request (LIVE_MAX_ROWS)" in refused.get_json()["detail"]
    answer = bounded.get("/candles/btc-usd?interval=7m").get_json()
    assert answer["count"] == 60 // 7
    assert answer["date"][-1] == frame.index[-1].floor("7min").strftime("%Y-%m-%dT%H:%M:%SZ")


def test_coarser_intervals_are_served_from_the_model_history_as_before(live_client, client):
    ours = live_client.get("/candles/btc-usd?interval=4h").get_json()
    before = client.get("/candles/btc-usd?interval=4h").get_json()
    assert ours == before
    assert ours["stored_interval"] == "1h"


def test_a_finer_interval_outside_the_minute_window_is_a_422_naming_it(live_client, collected):
    frame = stored_frame(collected)
    response = live_client.get("/candles/btc-usd?interval=5m&start=2026-01-01&end=2026-01-02")
    assert response.status_code == 422
    detail = response.get_json()["detail"]
    assert frame.index[0].strftime("%Y-%m-%dT%H:%M:%SZ") in detail
    assert frame.index[-1].strftime("%Y-%m-%dT%H:%M:%SZ") in detail


def test_price_reports_the_last_minute_and_where_it_sits_in_the_band(
    live_client, minutes, conforms
):
    response = live_client.get("/price/btc-usd")
    assert response.status_code == 200, response.get_json()
    conforms("/price/{asset}", response)
    answer = response.get_json()
    last = minutes[178]
    assert answer["price"] == last.close
    # The price's instant is the minute's close; the minute is labelled by its open time.
    assert answer["date"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(last.ts + 60))
    assert answer["open_time"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(last.ts))
    assert answer["age_seconds"] == pytest.approx(time.time() - (last.ts + 60), abs=5)
    assert answer["source"] == "binance"
    assert answer["source_detail"] == "live minutes from Binance"
    assert answer["shift_minutes"] == 0
    assert answer["recorded_date"] == answer["date"]
    band = answer["forecast"]
    assert band["available"] is True
    now = live_client.get(f"/forecast/btc-usd?date={band['date']}").get_json()  # issue 96
    for key in ("prediction", "prediction_low", "prediction_high"):
        assert band[key] == now[key]
    low, high = band["prediction_low"], band["prediction_high"]
    expected = "below" if last.close < low else "above" if last.close > high else "inside"
    assert band["position"] == expected


@pytest.mark.parametrize("level", [50, 95])
def test_price_gives_the_band_at_the_level_asked_as_the_forecast_routes_do(
    live_client, conforms, level
):
    response = live_client.get(f"/price/btc-usd?level={level}")
    conforms("/price/{asset}", response)
    band = response.get_json()["forecast"]
    query = f"date={band['date']}&level={level}"
    at_close = live_client.get(f"/forecast/btc-usd?{query}").get_json()
    same = ("prediction_low", "prediction_high", "level", "kind", "data_until", "lead_hours")
    assert {key: band[key] for key in same} == {key: at_close[key] for key in same}
    assert band["level"] == level
    assert live_client.get("/price/btc-usd?level=75").status_code == 400


def test_rows_are_served_as_they_land(artifacts, artifact_dir, minutes, tmp_path):
    url = f"sqlite:///{tmp_path / 'market.db'}"
    client = create_app(
        artifacts, ApiSettings(model_dir=artifact_dir, database_url=url)
    ).test_client()
    assert client.get("/price/btc-usd").status_code == 404  # no database yet
    with MinuteStore.open(url) as store:
        store.write(minutes[:10])
        assert client.get("/price/btc-usd").get_json()["price"] == minutes[9].close
        store.write(minutes[10:12])
        assert client.get("/price/btc-usd").get_json()["price"] == minutes[11].close
        assert client.get("/candles/btc-usd?interval=1m").get_json()["count"] == 12


def test_without_a_database_price_is_a_404_and_candles_behave_as_before(client, conforms):
    response = client.get("/price/btc-usd")
    assert response.status_code == 404
    conforms("/price/{asset}", response)
    body = response.get_json()
    assert body["error"] == "no_minute_data"
    assert "LATEST_PRICES" in body["detail"]
    finer = client.get("/candles/btc-usd?interval=5m")
    assert finer.status_code == 422
    assert "finer than the stored 1h bars" in finer.get_json()["detail"]
    assert client.get("/price/doge-usd").status_code == 404


def test_only_minute_candles_point_to_the_feed(client):
    """Issue 35: ETH/USD's daily bars asked for hourly candles: the refusal, without a hint
    about live minutes that would not give them."""
    hourly = client.get("/candles/eth-usd?interval=1h").get_json()
    assert (
        hourly["detail"]
        == "interval 1h is finer than the stored 1d bars; use a whole multiple of 1d"
    )
    minutes = client.get("/candles/eth-usd?interval=5m").get_json()
    assert "LATEST_PRICES" in minutes["detail"]


def test_live_lists_the_minute_windows_and_says_why_when_empty(live_client, client, conforms):
    answer = live_client.get("/live")
    conforms("/live", answer)
    body = answer.get_json()
    assert list(body["assets"]) == ["btc-usd"]  # ETH has no minutes
    assert body["assets"]["btc-usd"]["count"] == 179
    assert body["detail"] is None
    empty = client.get("/live")
    conforms("/live", empty)
    assert empty.get_json()["assets"] == {}
    assert "LATEST_PRICES" in empty.get_json()["detail"]


def test_an_instant_the_forecast_does_not_cover_says_so(artifacts, artifact_dir, minutes, tmp_path):
    """Now, past the horizon the forecasts are served to (the fixture's data ends months ago)."""
    url = f"sqlite:///{tmp_path / 'market.db'}"
    with MinuteStore.open(url) as store:
        store.write(minutes[:3])
    settings = ApiSettings(model_dir=artifact_dir, database_url=url, max_horizon_days=7)
    client = create_app(artifacts, settings).test_client()
    band = client.get("/price/btc-usd").get_json()["forecast"]
    assert band["available"] is False
    assert "valid dates run from" in band["detail"]


@pytest.mark.parametrize("cache", [(600.0, 10), (0.0, 12)], ids=["cached", "uncached"])
def test_live_reuses_its_windows_for_live_cache_seconds(
    artifacts, artifact_dir, minutes, tmp_path, cache
):
    """Every asset's window comes from one query, reused for LIVE_CACHE_SECONDS; the price is
    read afresh every time."""
    cache_seconds, seen = cache
    url = f"sqlite:///{tmp_path / 'market.db'}"
    settings = ApiSettings(
        model_dir=artifact_dir, database_url=url, live_cache_seconds=cache_seconds
    )
    client = create_app(artifacts, settings).test_client()
    with MinuteStore.open(url) as store:
        store.write(minutes[:10])
        assert client.get("/live").get_json()["assets"]["btc-usd"]["count"] == 10
        store.write(minutes[10:12])
        assert client.get("/live").get_json()["assets"]["btc-usd"]["count"] == seen
        assert client.get("/price/btc-usd").get_json()["price"] == minutes[11].close
