"""`history.npy`: the bars, sized to what is served (its layout: docs/api.md).

On a regular axis (slot `i` opens at `first + i * step`; a gap holds 0 in every column): `close`
of every slot, the other columns from `full_from` (the last `FULL_DAYS`), and for bars finer
than a day the candles of whole UTC days and weeks (`day_...`, `week_...`, with `<table>_bars`,
the bars each holds). Each price and amount column is stored as exact decimal ticks where it can
be (`exact_ticks`, `<column>_decimals`), else float64. `StoredBars` reads it memory-mapped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cryptopredict.artifact.arrays import (
    DAY,
    FULL_DAYS,
    HISTORY_ARRAYS,
    ArtifactError,
    BarHistory,
    check_history,
    encode_record,
    require,
)

MAX_DECIMALS = 12
FLOAT = -1  # the `<column>_decimals` of a column stored as float64
VALUES = HISTORY_ARRAYS[1:]  # every column but `ds`
WHOLE = tuple(name for name in VALUES if name != "close")  # kept for the last FULL_DAYS
# The candles kept of the whole history by column prefix: each period's seconds, and an opening.
TABLES = {"week": (7 * DAY, 4 * DAY), "day": (DAY, 0)}
SCALARS = ("first", "step", "full_from", *(f"{table}_first" for table in TABLES))
_INT32 = np.iinfo(np.int32).max
_EXACT = 2**53  # tick counts up to here are exact as float64 too


def decimals_suffix(name: str) -> str:
    return f"{name}_decimals"


def table_columns(table: str) -> tuple[str, ...]:
    return tuple(f"{table}_{name}" for name in VALUES)


def encode_history(
    history: BarHistory,
    step: int,
    candles: Mapping[str, tuple[BarHistory, np.ndarray]],
    *,
    full_days: float = FULL_DAYS,
) -> bytes:
    """`history.npy` of bars `step` seconds long with `candles` (per table, and the bars each
    holds; none: every bar kept whole)."""
    ds = np.asarray(history.ds, dtype=np.int64)
    first = int(ds[0])
    if np.any((ds - first) % step):
        raise ArtifactError(f"history.npy: a bar opens between the {step} s steps of the first")
    slots = (ds - first) // step
    since = (int(ds[-1]) - round(full_days * DAY)) // DAY * DAY
    full_from = max(0, math.ceil((since - first) / step)) if candles else 0
    scalars = {"first": first, "step": step, "full_from": full_from}
    columns: dict[str, np.ndarray] = {}

    def store(name: str, values: np.ndarray) -> None:
        columns[name], scalars[decimals_suffix(name)] = exact_ticks(values)

    store("close", _on_axis(slots, history.close, int(slots[-1]) + 1))
    kept = slots >= full_from
    for name in WHOLE:
        whole = _on_axis(
            slots[kept] - full_from, history[name][kept], int(slots[-1]) + 1 - full_from
        )
        store(name, whole)
    for table, (seconds, _) in TABLES.items():
        empty = BarHistory(**{name: np.empty(0) for name in HISTORY_ARRAYS})
        made, bars = candles.get(table, (empty, np.empty(0, dtype=np.int64)))
        start = int(made.ds[0]) if len(made) else 0
        scalars[f"{table}_first"] = start
        slot = (np.asarray(made.ds, dtype=np.int64) - start) // seconds
        count = int(slot[-1]) + 1 if len(slot) else 0
        for name, column in zip(VALUES, table_columns(table), strict=True):
            store(column, _on_axis(slot, made[name], count))
        columns[f"{table}_bars"] = _on_axis(slot, bars, count).astype(np.int32)
    return encode_record(scalars, columns)


def _on_axis(slots: np.ndarray, values: np.ndarray, count: int) -> np.ndarray:
    out = np.zeros(count, dtype=np.float64)
    out[slots] = values
    return out


def exact_ticks(values: np.ndarray) -> tuple[np.ndarray, int]:
    """`values` as whole multiples of 10^-d for the fewest decimals d that hold each exactly
    (int32, else int64), and d; or as float64 and FLOAT when none up to MAX_DECIMALS does."""
    values = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        return values, FLOAT
    for decimals in range(MAX_DECIMALS + 1):
        scale = 10.0**decimals
        ticks = np.rint(values * scale)
        if len(ticks) and np.abs(ticks).max() > _EXACT:
            break
        if np.array_equal(ticks / scale, values):
            small = not len(ticks) or np.abs(ticks).max() <= _INT32
            return ticks.astype(np.int32 if small else np.int64), decimals
    return values, FLOAT


@dataclass(frozen=True)
class Column:
    stored: np.ndarray
    decimals: int

    def __len__(self) -> int:
        return len(self.stored)

    def values(self, index: Any) -> np.ndarray:
        picked = np.asarray(self.stored[index])
        if self.decimals == FLOAT:
            return picked.astype(np.float64)
        return picked / 10.0**self.decimals


@dataclass(frozen=True)
class CandleTable:
    """Candles `seconds` long opening at `origin` plus multiples, on their axis from `first`."""

    name: str
    seconds: int
    origin: int
    first: int
    columns: dict[str, Column]  # by the bars' column names
    bars: np.ndarray

    def serves(self, seconds: int, origin: int) -> bool:
        """Whether candles `seconds` long opening at `origin` are made of whole periods."""
        return seconds % self.seconds == 0 and (origin - self.origin) % self.seconds == 0

    def rows(self, start: int, stop: int, step: int) -> tuple[BarHistory, np.ndarray]:
        """The candles from `start` to before `stop` holding a bar, and whether each is whole."""
        seconds = self.seconds
        begin = max(0, math.ceil((start - self.first) / seconds))
        end = min(len(self.bars), max(begin, math.ceil((stop - self.first) / seconds)))
        bars = np.asarray(self.bars[begin:end])
        present = begin + np.flatnonzero(bars)
        values = {name: column.values(present) for name, column in self.columns.items()}
        candles = BarHistory(ds=self.first + seconds * present.astype(np.int64), **values)
        return candles, bars[bars > 0] == seconds // step


@dataclass(eq=False)
class StoredBars:
    """`history.npy` as stored: `ds` and `["close"]` of every bar, `rows` the whole bars of the
    last days, `tables` the day and week candles."""

    first_bar: int
    step: int
    stored_close: Column
    full_from: int
    whole: dict[str, Column]
    tables: tuple[CandleTable, ...]

    def __post_init__(self) -> None:
        close, first = self.stored_close, self.first_bar
        self.last_bar = first + self.step * (len(close) - 1)
        self.whole_from = first + self.step * self.full_from  # the first bar with every column
        self._close_item = close.stored.item
        self._close_scale = None if close.decimals == FLOAT else 10.0**close.decimals

    @property
    def last_close(self) -> float:
        return float(self.stored_close.values(-1))

    def close_at(self, label: int) -> float | None:
        """The close of the bar opening at `label` (on the axis), None where none."""
        value = self._close_item((label - self.first_bar) // self.step)
        if not value:
            return None
        return value if self._close_scale is None else value / self._close_scale

    def closes_at(self, labels: np.ndarray) -> np.ndarray:
        labels = np.asarray(labels, dtype=np.int64)
        slot = (labels - self.first_bar) // self.step
        on = (
            (labels >= self.first_bar)
            & (labels <= self.last_bar)
            & ((labels - self.first_bar) % self.step == 0)
        )
        values = self.stored_close.values(np.where(on, slot, 0))
        return np.where(on & (values > 0), values, np.nan)

    @property
    def ds(self) -> np.ndarray:
        present = np.flatnonzero(np.asarray(self.stored_close.stored))
        return self.first_bar + self.step * present.astype(np.int64)

    def __len__(self) -> int:
        return int(np.count_nonzero(np.asarray(self.stored_close.stored)))

    def __getitem__(self, name: str) -> np.ndarray:
        if name == "ds":
            return self.ds
        if name == "close":
            return self.stored_close.values(np.flatnonzero(np.asarray(self.stored_close.stored)))
        raise KeyError(f"{name}: only ds and close are kept for every bar")

    def rows(self, start: int, stop: int) -> BarHistory:
        """The bars opening from `start` to before `stop`, none before `whole_from`."""
        begin = max(0, math.ceil((start - self.first_bar) / self.step), self.full_from)
        end = min(
            len(self.stored_close), max(begin, math.ceil((stop - self.first_bar) / self.step))
        )
        present = begin + np.flatnonzero(np.asarray(self.stored_close.stored[begin:end]))
        at = present - self.full_from
        columns = {name: column.values(at) for name, column in self.whole.items()}
        return BarHistory(
            ds=self.first_bar + self.step * present.astype(np.int64),
            close=self.stored_close.values(present),
            **columns,
        )


def stored_history(file: Path, record: np.ndarray) -> StoredBars:
    names = record.dtype.names or ()
    stored = (*VALUES, *(column for table in TABLES for column in table_columns(table)))
    counts = tuple(f"{table}_bars" for table in TABLES)
    decimals = tuple(map(decimals_suffix, stored))
    missing = [name for name in (*SCALARS, *stored, *decimals, *counts) if name not in names]
    require(not missing, file, f"lacks {', '.join(missing)}")
    for name in (*SCALARS, *decimals):
        one = record[name].dtype == np.int64 and record[name].shape == ()
        require(one, file, f"{name} is not one int64")
    first, step, full_from = (int(record[name]) for name in SCALARS[:3])
    columns = {name: _column(file, record, name) for name in stored}
    close = columns["close"]
    require(step > 0 and len(close) >= 2, file, "close is not a list of at least two bars")
    require(0 <= full_from < len(close), file, f"full_from {full_from} is not a bar's slot")
    ends = bool(close.stored[0]) and bool(close.stored[-1])
    require(ends, file, "the first or the last slot holds no bar")
    for name in WHOLE:
        same = len(columns[name]) == len(close) - full_from
        require(same, file, f"{name} does not match close from full_from in length")
    tables = []
    for table, (seconds, origin) in TABLES.items():
        bars = record[f"{table}_bars"]
        require(bars.dtype == np.int32, file, f"{table}_bars is {bars.dtype}, not int32")
        for column in table_columns(table):
            same = len(columns[column]) == len(bars)
            require(same, file, f"{column} does not match {table}_bars in length")
        if len(bars):
            kept = dict(zip(VALUES, table_columns(table), strict=True))
            picked = {name: columns[column] for name, column in kept.items()}
            start = int(record[f"{table}_first"])
            tables.append(CandleTable(table, seconds, origin, start, picked, bars))
    whole = {name: columns[name] for name in WHOLE}
    return StoredBars(first, step, close, full_from, whole, tuple(tables))


def _column(file: Path, record: np.ndarray, name: str) -> Column:
    values, decimals = record[name], int(record[decimals_suffix(name)])
    require(values.ndim == 1, file, f"{name} is not a list of values")
    if decimals == FLOAT:
        require(values.dtype == np.float64, file, f"{name} is {values.dtype}, not float64")
    else:
        require(
            0 <= decimals <= MAX_DECIMALS and values.dtype in (np.int32, np.int64),
            file,
            f"{name} is {values.dtype} with {decimals} decimals, not whole ticks",
        )
    return Column(values, decimals)


def check_stored(file: Path, history: StoredBars) -> None:
    """`check_history` of every stored value; each candle at most its period's bars."""
    closes = history["close"]
    positive = bool(np.all(np.isfinite(closes) & (closes > 0)))
    require(positive, file, "close holds non-positive values")
    check_history(file, history.rows(history.whole_from, history.last_bar + 1))
    for table in history.tables:
        candles, _ = table.rows(table.first, history.last_bar + 1, history.step)
        check_history(file, candles)
        bars = np.asarray(table.bars)
        most = table.seconds // history.step
        require(
            bool(np.all((bars >= 0) & (bars <= most))),
            file,
            f"{table.name}_bars holds counts beyond a {table.name}'s bars",
        )
