"""Validation: what is fixed silently, fixed and reported, rejected by name, or reported."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from cryptopredict.candles import Interval
from cryptopredict.config import HistorySettings
from cryptopredict.data.errors import StaleDataError, ValidationError
from cryptopredict.data.frame import check_frame, resample
from cryptopredict.data.validation import summarize, validate

RULES = HistorySettings(max_bar_jump=3.0, min_rows=24)


def edited(bars, changes: dict):
    frame = bars.frame.copy()
    for (row, column), value in changes.items():
        frame.loc[row, column] = value
    return bars.with_frame(frame)


def test_clean_history_passes_untouched(week_of_bars):
    cleaned, report = validate(week_of_bars, RULES)
    pd.testing.assert_frame_equal(cleaned.frame, week_of_bars.frame)
    assert report.rows == 168
    assert report.first == "2022-02-07T00:00:00Z"
    assert (report.exact_duplicates_dropped, report.was_unsorted) == (0, False)
    assert report.conflicting_duplicates.count == report.ohlc_repaired.count == 0


def test_unsorted_rows_and_exact_duplicates_are_fixed_silently(week_of_bars):
    frame = week_of_bars.frame
    shuffled = pd.concat([frame.iloc[::-1], frame.iloc[10:15]], ignore_index=True)
    cleaned, report = validate(week_of_bars.with_frame(shuffled), RULES)
    pd.testing.assert_frame_equal(cleaned.frame, frame)
    assert report.exact_duplicates_dropped == 5
    assert report.was_unsorted


def test_conflicting_duplicates_keep_the_latest_fetched_and_are_reported(week_of_bars):
    frame = week_of_bars.frame
    newer = frame.iloc[[20]].assign(close=frame["close"].iloc[20] * 1.01)
    cleaned, report = validate(week_of_bars.with_frame(pd.concat([frame, newer])), RULES)
    assert cleaned.frame["close"].iloc[20] == newer["close"].iloc[0]
    assert len(cleaned.frame) == len(frame)
    assert report.conflicting_duplicates.count == 1
    assert report.conflicting_duplicates.first == frame["timestamp"].iloc[20].strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


def test_inconsistent_ohlc_is_repaired_and_reported(week_of_bars):
    row, after = week_of_bars.frame.iloc[30], week_of_bars.frame.iloc[31]
    above_body = max(after["open"], after["close"]) + 1
    broken = edited(week_of_bars, {(30, "high"): row["low"] - 1, (31, "low"): above_body})
    cleaned, report = validate(broken, RULES)
    fixed = cleaned.frame.iloc[30]
    assert fixed["high"] == max(row["open"], row["close"], row["low"])
    assert fixed["low"] == row["low"] - 1
    assert cleaned.frame["high"].iloc[31] == max(after["high"], above_body)
    assert (cleaned.frame["high"] >= cleaned.frame[["open", "close"]].max(axis=1)).all()
    assert (cleaned.frame["low"] <= cleaned.frame[["open", "close"]].min(axis=1)).all()
    assert report.ohlc_repaired.count == 2


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("close", np.nan, "not a finite number"),
        ("open", np.inf, "not a finite number"),
        ("volume", np.nan, "not a finite number"),
        ("low", 0.0, "zero or negative"),
        ("close", -5.0, "zero or negative"),
        ("volume", -1.0, "negative volume"),
    ],
)
def test_bad_values_are_rejected_naming_the_first_bar(week_of_bars, column, value, message):
    bad = edited(week_of_bars, {(40, column): value, (50, column): value})
    stamp = week_of_bars.frame["timestamp"].iloc[40].strftime("%Y-%m-%dT%H:%M:%SZ")
    with pytest.raises(ValidationError, match=f"{stamp}.*{message}"):
        validate(bad, RULES)


def test_zero_volume_is_data_not_an_error(week_of_bars):
    cleaned, _ = validate(edited(week_of_bars, {(40, "volume"): 0.0}), RULES)
    assert cleaned.frame["volume"].iloc[40] == 0


@pytest.mark.parametrize("factor", [100.0, 0.01])
def test_a_spike_beyond_the_jump_factor_is_rejected(week_of_bars, factor):
    row = week_of_bars.frame.iloc[60]
    spiked = {(60, name): row[name] * factor for name in ("open", "high", "low", "close")}
    with pytest.raises(
        ValidationError, match=r"2022-02-09T12:00:00Z.* is 1?\d\d\.\dx away.*MAX_BAR_JUMP"
    ):
        validate(edited(week_of_bars, spiked), RULES)


@pytest.mark.parametrize(("column", "factor"), [("high", 50.0), ("low", 1 / 20)])
def test_a_wick_beyond_the_jump_factor_is_kept_and_reported(week_of_bars, column, factor):
    """A real crash's wick (2025-10-10: daily lows 3-20x below the previous close, the close
    back near it) is market data, not a bad bar."""
    wick = week_of_bars.frame[column].iloc[60] * factor
    cleaned, report = validate(edited(week_of_bars, {(60, column): wick}), RULES)
    assert cleaned.frame[column].iloc[60] == wick
    assert (report.wicks.count, report.wicks.first) == (1, "2022-02-09T12:00:00Z")
    assert "1 bars with a low or high beyond the jump limit kept as wicks" in summarize(report)


def test_a_close_beyond_the_jump_factor_is_rejected_naming_the_rule(week_of_bars):
    close = week_of_bars.frame["close"].iloc[60] * 50
    edits = {(60, "close"): close, (60, "high"): close}
    with pytest.raises(
        ValidationError,
        match=r"bar 2022-02-09T12:00:00Z rejected by the jump rule: its close .* is 5\d\.\dx away "
        r"from the previous close .*MAX_BAR_JUMP",
    ):
        validate(edited(week_of_bars, edits), RULES)


def test_too_few_rows_are_rejected(week_of_bars):
    with pytest.raises(ValidationError, match="only 10 bars; at least 24"):
        validate(week_of_bars.with_frame(week_of_bars.frame.iloc[:10]), RULES)


def test_bars_off_the_interval_grid_are_rejected(week_of_bars):
    daily = dataclasses.replace(week_of_bars, interval=Interval.parse("1d"))
    with pytest.raises(ValidationError, match="does not start a 1d period"):
        validate(daily, RULES)


def test_gaps_are_reported_not_filled(week_of_bars):
    holed = week_of_bars.with_frame(week_of_bars.frame.drop(index=[5, 6, 7, 90]))
    cleaned, report = validate(holed, RULES)
    assert len(cleaned.frame) == 164
    assert (report.gaps.count, report.gaps.missing_bars, report.gaps.largest_missing_bars) == (
        2,
        4,
        3,
    )
    assert report.gaps.largest_after == "2022-02-07T04:00:00Z"
    assert "2 gaps, 4 bars missing" in summarize(report)


def test_strict_mode_rejects_a_stale_last_bar(week_of_bars):
    live = dataclasses.replace(week_of_bars, source="binance")
    closed = live.last + live.interval.delta
    strict = HistorySettings(max_bar_jump=3.0, min_rows=24, require_fresh_hours=6)
    validate(live, strict, now=closed + pd.Timedelta(hours=5))
    with pytest.raises(StaleDataError, match=r"closed 7\.0 h ago; strict mode allows 6 h"):
        validate(live, strict, now=closed + pd.Timedelta(hours=7))


def test_strict_mode_allows_daily_bars_one_day(week_of_bars):
    candles, complete = resample(week_of_bars, "1d")
    daily = candles.with_frame(candles.frame[complete].reset_index(drop=True))
    live = dataclasses.replace(daily, source="alpaca")
    closed = live.last + live.interval.delta
    strict = HistorySettings(max_bar_jump=3.0, min_rows=3, require_fresh_hours=3)
    validate(live, strict, now=closed + pd.Timedelta(hours=20))
    with pytest.raises(StaleDataError, match=r"closed 30\.0 h ago; strict mode allows 24 h"):
        validate(live, strict, now=closed + pd.Timedelta(hours=30))


def test_strict_mode_never_accepts_the_snapshot(week_of_bars):
    strict = HistorySettings(max_bar_jump=3.0, min_rows=24, require_fresh_hours=10**6)
    with pytest.raises(StaleDataError, match="does not accept the embedded snapshot"):
        validate(week_of_bars, strict, now=week_of_bars.last)


def test_validated_frames_are_canonical(week_of_bars):
    frame = week_of_bars.frame
    messy = pd.concat([frame.iloc[::-1], frame.iloc[:3]], ignore_index=True)
    cleaned, _ = validate(week_of_bars.with_frame(messy), RULES)
    check_frame(cleaned.frame)
