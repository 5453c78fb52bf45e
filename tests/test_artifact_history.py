"""history.npy sized to what is served, as compact as it is exact (schema 8): every bar's close,
every column of the last 90 days' bars, the daily and weekly candles of the whole history, each
read back bit for bit; decimal columns as whole ticks, computed ones as float64; and what a
tampered layout is refused with."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cryptopredict.artifact.arrays import (
    DAY,
    FULL_DAYS,
    ArtifactError,
    BarHistory,
    encode_record,
    open_table,
)
from cryptopredict.artifact.history import (
    FLOAT,
    TABLES,
    encode_history,
    exact_ticks,
    stored_history,
)
from cryptopredict.candles import KEPT, Interval, aggregate, kept_candles
from cryptopredict.data.csvfile import read_ohlcv_csv
from cryptopredict.data.snapshot import SnapshotSource


@pytest.fixture(scope="module")
def spot_bars() -> BarHistory:
    """Two years of real hourly ADA/USDT bars: Binance's decimals, and a computed VWAP."""
    frame = read_ohlcv_csv(
        SnapshotSource().data_dir / "binance-spot-16pairs-1h.csv.gz", pair=["ADAUSDT"]
    )
    typical = (frame["high"] + frame["low"] + frame["close"]) / 3
    return BarHistory(
        ds=(frame["timestamp"].astype("int64") // 10**9).to_numpy(),
        open=frame["open"].to_numpy(),
        high=frame["high"].to_numpy(),
        low=frame["low"].to_numpy(),
        close=frame["close"].to_numpy(),
        volume=frame["volume"].to_numpy(),
        vwap=typical.to_numpy(),
    )


HOURLY = Interval(1, "h")
HOUR = HOURLY.seconds


def stored(data: bytes, tmp_path: Path):
    """`data` as history.npy, opened as the reader opens it (memory-mapped)."""
    path = tmp_path / "history.npy"
    path.write_bytes(data)
    with path.open("rb") as opened:
        record, _ = open_table(path, opened)
    return stored_history(path, record)


def test_every_close_and_the_last_90_days_whole_read_back_bit_for_bit(spot_bars, tmp_path):
    data = encode_history(spot_bars, HOUR, kept_candles(spot_bars, HOURLY))
    history = stored(data, tmp_path)
    assert np.array_equal(history.ds, spot_bars.ds)
    assert np.array_equal(history["close"], spot_bars.close)
    last = int(spot_bars.ds[-1])
    assert history.whole_from == (last - FULL_DAYS * DAY) // DAY * DAY
    whole = history.rows(history.first_bar, last + 1)
    kept = spot_bars.ds >= history.whole_from
    for name in BarHistory.names():
        assert np.array_equal(whole[name], spot_bars[name][kept]), name
    assert history.stored_close.stored.dtype == np.int32  # ADA's four decimals
    assert history.whole["vwap"].decimals == FLOAT  # (high + low + close) / 3: no decimal
    # Two years of hourly bars in a sixth of the bytes of seven float64 columns (ADA: 16%).
    assert len(data) < 7 * 8 * len(spot_bars) / 6


@pytest.mark.parametrize("table", range(len(TABLES)))
def test_the_daily_and_weekly_candles_are_the_bars_aggregated(spot_bars, tmp_path, table):
    history = stored(encode_history(spot_bars, HOUR, kept_candles(spot_bars, HOURLY)), tmp_path)
    kept = history.tables[table]
    expected = aggregate(spot_bars, HOURLY, KEPT[kept.name])
    candles, whole = kept.rows(kept.first, history.last_bar + 1, history.step)
    for name in BarHistory.names():
        assert np.array_equal(candles[name], expected.__dict__[name]), name
    assert np.array_equal(whole, expected.complete)


def test_a_missing_bar_has_no_close(spot_bars, tmp_path):
    missing = 1000
    columns = {name: np.delete(spot_bars[name], missing) for name in BarHistory.names()}
    history = stored(
        encode_history(bars := BarHistory(**columns), HOUR, kept_candles(bars, HOURLY)), tmp_path
    )
    labels = spot_bars.ds[missing - 1 : missing + 2]
    assert [history.close_at(int(label)) for label in labels] == [
        spot_bars.close[missing - 1],
        None,
        spot_bars.close[missing + 1],
    ]
    closes = history.closes_at(np.r_[labels, labels[0] + 1800, spot_bars.ds[-1] + 3600])
    assert np.array_equal(closes[[0, 2]], spot_bars.close[[missing - 1, missing + 1]])
    assert np.isnan(closes[[1, 3, 4]]).all()
    assert np.array_equal(history.ds, columns["ds"])


def test_daily_bars_keep_every_column_and_no_candles(spot_bars, tmp_path):
    daily = aggregate(spot_bars, HOURLY, Interval(1, "d"))
    bars = BarHistory(**{name: daily.__dict__[name] for name in BarHistory.names()})
    history = stored(encode_history(bars, DAY, kept_candles(bars, Interval(1, "d"))), tmp_path)
    assert history.tables == ()
    whole = history.rows(history.first_bar, history.last_bar + 1)
    for name in BarHistory.names():
        assert np.array_equal(whole[name], bars[name]), name


@pytest.mark.parametrize(
    ("values", "dtype", "decimals"),
    [
        (np.array([69010.01, 68155.99, 1.0]), np.int32, 2),
        (np.array([0.00000896, 0.00001234]), np.int32, 8),  # PEPE's eight decimals
        (np.array([1.2e12, 3.0]), np.int64, 0),  # a volume beyond int32
        (np.array([1 / 3, 2.5]), np.float64, FLOAT),
        (np.array([1e-13, 1.0]), np.float64, FLOAT),  # more decimals than MAX_DECIMALS
    ],
)
def test_the_fewest_exact_decimals_else_float64(values, dtype, decimals):
    ticks, found = exact_ticks(values)
    assert (ticks.dtype, found) == (np.dtype(dtype), decimals)
    back = ticks if found == FLOAT else ticks / 10.0**found
    assert np.array_equal(back, values)


def test_times_past_2106_are_int64(spot_bars, tmp_path):
    later = BarHistory(**{name: spot_bars[name][:3] for name in BarHistory.names()})
    shifted = BarHistory(ds=later.ds + 2**32, **{n: later[n] for n in BarHistory.names()[1:]})
    history = stored(encode_history(shifted, HOUR, kept_candles(shifted, HOURLY)), tmp_path)
    assert np.array_equal(history["ds"], shifted.ds)


def _fields(data: bytes, tmp_path: Path) -> tuple[dict, dict]:
    """The scalars and the columns of the record `data`."""
    path = tmp_path / "written.npy"
    path.write_bytes(data)
    record = np.load(path)
    names = record.dtype.names
    scalars = {name: int(record[name]) for name in names if record[name].shape == ()}
    columns = {name: np.array(record[name]) for name in names if name not in scalars}
    return scalars, columns


def test_a_tampered_layout_is_refused_naming_the_column(spot_bars, tmp_path):
    scalars, columns = _fields(
        encode_history(spot_bars, HOUR, kept_candles(spot_bars, HOURLY)), tmp_path
    )
    assert len(stored(encode_record(scalars, columns), tmp_path)) == len(spot_bars)
    with pytest.raises(ArtifactError, match="close is int32 with 13 decimals, not whole ticks"):
        stored(encode_record({**scalars, "close_decimals": 13}, columns), tmp_path)
    without = {key: value for key, value in scalars.items() if key != "volume_decimals"}
    with pytest.raises(ArtifactError, match="lacks volume_decimals"):
        stored(encode_record(without, columns), tmp_path)
    shorter = {**columns, "open": columns["open"][1:]}
    with pytest.raises(ArtifactError, match="open does not match close from full_from in length"):
        stored(encode_record(scalars, shorter), tmp_path)
    unopened = {**columns, "close": np.r_[0, columns["close"][1:]].astype(np.int32)}
    with pytest.raises(ArtifactError, match="the first or the last slot holds no bar"):
        stored(encode_record(scalars, unopened), tmp_path)
    counts = {**columns, "day_bars": columns["day_bars"].astype(np.int64)}
    with pytest.raises(ArtifactError, match="day_bars is int64, not int32"):
        stored(encode_record(scalars, counts), tmp_path)
