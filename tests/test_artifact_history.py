"""history.npy as compact as it is exact (schema 5): decimal columns as whole ticks, computed
ones as float64, times as uint32, every value read back bit for bit; and what a tampered layout
is refused with."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cryptopredict.artifact.arrays import ArtifactError, BarHistory, encode_record, open_table
from cryptopredict.artifact.history import (
    FLOAT,
    encode_history,
    exact_ticks,
    stored_history,
)
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


def stored(data: bytes, tmp_path: Path):
    """`data` as history.npy, opened as the reader opens it (memory-mapped)."""
    path = tmp_path / "history.npy"
    path.write_bytes(data)
    with path.open("rb") as opened:
        record, _ = open_table(path, opened)
    return stored_history(path, record)


def test_every_value_reads_back_bit_for_bit_from_a_file_half_the_size(spot_bars, tmp_path):
    data = encode_history(spot_bars)
    history = stored(data, tmp_path)
    assert history.ds.dtype == np.uint32
    for name in ("open", "high", "low", "close"):
        assert history._columns[name][0].dtype == np.int32  # ADA's four decimals
        assert history._columns[name][1] == 4
    assert history._columns["vwap"][1] == FLOAT  # (high + low + close) / 3: no decimal
    whole = history.expand()
    for name in BarHistory.names():
        assert np.array_equal(whole[name], spot_bars[name]), name
        assert whole[name].dtype == spot_bars[name].dtype
    float_layout = 7 * 8 * len(spot_bars)
    assert len(data) < 0.65 * float_layout  # ADA: 64%


def test_slices_positions_and_single_values_match_the_bars(spot_bars, tmp_path):
    history = stored(encode_history(spot_bars), tmp_path)
    rows = history.rows(100, 160)
    for name in BarHistory.names():
        assert np.array_equal(rows[name], spot_bars[name][100:160])
    positions = np.array([0, 7, len(spot_bars) - 1])
    assert np.array_equal(history.values("close", positions), spot_bars.close[positions])
    close = history.reader("close")
    assert [close(int(p)) for p in positions] == spot_bars.close[positions].tolist()
    assert np.array_equal(history.close, spot_bars.close)


def test_single_values_read_from_a_float64_column_stored_unaligned(spot_bars, tmp_path):
    """An odd count of uint32 times puts a float64 column right after them at an offset that is
    no multiple of 8 (a memoryview cannot index it): its values still read one at a time."""
    columns = {name: spot_bars[name][:101] for name in BarHistory.names()}
    columns["open"] = spot_bars.vwap[:101]  # computed: stored as float64, next to `ds`
    history = stored(encode_history(BarHistory(**columns)), tmp_path)
    opens, decimals = history._columns["open"]
    assert decimals == FLOAT
    assert not opens.flags.aligned
    read = history.reader("open")
    assert [read(p) for p in (0, 50, 100)] == columns["open"][[0, 50, 100]].tolist()


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
    history = stored(encode_history(shifted), tmp_path)
    assert history.ds.dtype == np.int64
    assert np.array_equal(history["ds"], shifted.ds)


def test_a_tampered_layout_is_refused_naming_the_column(spot_bars, tmp_path):
    columns = {name: spot_bars[name][:5] for name in BarHistory.names()}
    columns["ds"] = columns["ds"].astype(np.int64)
    decimals = {f"{name}_decimals": FLOAT for name in BarHistory.names()[1:]}
    assert len(stored(encode_record(decimals, columns), tmp_path)) == 5
    with pytest.raises(ArtifactError, match="close is float64 with 4 decimals, not whole ticks"):
        stored(encode_record({**decimals, "close_decimals": 4}, columns), tmp_path)
    without = {key: value for key, value in decimals.items() if key != "volume_decimals"}
    with pytest.raises(ArtifactError, match="lacks volume_decimals"):
        stored(encode_record(without, columns), tmp_path)
    ticks = {**columns, "close": np.arange(5, dtype=np.int32)}
    with pytest.raises(ArtifactError, match="close is int32 with 13 decimals"):
        stored(encode_record({**decimals, "close_decimals": 13}, ticks), tmp_path)
