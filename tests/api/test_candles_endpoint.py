"""`/candles/{asset}`: aggregated with numpy, checked against an independent pandas resample."""

from __future__ import annotations

import dataclasses
import io
import json

import numpy as np
import pandas as pd
import pytest

from cryptopredict.api.app import create_app
from cryptopredict.api.serving.forecast import price_decimals
from cryptopredict.artifact.arrays import BarHistory
from cryptopredict.artifact.schema import MANIFEST
from cryptopredict.data.frame import bar_vwap
from cryptopredict.utc import iso_utc
from tests.api.artifacts import DAY, HOUR, every_bar, rewrite
from tests.artifact_files import load_artifacts
from tests.pandas_candles import pandas_candles

ROUTE = "/candles/{asset}"
PRICES = ["open", "high", "low", "close"]


def resample(history: BarHistory, rule: str, per_candle: int, **options) -> pd.DataFrame:
    """The candles pandas builds from the same bars."""
    bars = pd.DataFrame(
        {name: history[name] for name in (*PRICES, "volume", "vwap")},
        index=pd.to_datetime(history.ds, unit="s"),  # naive UTC: pandas honours `origin`
    )
    return pandas_candles(bars, rule, per_candle, **options)


def answer_frame(answer: dict) -> pd.DataFrame:
    columns = [*PRICES, "volume", "vwap", "complete"]
    index = pd.DatetimeIndex(pd.to_datetime(answer["date"], utc=True)).tz_convert(None)
    return pd.DataFrame({name: answer[name] for name in columns}, index=index)


CASES = [
    # asset, interval, pandas rule and options, bars per candle
    ("btc-usd", "1h", ("1h", {}), 1),
    ("btc-usd", "4h", ("4h", {"origin": "epoch"}), 4),
    ("btc-usd", "1d", ("1D", {}), 24),
    ("btc-usd", "1w", ("W-MON", {"closed": "left", "label": "left"}), 168),
    ("eth-usd", "1d", ("1D", {}), 1),
    ("eth-usd", "3d", ("3D", {"origin": "epoch"}), 3),
    ("eth-usd", "1w", ("W-MON", {"closed": "left", "label": "left"}), 7),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{case[0]}-{case[1]}" for case in CASES])
def test_candles_equal_an_independent_pandas_resample(client, artifacts, conforms, case):
    asset, interval, (rule, options), per_candle = case
    expected = resample(every_bar(artifacts[asset]), rule, per_candle, **options)
    first, last = (f"{day.isoformat()}Z" for day in expected.index[[0, -1]])
    query = {"interval": interval, "start": first, "end": last}
    response = client.get(f"/candles/{asset}", query_string=query)
    assert response.status_code == 200, response.get_json()
    conforms(ROUTE, response)
    answer = response.get_json()
    got = answer_frame(answer)
    assert answer["count"] == len(expected)
    np.testing.assert_array_equal(got.index.to_numpy(), expected.index.to_numpy())
    for name in (*PRICES, "complete"):
        np.testing.assert_array_equal(got[name], expected[name], err_msg=name)
    assert_rounded(got, expected)
    assert answer["interval"] == interval
    assert answer["stored_interval"] == artifacts[asset].manifest.interval


def test_the_fixtures_hold_partial_candles_and_a_week_without_trades(client):
    """The resample comparison covers what matters: gaps, partial ends, and no volume."""
    btc = client.get("/candles/btc-usd?interval=1d").get_json()  # the whole history
    assert btc["complete"].count(False) == 3  # the partial first and last days, and the gap
    eth = client.get("/candles/eth-usd?interval=1w&start=2025-01-01").get_json()
    quiet = [i for i, volume in enumerate(eth["volume"]) if volume == 0]
    assert len(quiet) == 1
    assert eth["low"][quiet[0]] <= eth["vwap"][quiet[0]] <= eth["high"][quiet[0]]


def test_by_default_the_last_90_candles_of_the_stored_interval(client, facts, conforms):
    response = client.get("/candles/btc-usd")
    conforms(ROUTE, response)
    answer = response.get_json()
    assert answer["interval"] == "1h"
    assert answer["count"] == 90
    assert answer["date"][-1] == answer["end"] == iso_utc(facts.last_bar)
    assert answer["date"][0] == answer["start"] == iso_utc(facts.last_bar - 89 * HOUR)
    weekly = client.get("/candles/eth-usd?interval=1w").get_json()
    assert weekly["count"] == len(weekly["date"]) < 90  # the whole history is shorter


def test_a_range_takes_the_candles_opening_inside_it_with_all_their_bars(client, facts):
    day = facts.last_bar - facts.last_bar % DAY - 3 * DAY
    answer = client.get(
        f"/candles/btc-usd?interval=1d&start={iso_utc(day - 1)}&end={iso_utc(day + HOUR)}"
    ).get_json()
    assert answer["date"] == [iso_utc(day)]
    assert answer["complete"] == [True]
    hourly = client.get(
        f"/candles/btc-usd?start={iso_utc(day)}&end={iso_utc(day + DAY - HOUR)}"
    ).get_json()
    assert answer["high"] == [max(hourly["high"])]
    assert answer["volume"] == [round(sum(hourly["volume"]), 8)]


def test_dates_beyond_what_datetime_shows_are_errors_or_clipped_never_500(client, facts):
    year_zero = "0001-01-01T00:00%2B23:00"
    answer = client.get(f"/candles/btc-usd?start={year_zero}&interval=1d")
    assert answer.status_code == 200
    assert answer.get_json()["start"] == iso_utc(facts.first_bar)  # candles open then
    reversed_range = client.get(f"/candles/btc-usd?start=0001-01-01&end={year_zero}")
    assert reversed_range.status_code == 422
    assert "seconds after 1970" in reversed_range.get_json()["detail"]


def test_csv_holds_the_same_candles(client, conforms):
    query = "interval=4h&start=2026-07-20&end=2026-07-24"
    response = client.get(f"/candles/btc-usd?{query}&format=csv")
    assert response.status_code == 200
    conforms(ROUTE, response)
    assert response.headers["Content-Disposition"] == 'inline; filename="btc-usd-candles-4h.csv"'
    table = pd.read_csv(io.StringIO(response.get_data(as_text=True)))
    answer = client.get(f"/candles/btc-usd?{query}").get_json()
    assert table["date"].tolist() == answer["date"]
    for name in (*PRICES, "volume", "vwap", "complete"):
        assert table[name].tolist() == answer[name], name


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("interval=1m", (422, "unsupported_interval", "finer than the stored 1h bars")),
        ("interval=90m", (422, "unsupported_interval", "no multiple of the stored 1h bars")),
        ("interval=1y", (400, "bad_request", "use a whole number and a unit m, h, d or w")),
        ("interval=0h", (400, "bad_request", "is not an interval")),
        ("interval=1.5h", (400, "bad_request", "is not an interval")),
        ("interval=9999999h", (400, "bad_request", "is not an interval")),
        ("interval=1h&interval=4h", (400, "bad_request", "interval is given 2 times")),
        ("start=yesterday", (400, "bad_request", "start='yesterday' is not an ISO-8601 date")),
        ("format=xml", (400, "bad_request", "use json or csv")),
        ("format=", (400, "bad_request", "use json or csv")),  # found by fuzzing
        ("interval=", (400, "bad_request", "is not an interval")),  # found by fuzzing
        ("start=2026-07-25&end=2026-07-20", (422, "out_of_range", "is after end")),
        # No end given: not "after end 2026-07-26", an end nobody asked for.
        ("start=2030-01-01", (422, "out_of_range", "is after the last bar of the BTC/USD history")),
        ("start=2030-01-01&end=2030-02-01", (422, "out_of_range", "history runs from")),
        ("start=2001-01-01&end=2001-02-01", (422, "out_of_range", "holds no bar")),
    ],
)
def test_bad_requests_are_clear_json_errors(client, conforms, query, expected):
    status, error, detail = expected
    response = client.get(f"/candles/btc-usd?{query}")
    assert response.status_code == status
    conforms(ROUTE, response)
    assert response.get_json()["error"] == error
    assert detail in response.get_json()["detail"]


def test_the_cap_is_the_candles_max_points_setting(artifacts, settings, conforms):
    capped = dataclasses.replace(settings, candles_max_points=24)
    client = create_app(artifacts, capped).test_client()
    too_many = client.get("/candles/btc-usd?interval=1h&start=2026-07-20&end=2026-07-21T00:00Z")
    assert too_many.status_code == 422
    conforms(ROUTE, too_many)
    assert too_many.get_json()["error"] == "too_many_points"
    assert "25 1h candles; at most 24 per request" in too_many.get_json()["detail"]
    assert client.get("/candles/btc-usd?interval=1d&start=2026-07-10").status_code == 200


def test_a_month_of_daily_candles_from_the_embedded_history_equals_a_resample(
    artifacts, settings, snapshot_hourly, tmp_path, conforms
):
    """Acceptance: `/candles/btc-usd?interval=1d` over a whole month of real hourly bars."""
    served = artifacts["btc-usd"]
    bars = snapshot_hourly[snapshot_hourly["timestamp"] >= "2026-05-25"]
    assert bars["timestamp"].iloc[-1].timestamp() == served.history.ds[-1]
    history = BarHistory(
        ds=bars["timestamp"]
        .dt.tz_convert(None)
        .to_numpy()
        .astype("datetime64[s]")
        .astype(np.int64),
        **{name: bars[name].to_numpy(dtype=np.float64) for name in (*PRICES, "volume")},
        vwap=bar_vwap(bars).to_numpy(dtype=np.float64),
    )
    data = {
        **json.loads((served.path / MANIFEST).read_bytes())["data"],
        "first": iso_utc(int(history.ds[0])),
        "last": iso_utc(int(history.ds[-1])),
    }
    rewritten = rewrite(served, tmp_path, history=history, manifest={"data": data})
    app = create_app(load_artifacts(rewritten), settings)
    client = app.test_client()
    june = {"interval": "1d", "start": "2026-06-01", "end": "2026-06-30"}
    response = client.get("/candles/btc-usd", query_string=june)
    assert response.status_code == 200, response.get_json()
    conforms(ROUTE, response)
    got = answer_frame(response.get_json())
    expected = resample(history, "1D", 24).loc["2026-06-01":"2026-06-30"]
    assert len(got) == len(expected) == 30
    np.testing.assert_array_equal(got.index.to_numpy(), expected.index.to_numpy())
    for name in (*PRICES, "complete"):
        np.testing.assert_array_equal(got[name], expected[name], err_msg=name)
    assert_rounded(got, expected)


def assert_rounded(got, expected) -> None:
    """Volume and VWAP as the API rounds them: volume to 1e-8, VWAP as prices (the cent, or six
    significant digits of the smallest low below 1): no float noise such as 16821.271800000002."""
    np.testing.assert_array_equal(got["volume"], expected["volume"].round(8))
    decimals = price_decimals(float(expected["low"].min()))
    np.testing.assert_array_equal(got["vwap"], expected["vwap"].round(decimals))
