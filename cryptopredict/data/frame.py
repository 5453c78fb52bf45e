"""The canonical OHLCV frame every source returns (`timestamp`, the bar's open in UTC, and
float `open, high, low, close, volume`, and `vwap` where the source knows it), and its check;
what a source is asked for (`BarQuery`), and the interface every source implements.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from cryptopredict.assets import Asset
from cryptopredict.candles import Candles, Interval, aggregate
from cryptopredict.data.errors import ValidationError
from cryptopredict.utc import iso_moment

PRICE_COLUMNS = ("open", "high", "low", "close")
VALUE_COLUMNS = (*PRICE_COLUMNS, "volume")
COLUMNS = ("timestamp", *VALUE_COLUMNS)
OPTIONAL_COLUMNS = ("vwap",)
TIMESTAMP_DTYPE = "datetime64[ns, UTC]"


class FrameError(ValidationError):
    pass


@dataclass(frozen=True)
class Bars:
    frame: pd.DataFrame
    symbol: str
    interval: Interval
    source: str

    def with_frame(self, frame: pd.DataFrame) -> Bars:
        return replace(self, frame=frame)

    @property
    def first(self) -> pd.Timestamp | None:
        return self.frame["timestamp"].iloc[0] if len(self.frame) else None

    @property
    def last(self) -> pd.Timestamp | None:
        return self.frame["timestamp"].iloc[-1] if len(self.frame) else None


def make_frame(data: pd.DataFrame | dict) -> pd.DataFrame:
    """Raw columns as the canonical names and dtypes, in the order received."""
    raw = pd.DataFrame(data)
    missing = [name for name in COLUMNS if name not in raw.columns]
    if missing:
        raise FrameError(f"missing column(s) {', '.join(missing)}; expected {', '.join(COLUMNS)}")
    names = [*COLUMNS, *(name for name in OPTIONAL_COLUMNS if name in raw.columns)]
    frame = raw.loc[:, names].reset_index(drop=True)
    frame["timestamp"] = _utc(frame["timestamp"])
    for name in names[1:]:
        frame[name] = _floats(frame[name], name)
    check_frame(frame, ordered=False)
    return frame


def empty_frame() -> pd.DataFrame:
    return make_frame({name: [] for name in COLUMNS})


def typical_price(frame: pd.DataFrame) -> pd.Series:
    return (frame["high"] + frame["low"] + frame["close"]) / 3


def bar_vwap(frame: pd.DataFrame) -> pd.Series:
    """Each bar's VWAP: the source's where it gives one, else the typical price."""
    typical = typical_price(frame)
    return frame["vwap"].fillna(typical) if "vwap" in frame.columns else typical


def resample(bars: Bars, interval: Interval | str) -> tuple[Bars, np.ndarray]:
    """The `interval` candles of `bars` (`cryptopredict.candles`), and whether each is complete;
    IntervalError unless `interval` is a whole multiple of theirs."""
    frame = bars.frame
    nanos = frame["timestamp"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    own = Candles(
        ds=nanos // 10**9,
        **{name: frame[name].to_numpy(dtype=np.float64) for name in VALUE_COLUMNS},
        vwap=bar_vwap(frame).to_numpy(dtype=np.float64),
        complete=np.ones(len(frame), dtype=bool),
    )
    target = Interval.parse(interval)
    candles = aggregate(own, bars.interval, target)
    columns = {name: getattr(candles, name) for name in (*VALUE_COLUMNS, "vwap")}
    timestamps = pd.to_datetime(candles.ds, unit="s", utc=True).astype(TIMESTAMP_DTYPE)
    frame = pd.DataFrame({"timestamp": timestamps, **columns})
    return Bars(frame, bars.symbol, target, bars.source), candles.complete


def check_frame(frame: pd.DataFrame, *, ordered: bool = True) -> None:
    """Raise FrameError unless `frame` is canonical (and, if `ordered`, strictly increasing)."""
    problems = []
    missing = [name for name in COLUMNS if name not in frame.columns]
    if missing:
        problems.append(f"missing column(s) {', '.join(missing)}")
    extra = [name for name in frame.columns if name not in COLUMNS + OPTIONAL_COLUMNS]
    if extra:
        problems.append(f"unexpected column(s) {', '.join(map(str, extra))}")
    if "timestamp" in frame.columns and str(frame["timestamp"].dtype) != TIMESTAMP_DTYPE:
        problems.append(f"timestamp is {frame['timestamp'].dtype}, not {TIMESTAMP_DTYPE}")
    for name in VALUE_COLUMNS + OPTIONAL_COLUMNS:
        if name in frame.columns and not ptypes.is_float_dtype(frame[name].dtype):
            problems.append(f"{name} is {frame[name].dtype}, not float")
    if ordered and not problems and not frame["timestamp"].is_monotonic_increasing:
        back = frame.loc[frame["timestamp"].diff() < pd.Timedelta(0), "timestamp"].iloc[0]
        problems.append(f"timestamps are not sorted, first at {iso_moment(back)}")
    if ordered and not problems and frame["timestamp"].duplicated().any():
        first = frame.loc[frame["timestamp"].duplicated(), "timestamp"].iloc[0]
        problems.append(f"timestamps repeat, first at {iso_moment(first)}")
    if problems:
        raise FrameError("not a canonical OHLCV frame: " + "; ".join(problems))


def _utc(values: pd.Series) -> pd.Series:
    try:
        stamps = pd.to_datetime(values, utc=True, format="ISO8601")
    except (ValueError, TypeError) as error:
        raise FrameError(f"timestamp column holds values that are not dates: {error}") from None
    return stamps.astype(TIMESTAMP_DTYPE)


def _floats(values: pd.Series, name: str) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce")
    unparsable = numbers.isna() & values.notna()
    if unparsable.any():
        row = unparsable.to_numpy().nonzero()[0][0]
        raise FrameError(f"{name} holds a value that is not a number at row {row}: {values[row]!r}")
    return numbers.astype("float64")


@dataclass(frozen=True)
class BarQuery:
    """Bars of `asset` at `interval` whose open time is in [start, end)."""

    asset: Asset
    interval: Interval
    start: pd.Timestamp
    end: pd.Timestamp


class BarSource(Protocol):
    name: str

    def fetch(self, query: BarQuery) -> pd.DataFrame:
        """Canonical-column bars for the query, in the order received."""
        ...
