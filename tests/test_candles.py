"""Candles: aggregation properties, VWAP, flags, against an independent pandas resample."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cryptopredict.data.candles import aggregate
from cryptopredict.data.frame import Bars, check_frame
from cryptopredict.data.intervals import Interval

MINUTE = Interval.parse("1m")


@st.composite
def minute_bars(draw) -> Bars:
    count = draw(st.integers(min_value=1, max_value=300))
    start = pd.Timestamp("2024-03-01", tz="UTC") + pd.Timedelta(
        minutes=draw(st.integers(min_value=0, max_value=59))
    )
    keep = draw(st.lists(st.booleans(), min_size=count, max_size=count))
    price = st.floats(min_value=1.0, max_value=1e6, allow_nan=False)
    rows = []
    for index in range(count):
        if not keep[index] and index:
            continue
        low, high = sorted(draw(st.lists(price, min_size=2, max_size=2)))
        open_, close = (draw(st.floats(min_value=low, max_value=high)) for _ in range(2))
        volume = draw(st.one_of(st.just(0.0), st.floats(min_value=0, max_value=1e4)))
        rows.append((start + pd.Timedelta(minutes=index), open_, high, low, close, volume))
    frame = pd.DataFrame(rows, columns=["timestamp", "open", "high", "low", "close", "volume"])
    return Bars(frame.astype({"timestamp": "datetime64[ns, UTC]"}), "BTC/USD", MINUTE, "test")


@pytest.mark.slow  # 150 generated histories through pandas: about 20 s of CPU
@given(bars=minute_bars(), minutes=st.sampled_from([5, 10, 15, 60]))
@settings(max_examples=150, deadline=None)
def test_aggregation_properties(bars, minutes):
    candles = aggregate(bars, f"{minutes}m")
    frame = candles.bars.frame
    check_frame(frame)
    assert np.isclose(frame["volume"].sum(), bars.frame["volume"].sum())
    assert (frame["high"] >= frame[["open", "close"]].max(axis=1)).all()
    assert (frame["low"] <= frame[["open", "close"]].min(axis=1)).all()
    assert (frame["vwap"] <= frame["high"] * (1 + 1e-9)).all()
    assert (frame["vwap"] >= frame["low"] * (1 - 1e-9)).all()
    assert frame["high"].max() == bars.frame["high"].max()
    assert frame["low"].min() == bars.frame["low"].min()
    assert (frame["timestamp"].dt.minute % minutes == 0).all()
    counts = bars.frame.groupby(bars.frame["timestamp"].dt.floor(f"{minutes}min")).size()
    np.testing.assert_array_equal(candles.complete, (counts == minutes).to_numpy())


def test_daily_candles_equal_an_independent_resample(snapshot_hourly):
    month = snapshot_hourly[snapshot_hourly["timestamp"].between("2024-05-01", "2024-05-31 23:00")]
    bars = Bars(month.reset_index(drop=True), "BTC/USD", Interval.parse("1h"), "snapshot")
    candles = aggregate(bars, "1d")
    expected = (
        month.set_index("timestamp")
        .resample("1D")
        .agg({"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"})
    )
    got = candles.bars.frame.set_index("timestamp")
    pd.testing.assert_frame_equal(got[expected.columns], expected, check_freq=False)
    typical = (month["high"] + month["low"] + month["close"]) / 3
    weighted = (typical * month["volume"]).groupby(month["timestamp"].dt.floor("1D")).sum()
    np.testing.assert_allclose(got["vwap"], weighted / expected["volume"], rtol=1e-12)
    assert candles.complete.all()


def test_weeks_start_on_monday_and_partial_weeks_are_flagged(snapshot_hourly):
    bars = Bars(snapshot_hourly.iloc[: 24 * 30], "BTC/USD", Interval.parse("1h"), "snapshot")
    candles = aggregate(bars, "1w")
    frame = candles.bars.frame
    assert (frame["timestamp"].dt.day_of_week == 0).all()
    # 2021-01-01 was a Friday: the first week is partial, and so is the last.
    assert frame["timestamp"].iloc[0] == pd.Timestamp("2020-12-28", tz="UTC")
    assert not candles.complete[0]
    assert not candles.complete[-1]
    assert len(candles.complete_only().frame) == len(frame) - 2


def test_a_trailing_incomplete_bucket_is_flagged(snapshot_hourly):
    bars = Bars(snapshot_hourly.iloc[:30], "BTC/USD", Interval.parse("1h"), "snapshot")
    candles = aggregate(bars, "1d")
    assert candles.complete.tolist() == [True, False]
    assert len(candles.complete_only().frame) == 1


def test_zero_volume_candles_fall_back_to_the_mean_price(snapshot_hourly):
    frame = snapshot_hourly.iloc[:4].assign(volume=0.0)
    candles = aggregate(Bars(frame, "BTC/USD", Interval.parse("1h"), "t"), "4h")
    typical = (frame["high"] + frame["low"] + frame["close"]) / 3
    assert candles.bars.frame["vwap"].iloc[0] == pytest.approx(typical.mean())


@pytest.mark.parametrize("target", ["90m", "30m", "1h"])
def test_intervals_that_are_not_whole_multiples_are_refused(snapshot_hourly, target):
    bars = Bars(snapshot_hourly.iloc[:10], "BTC/USD", Interval.parse("4h"), "t")
    with pytest.raises(ValueError, match="not a whole multiple"):
        aggregate(bars, target)
