"""The embedded snapshot is the real data its provenance describes; user CSVs read alike."""

from __future__ import annotations

import gzip
import hashlib
import re
import subprocess
import sys
from dataclasses import replace

import pandas as pd
import pytest

from cryptopredict.assets import ASSETS, asset_for_symbol
from cryptopredict.candles import Interval
from cryptopredict.config import HistorySettings
from cryptopredict.data.csvfile import CsvSource, read_ohlcv_csv
from cryptopredict.data.errors import SourceError, ValidationError
from cryptopredict.data.frame import BarQuery, Bars, FrameError, check_frame
from cryptopredict.data.snapshot import SnapshotSource
from cryptopredict.data.validation import validate

PROVENANCE = SnapshotSource().data_dir / "PROVENANCE.md"
EVERYTHING = (pd.Timestamp("2000-01-01", tz="UTC"), pd.Timestamp("2100-01-01", tz="UTC"))


def stated_sha256(name: str) -> str:
    section = PROVENANCE.read_text().split(f"`{name}`", 1)[1]
    return re.search(r"sha256: `([0-9a-f]{64})`", section).group(1)


@pytest.mark.parametrize(
    "name",
    [
        "btc-usd-1h.csv",
        "btc-usd-1d.csv",
        "eth-usd-1d.csv",
        "binance-spot-16pairs-1h.csv",
        "binance-spot-16pairs-1h-full.csv",
    ],
)
def test_embedded_files_are_byte_identical_to_their_provenance(name):
    data = gzip.decompress((PROVENANCE.parent / f"{name}.gz").read_bytes())
    assert hashlib.sha256(data).hexdigest() == stated_sha256(name)


@pytest.mark.parametrize(
    ("interval", "rows", "first", "last"),
    [
        ("1h", 48771, "2021-01-01 00:00", "2026-07-26 16:00"),
        ("1d", 4357, "2014-09-17", "2026-08-21"),
    ],
)
def test_snapshot_serves_real_btc_history(interval, rows, first, last):
    query = BarQuery(ASSETS["btc-usd"], Interval.parse(interval), *EVERYTHING)
    frame = SnapshotSource().fetch(query)
    check_frame(frame)
    assert len(frame) == rows
    assert frame["timestamp"].iloc[0] == pd.Timestamp(first, tz="UTC")
    assert frame["timestamp"].iloc[-1] == pd.Timestamp(last, tz="UTC")


def test_snapshot_anchor_values_match_the_provenance():
    query = BarQuery(ASSETS["btc-usd"], Interval.parse("1d"), *EVERYTHING)
    close = SnapshotSource().fetch(query).set_index("timestamp")["close"]
    assert close[pd.Timestamp("2021-11-08", tz="UTC")] == pytest.approx(67566.83, abs=0.01)
    assert close[pd.Timestamp("2025-10-06", tz="UTC")] == pytest.approx(124752.53, abs=0.01)
    assert close.idxmax() == pd.Timestamp("2025-10-06", tz="UTC")


def test_snapshot_builds_coarser_intervals_from_complete_bars():
    query = BarQuery(ASSETS["btc-usd"], Interval.parse("4h"), *EVERYTHING)
    frame = SnapshotSource().fetch(query)
    check_frame(frame)
    assert (frame["timestamp"].dt.hour % 4 == 0).all()
    # 2021-02-11 04:00 is missing from the hourly file, so that 4-hour bar is left out.
    assert pd.Timestamp("2021-02-11 04:00", tz="UTC") not in set(frame["timestamp"])


def test_snapshot_says_what_it_lacks():
    query = BarQuery(ASSETS["eth-usd"], Interval.parse("90m"), *EVERYTHING)
    with pytest.raises(SourceError, match=r"no 90m data for ETH/USD .embedded: 1d."):
        SnapshotSource().fetch(query)
    nosuch = BarQuery(asset_for_symbol("nosuch-usd"), Interval.parse("1h"), *EVERYTHING)
    # A pair it lacks altogether: the error names every pair it holds.
    held = ", ".join(SnapshotSource().slugs())
    with pytest.raises(SourceError) as raised:
        SnapshotSource().fetch(nosuch)
    assert str(raised.value).endswith(f"the embedded data holds no NOSUCH/USD; it holds {held}")
    assert held.startswith("btc-usd, eth-usd, ")
    assert "sol-usdt" in held  # as it trains and serves


def test_a_usd_pair_is_never_served_from_another_quote_s_rows():
    """Issue 106, item 6: `ASSETS=sol-usd make run` offline served Binance's SOL/USDT labelled
    SOL/USD; it is refused, naming the pair that trains."""
    query = BarQuery(asset_for_symbol("sol-usd"), Interval.parse("1h"), *EVERYTHING)
    with pytest.raises(SourceError, match=r"holds no SOL/USD, only SOL/USDT \(ASSETS=sol-usdt\);"):
        SnapshotSource().fetch(query)
    with pytest.raises(SourceError, match=r"no 1h data for ETH/USD \(embedded: 1d\)"):
        SnapshotSource().fetch(replace(query, asset=ASSETS["eth-usd"]))  # nor ETH/USDT's hours


def test_any_pair_of_the_embedded_spot_file_reads_its_own_rows():
    query = BarQuery(asset_for_symbol("sol-usdt"), Interval.parse("1h"), *EVERYTHING)
    frame = SnapshotSource().fetch(query)
    check_frame(frame)
    assert len(frame) == 17_520
    assert frame["timestamp"].iloc[0] == pd.Timestamp("2024-05-16T19:00", tz="UTC")
    assert frame["timestamp"].iloc[-1] == pd.Timestamp("2026-05-16T18:00", tz="UTC")
    assert 50 < frame["close"].iloc[-1] < 500, "SOL's price, not another pair's"
    daily = SnapshotSource().fetch(replace(query, interval=Interval.parse("1d")))
    assert len(daily) == 729, "whole days only, aggregated from the hours"
    # A pair's own file wins over the file of many pairs: BTC's reaches back to 2021.
    btc = SnapshotSource().fetch(replace(query, asset=ASSETS["btc-usd"]))
    assert btc["timestamp"].iloc[0] == pd.Timestamp("2021-01-01", tz="UTC")


def test_a_csv_of_many_pairs_gives_each_pair_its_rows_and_names_a_missing_one(tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text(
        "symbol,time,open,high,low,close,volume\n"
        "SOLUSDT,2024-01-01T00:00:00Z,100,110,90,105,1\n"
        "SOLUSDT,2024-01-02T00:00:00Z,105,120,100,115,2\n"
        "DOGEUSDT,2024-01-01T00:00:00Z,0.1,0.11,0.09,0.105,3\n"
    )
    day = Interval.parse("1d")
    sol = CsvSource(path).fetch(BarQuery(asset_for_symbol("sol-usdt"), day, *EVERYTHING))
    assert sol["close"].tolist() == [105.0, 115.0]
    with pytest.raises(SourceError, match=r"holds no bars of .*SOL/USD;"):  # SOLUSDT is not it
        CsvSource(path).fetch(BarQuery(asset_for_symbol("sol-usd"), day, *EVERYTHING))
    doge = CsvSource(path).fetch(BarQuery(asset_for_symbol("DOGE/USDT"), day, *EVERYTHING))
    assert doge["volume"].tolist() == [3.0]
    with pytest.raises(
        SourceError,
        match=r"holds no bars of .*XRPUSDT; it holds 2 pairs \(DOGEUSDT, SOLUSDT; "
        r"`python -m cryptopredict.data.csvfile .*pairs.csv` lists them\)",
    ):
        CsvSource(path).fetch(BarQuery(asset_for_symbol("xrp-usdt"), day, *EVERYTHING))
    with pytest.raises(SourceError, match=r"holds many pairs \(a `symbol` column\): name one"):
        read_ohlcv_csv(path)


def test_csv_headers_are_case_insensitive_and_date_means_timestamp(tmp_path):
    path = tmp_path / "daily.csv"
    path.write_text(
        "Date,Open,HIGH,Low,Close,Adj Close,Volume\n"
        "2024-01-01,100,110,90,105,105,1000\n"
        "2024-01-02,105,120,100,115,115,2000\n"
    )
    frame = read_ohlcv_csv(path)
    check_frame(frame)
    assert list(frame.columns) == ["timestamp", "open", "high", "low", "close", "volume"]
    assert frame["timestamp"].iloc[1] == pd.Timestamp("2024-01-02", tz="UTC")


def test_csv_times_with_offsets_are_converted_to_utc(tmp_path):
    path = tmp_path / "offset.csv"
    path.write_text("timestamp,open,high,low,close,volume\n2024-01-01T02:00:00+02:00,1,1,1,1,0\n")
    assert read_ohlcv_csv(path)["timestamp"].iloc[0] == pd.Timestamp("2024-01-01", tz="UTC")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("timestamp,open,high,low,close\n2024-01-01,1,1,1,1\n", "missing column.*volume"),
        ("timestamp,open,high,low,close,volume\nyesterday,1,1,1,1,1\n", "not dates"),
        ("timestamp,open,high,low,close,volume\n2024-01-01,1,1,one,1,1\n", "low holds .* 'one'"),
    ],
)
def test_malformed_csvs_are_named(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(FrameError, match=message):
        read_ohlcv_csv(path)


def test_truncated_and_missing_files_are_clear_errors(tmp_path):
    truncated = tmp_path / "cut.csv.gz"
    truncated.write_bytes((SnapshotSource().data_dir / "btc-usd-1d.csv.gz").read_bytes()[:5000])
    with pytest.raises(SourceError, match=r"cannot read .*cut.csv.gz"):
        read_ohlcv_csv(truncated)
    with pytest.raises(SourceError, match="no such file"):
        CsvSource(tmp_path / "absent.csv").fetch(
            BarQuery(ASSETS["btc-usd"], Interval.parse("1d"), *EVERYTHING)
        )


def test_a_csv_cut_mid_row_leaves_a_gap_that_validation_names(tmp_path):
    path = tmp_path / "cut.csv"
    path.write_text("timestamp,open,high,low,close,volume\n2024-01-01,1,2,1,2,5\n2024-01-02,2,3")
    bars = Bars(read_ohlcv_csv(path), "BTC/USD", Interval.parse("1d"), "csv")
    with pytest.raises(ValidationError, match=r"bar 2024-01-02T00:00:00Z .* not a finite number"):
        validate(bars, HistorySettings(min_rows=1))


def _bars(path, start: str, freq: str, count: int) -> None:
    times = pd.date_range(start, periods=count, freq=freq, tz="UTC")
    rows = [
        f"{t.isoformat()},{100 + i},{102 + i},{99 + i},{101 + i},1" for i, t in enumerate(times)
    ]
    path.write_text("timestamp,open,high,low,close,volume\n" + "\n".join(rows) + "\n")


def test_a_csvs_interval_is_read_from_its_timestamps(tmp_path):
    """Issue 35: a daily file trained without --interval is trained as daily bars; asked for
    hourly bars, it refuses at once, naming both intervals."""
    path = tmp_path / "daily.csv"
    _bars(path, "2024-01-01", "1D", 30)
    path.write_text(path.read_text().replace("2024-01-05T00:00:00+00:00,104,106,103,105,1\n", ""))
    sol = asset_for_symbol("sol-usd")
    assert CsvSource(path).interval(sol) == Interval.parse("1d")  # a gap does not change it
    with pytest.raises(
        SourceError,
        match=r"daily.csv holds 1d bars of SOL/USD \(read from its timestamps\), not 1h: "
        r"train with --interval 1d",
    ):
        CsvSource(path).fetch(BarQuery(sol, Interval.parse("1h"), *EVERYTHING))
    assert len(CsvSource(path).fetch(BarQuery(sol, Interval.parse("1d"), *EVERYTHING))) == 29


def test_a_coarser_interval_than_a_csvs_is_aggregated_from_complete_bars(tmp_path):
    path = tmp_path / "hourly.csv"
    _bars(path, "2024-01-01", "1h", 50)
    sol = asset_for_symbol("sol-usd")
    daily = CsvSource(path).fetch(BarQuery(sol, Interval.parse("1d"), *EVERYTHING))
    assert daily["timestamp"].tolist() == [
        pd.Timestamp("2024-01-01", tz="UTC"),
        pd.Timestamp("2024-01-02", tz="UTC"),
    ]  # the third day has two hours: incomplete, left out
    assert daily["open"].tolist() == [100.0, 124.0]
    assert daily["close"].tolist() == [124.0, 148.0]


@pytest.mark.slow
def test_the_command_an_error_names_lists_a_files_pairs(tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text(
        "symbol,time,open,high,low,close,volume\n"
        "SOLUSDT,2024-01-01T00:00:00Z,100,110,90,105,1\n"
        "DOGEUSDT,2024-01-01T00:00:00Z,0.1,0.11,0.09,0.105,3\n"
    )
    listed = subprocess.run(
        [sys.executable, "-m", "cryptopredict.data.csvfile", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert listed.stdout == "DOGEUSDT\nSOLUSDT\n"


def test_a_csv_source_is_named_by_its_base_name_never_its_path(tmp_path):
    """The name is recorded in the artifact, and shown by /assets and the model card."""
    source = CsvSource(tmp_path / "private" / "my-bars.csv")
    assert source.name == "csv:my-bars.csv"
    assert str(tmp_path) not in source.name
