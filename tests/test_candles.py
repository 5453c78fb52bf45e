"""The interval and candle core: parsing, aggregation properties, and an independent pandas
resample of the real hourly history; and the data package's use of it."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from cryptopredict.candles import Candles, Interval, IntervalError, aggregate
from cryptopredict.data.frame import Bars, check_frame, resample
from tests.pandas_candles import pandas_candles

MINUTE = Interval.parse("1m")
HOUR = Interval.parse("1h")
START = int(pd.Timestamp("2024-03-01", tz="UTC").timestamp())


def bars_of(frame: pd.DataFrame) -> Candles:
    """Bars of a canonical frame as the core takes them, each bar's VWAP its typical price."""
    return Candles(
        ds=(frame["timestamp"].astype("int64") // 10**9).to_numpy(),
        **{name: frame[name].to_numpy() for name in ("open", "high", "low", "close", "volume")},
        vwap=((frame["high"] + frame["low"] + frame["close"]) / 3).to_numpy(),
        complete=np.ones(len(frame), dtype=bool),
    )


@pytest.mark.parametrize(
    ("text", "delta"),
    [("1m", "1min"), ("5m", "5min"), ("1h", "1h"), ("4h", "4h"), ("1d", "1D"), ("1w", "7D")],
)
def test_intervals_parse(text, delta):
    interval = Interval.parse(text)
    assert interval.delta == pd.Timedelta(delta)
    assert interval.seconds == pd.Timedelta(delta).total_seconds()
    assert str(interval) == interval.label == text
    assert Interval.parse(f" {text.upper()} ") == interval


@pytest.mark.parametrize("text", ["", "h", "0h", "1y", "1.5h", "-1h", "1 h", "1234567h"])
def test_bad_intervals_are_refused(text):
    with pytest.raises(IntervalError, match="is not an interval; use a whole number and a unit"):
        Interval.parse(text)


def test_multiples():
    assert Interval.parse("4h").is_multiple_of(HOUR)
    assert HOUR.is_multiple_of(HOUR)
    assert Interval.parse("1w").is_multiple_of(Interval.parse("1d"))
    assert not Interval.parse("90m").is_multiple_of(HOUR)
    assert not Interval.parse("30m").is_multiple_of(HOUR)


def test_weeks_open_on_monday_and_days_at_midnight_utc():
    monday = int(pd.Timestamp("2024-03-04", tz="UTC").timestamp())
    sunday_night = monday + 6 * 86_400 + 23 * 3600
    week = Interval.parse("1w")
    assert week.open_times(np.array([sunday_night]))[0] == monday
    assert week.open_time(monday - 1) == monday - 7 * 86_400
    assert week.open_time(monday + 1, rounding=lambda x: -int(-x // 1)) == monday + 7 * 86_400
    assert Interval.parse("1d").open_time(sunday_night) == sunday_night - 23 * 3600
    assert Interval.parse("4h").open_time(sunday_night) == sunday_night - 3 * 3600


@st.composite
def minute_bars(draw) -> Candles:
    """Up to 300 minute bars from a random minute, some missing, with any prices and volumes
    (zero and subnormal ones included) that a bar can hold."""
    count = draw(st.integers(min_value=1, max_value=300))

    def floats(elements: st.SearchStrategy[float]) -> np.ndarray:
        return draw(hnp.arrays(np.float64, count, elements=elements))

    start = START + 60 * draw(st.integers(min_value=0, max_value=59))
    keep = draw(hnp.arrays(np.bool_, count)) | (np.arange(count) == 0)
    price = st.floats(min_value=1.0, max_value=1e6)
    ends = np.sort(np.stack([floats(price), floats(price)]), axis=0)
    low, high = ends[0], ends[1]

    def inside() -> np.ndarray:
        return np.clip(low + floats(st.floats(0, 1)) * (high - low), low, high)

    volume = floats(st.one_of(st.just(0.0), st.floats(min_value=0, max_value=1e4)))
    ds = start + 60 * np.arange(count, dtype=np.int64)
    columns = (ds, inside(), high, low, inside(), volume, inside())
    return Candles(*(column[keep] for column in columns), complete=keep[keep])


def one_bar(price: float, volume: float, *, low: float, high: float) -> Candles:
    def one(value: float) -> np.ndarray:
        return np.array([value])

    return Candles(
        np.array([START]),
        one(price),
        one(high),
        one(low),
        one(price),
        one(volume),
        one(price),
        complete=np.array([True]),
    )


@pytest.mark.slow  # 150 generated histories: seconds, not milliseconds
@given(bars=minute_bars(), minutes=st.sampled_from([5, 10, 15, 60]))
# Once drawn at random and failed: one bar at 2.5 with the smallest float as its volume gave a
# VWAP of 2.0, below the bar's low (price times volume underflowed).
@example(bars=one_bar(2.5, 5e-324, low=2.5, high=2.5), minutes=5)
@settings(max_examples=150, deadline=None)
def test_aggregation_properties(bars, minutes):
    candles = aggregate(bars, MINUTE, Interval.parse(f"{minutes}m"))
    assert np.all(np.diff(candles.ds) > 0)
    assert np.isclose(candles.volume.sum(), bars.volume.sum())
    assert np.all(candles.high >= np.maximum(candles.open, candles.close))
    assert np.all(candles.low <= np.minimum(candles.open, candles.close))
    assert np.all(candles.vwap <= candles.high * (1 + 1e-12))
    assert np.all(candles.vwap >= candles.low * (1 - 1e-12))
    assert candles.high.max() == bars.high.max()
    assert candles.low.min() == bars.low.min()
    assert np.all(candles.ds % (60 * minutes) == 0)
    _, counts = np.unique(bars.ds // (60 * minutes), return_counts=True)
    np.testing.assert_array_equal(candles.complete, counts == minutes)


@pytest.mark.parametrize("volume", [5e-324, 1e-310, 2.2e-308])
def test_a_one_bar_candle_with_a_subnormal_volume_has_its_vwap_inside_the_bar(volume):
    bar = one_bar(2.5, volume, low=2.4, high=2.6)
    candle = aggregate(bar, MINUTE, Interval.parse("5m"))
    assert candle.low[0] <= candle.vwap[0] <= candle.high[0]
    assert candle.vwap[0] == 2.5


@pytest.mark.parametrize(
    ("interval", "rule", "options", "per_candle"),
    [
        ("4h", "4h", {"origin": "epoch"}, 4),
        ("1d", "1D", {}, 24),
        ("1w", "W-MON", {"closed": "left", "label": "left"}, 168),
    ],
)
def test_candles_equal_an_independent_pandas_resample(
    snapshot_hourly, interval, rule, options, per_candle
):
    months = snapshot_hourly[snapshot_hourly["timestamp"].between("2024-04-03", "2024-06-29")]
    months = months.drop(index=months.index[[40, 41, 500]])  # gaps, as real histories have
    months.loc[months.index[100:130], "volume"] = 0.0  # a day without trades
    bars = bars_of(months)
    candles = aggregate(bars, HOUR, Interval.parse(interval))
    indexed = pd.DataFrame(
        {name: getattr(bars, name) for name in ("open", "high", "low", "close", "volume", "vwap")},
        index=pd.to_datetime(bars.ds, unit="s"),
    )
    expected = pandas_candles(indexed, rule, per_candle, **options)
    opened = pd.to_datetime(candles.ds, unit="s")
    np.testing.assert_array_equal(opened, expected.index)
    for name in ("open", "high", "low", "close"):
        np.testing.assert_array_equal(getattr(candles, name), expected[name], err_msg=name)
    for name in ("volume", "vwap"):
        np.testing.assert_allclose(getattr(candles, name), expected[name], rtol=1e-12)
    np.testing.assert_array_equal(candles.complete, expected["complete"])
    assert not candles.complete.all()


def test_weeks_start_on_monday_and_partial_weeks_are_flagged(snapshot_hourly):
    candles = aggregate(bars_of(snapshot_hourly.iloc[: 24 * 30]), HOUR, Interval.parse("1w"))
    # 2021-01-01 was a Friday: the first week is partial, and so is the last.
    assert pd.Timestamp(int(candles.ds[0]), unit="s") == pd.Timestamp("2020-12-28")
    assert not candles.complete[0]
    assert not candles.complete[-1]
    assert int(candles.complete.sum()) == len(candles) - 2


def test_zero_volume_candles_fall_back_to_the_mean_price(snapshot_hourly):
    frame = snapshot_hourly.iloc[:4].assign(volume=0.0)
    candles = aggregate(bars_of(frame), HOUR, Interval.parse("4h"))
    typical = (frame["high"] + frame["low"] + frame["close"]) / 3
    assert candles.vwap[0] == pytest.approx(typical.mean())


def test_no_bars_give_no_candles():
    empty = np.empty(0)
    bars = Candles(np.empty(0, dtype=np.int64), *[empty] * 6, complete=np.empty(0, dtype=bool))
    assert len(aggregate(bars, HOUR, Interval.parse("1d"))) == 0


@pytest.mark.parametrize("target", ["90m", "30m"])
def test_intervals_that_are_not_whole_multiples_are_refused(snapshot_hourly, target):
    with pytest.raises(IntervalError, match="use a whole multiple of 1h"):
        aggregate(bars_of(snapshot_hourly.iloc[:10]), HOUR, Interval.parse(target))


def test_the_data_package_resamples_frames_with_the_core(snapshot_hourly):
    frame = snapshot_hourly.iloc[:30].reset_index(drop=True)  # one day and six hours
    daily, complete = resample(Bars(frame, "BTC/USD", HOUR, "snapshot"), "1d")
    check_frame(daily.frame)
    assert daily.interval == Interval.parse("1d")
    assert daily.interval.delta == timedelta(days=1)
    assert complete.tolist() == [True, False]  # the second day is still running
    assert daily.frame["high"].iloc[0] == frame["high"].iloc[:24].max()
    assert daily.frame["close"].iloc[0] == frame["close"].iloc[23]
