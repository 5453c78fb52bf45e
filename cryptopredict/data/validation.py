"""Checks a history before training: unsorted rows and exact duplicates fixed silently;
conflicting duplicates (the latest fetched wins) and OHLC inconsistencies fixed and reported;
rejected, naming the rule and the first bad bar: bad values, times off the interval's grid, too
few rows, an open or close beyond MAX_BAR_JUMP of the previous close, and (strict mode) a stale
last bar; wicks (a low or high that far out, as on 2025-10-10) kept and reported; gaps reported.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cryptopredict.artifact.schema import GapCount, RepairCount, ValidationFindings
from cryptopredict.candles import Interval
from cryptopredict.config import HistorySettings
from cryptopredict.data.errors import StaleDataError, ValidationError
from cryptopredict.data.frame import PRICE_COLUMNS, VALUE_COLUMNS, Bars
from cryptopredict.utc import iso_moment


def validate(
    bars: Bars, rules: HistorySettings, now: pd.Timestamp | None = None
) -> tuple[Bars, ValidationFindings]:
    """The cleaned bars and what was done to them; ValidationError if they cannot be used."""
    frame = bars.frame.reset_index(drop=True)
    deduplicated = frame.drop_duplicates()
    exact = len(frame) - len(deduplicated)
    frame, conflicts = _keep_latest(deduplicated)
    was_unsorted = not frame["timestamp"].is_monotonic_increasing
    frame = frame.sort_values("timestamp", kind="stable").reset_index(drop=True)
    if len(frame) < rules.min_rows:
        raise ValidationError(f"only {len(frame)} bars; at least {rules.min_rows} are needed")
    _reject_bad_values(frame)
    _reject_off_grid(frame, bars.interval)
    frame, ohlc = _repair_ohlc(frame)
    _reject_jumps(frame, rules.max_bar_jump)
    # Lows or highs beyond the jump limit, their open and close within it (as checked above).
    wicks = _counted(frame, (_factors(frame, ["low", "high"]) > rules.max_bar_jump).any(axis=1))
    cleaned = bars.with_frame(frame)
    if rules.require_fresh_hours is not None:
        check_fresh(cleaned, rules.require_fresh_hours, now or pd.Timestamp.now(tz="UTC"))
    report = ValidationFindings(
        rows=len(frame),
        first=iso_moment(frame["timestamp"].iloc[0]),
        last=iso_moment(frame["timestamp"].iloc[-1]),
        exact_duplicates_dropped=exact,
        was_unsorted=was_unsorted,
        conflicting_duplicates=conflicts,
        ohlc_repaired=ohlc,
        wicks=wicks,
        gaps=find_gaps(frame, bars.interval),
    )
    return cleaned, report


def summarize(report: ValidationFindings) -> str:
    """What validation found and did, in one line."""
    parts = [f"{report.rows} bars from {report.first} to {report.last}"]
    if report.exact_duplicates_dropped:
        parts.append(f"{report.exact_duplicates_dropped} exact duplicates dropped")
    for found, what in (
        (report.conflicting_duplicates, "conflicting duplicates resolved to the latest fetched"),
        (report.ohlc_repaired, "bars with inconsistent OHLC repaired"),
        (report.wicks, "bars with a low or high beyond the jump limit kept as wicks"),
    ):
        if found.count:
            parts.append(f"{found.count} {what} (first {found.first})")
    gaps = report.gaps
    if gaps.count:
        parts.append(
            f"{gaps.count} gaps, {gaps.missing_bars} bars missing "
            f"(largest {gaps.largest_missing_bars} after {gaps.largest_after})"
        )
    return "; ".join(parts)


def check_fresh(bars: Bars, max_age_hours: float, now: pd.Timestamp) -> None:
    """Strict mode: live data whose newest bar closed within `max_age_hours`, or one bar where
    bars are longer (a daily bar closes once a day)."""
    if bars.source == "snapshot":
        raise StaleDataError(
            "strict mode (REQUIRE_FRESH_HOURS / --require-fresh) does not accept the embedded "
            "snapshot; a live source must answer"
        )
    last = bars.last
    if last is None:
        raise StaleDataError(f"{bars.source}: no bars at all")
    closed = last + bars.interval.delta
    age = (now - closed) / pd.Timedelta(hours=1)
    allowed = max(max_age_hours, bars.interval.delta / pd.Timedelta(hours=1))
    if age > allowed:
        raise StaleDataError(
            f"{bars.source}: the newest bar ({iso_moment(last)}) closed {age:.1f} h ago; "
            f"strict mode allows {allowed:g} h"
        )


def find_gaps(frame: pd.DataFrame, interval: Interval) -> GapCount:
    steps = frame["timestamp"].diff().iloc[1:] // interval.delta
    missing = steps[steps > 1] - 1
    if missing.empty:
        return GapCount()
    largest = missing.idxmax()
    return GapCount(
        count=len(missing),
        missing_bars=int(missing.sum()),
        largest_after=iso_moment(frame["timestamp"].iloc[largest - 1]),
        largest_missing_bars=int(missing.loc[largest]),
    )


def _keep_latest(frame: pd.DataFrame) -> tuple[pd.DataFrame, RepairCount]:
    repeated = frame["timestamp"].duplicated(keep=False)
    if not repeated.any():
        return frame, RepairCount()
    conflicting = frame.loc[repeated, "timestamp"]
    kept = frame[~frame["timestamp"].duplicated(keep="last")]
    return kept, RepairCount(conflicting.nunique(), iso_moment(conflicting.min()))


def _reject_bad_values(frame: pd.DataFrame) -> None:
    prices = frame[list(PRICE_COLUMNS)].to_numpy()
    values = frame[list(VALUE_COLUMNS)].to_numpy()
    checks = [
        (~np.isfinite(values).all(axis=1), "a value that is not a finite number"),
        ((prices <= 0).any(axis=1), "a price that is zero or negative"),
        ((frame["volume"] < 0).to_numpy(), "a negative volume"),
    ]
    for bad, what in checks:
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ValidationError(f"bar {_describe(frame, row)} has {what}")


def _reject_off_grid(frame: pd.DataFrame, interval: Interval) -> None:
    nanos = frame["timestamp"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    seconds = nanos // 10**9
    off = (nanos % 10**9 != 0) | (seconds != interval.open_times(seconds))
    if off.any():
        row = int(np.flatnonzero(off)[0])
        raise ValidationError(
            f"bar {iso_moment(frame['timestamp'].iloc[row])} does not start a {interval} period: "
            f"is the data really {interval} bars?"
        )


def _repair_ohlc(frame: pd.DataFrame) -> tuple[pd.DataFrame, RepairCount]:
    prices = frame[list(PRICE_COLUMNS)]
    high, low = prices.max(axis=1), prices.min(axis=1)
    broken = (frame["high"] != high) | (frame["low"] != low)
    return frame.assign(high=high, low=low), _counted(frame, broken)


def _factors(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """How far each of `columns` is from the previous close, as a factor of at least 1."""
    ratios = frame[columns].div(frame["close"].shift(), axis=0)
    return np.maximum(ratios, 1 / ratios)


def _reject_jumps(frame: pd.DataFrame, max_jump: float) -> None:
    factors = _factors(frame, ["open", "close"])
    bad = (factors > max_jump).any(axis=1).to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        column = factors.iloc[row].idxmax()
        raise ValidationError(
            f"bar {iso_moment(frame['timestamp'].iloc[row])} rejected by the jump rule: its "
            f"{column} {frame[column].iloc[row]:g} is {factors[column].iloc[row]:.1f}x away from "
            f"the previous close {frame['close'].iloc[row - 1]:g} (limit {max_jump:g}x, "
            "MAX_BAR_JUMP; a low or high that far out, with the open and close within it, is "
            "kept as a wick)"
        )


def _counted(frame: pd.DataFrame, rows: pd.Series) -> RepairCount:
    if not rows.any():
        return RepairCount()
    return RepairCount(int(rows.sum()), iso_moment(frame.loc[rows, "timestamp"].iloc[0]))


def _describe(frame: pd.DataFrame, row: int) -> str:
    values = ", ".join(f"{name}={frame[name].iloc[row]:g}" for name in VALUE_COLUMNS)
    return f"{iso_moment(frame['timestamp'].iloc[row])} ({values})"
