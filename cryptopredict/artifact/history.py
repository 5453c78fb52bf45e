"""`history.npy`: every validated bar, each column in the most compact form that holds every value
exactly (schema 5).

- `ds`: epoch seconds as uint32 (to 2106), else int64;
- each price and amount column (`open`, `high`, `low`, `close`, `volume`, `vwap`): when every
  value is a decimal of at most `MAX_DECIMALS` places (as exchanges quote them: 0.4557, 69010.01),
  whole multiples of 10^-decimals as int32 (int64 when they do not fit), the decimals in the
  record's `<column>_decimals`; else float64 (`<column>_decimals` -1: a computed VWAP, say). A
  tick count divided by 10^decimals is the very float64 the column held, so nothing is rounded.

`StoredBars` reads the record memory-mapped: `rows` and `values` give float64 for just the
bars asked for, so serving converts a slice, never a whole column.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from cryptopredict.artifact.arrays import (
    HISTORY_ARRAYS,
    BarHistory,
    check_history,
    encode_record,
    require,
)

MAX_DECIMALS = 12
FLOAT = -1  # the `<column>_decimals` of a column stored as float64
VALUES = HISTORY_ARRAYS[1:]  # every column but `ds`
_INT32 = np.iinfo(np.int32).max
_EXACT = 2**53  # tick counts up to here are exact as float64 too


def decimals_suffix(name: str) -> str:
    return f"{name}_decimals"


def encode_history(history: BarHistory) -> bytes:
    """`history.npy`: every array of `history`, each as compact as it is exact."""
    ds = np.asarray(history.ds, dtype=np.int64)
    fits = len(ds) == 0 or (int(ds.min()) >= 0 and int(ds.max()) <= np.iinfo(np.uint32).max)
    columns: dict[str, np.ndarray] = {"ds": ds.astype(np.uint32) if fits else ds}
    scalars = {}
    for name in VALUES:
        columns[name], scalars[decimals_suffix(name)] = exact_ticks(history[name])
    return encode_record(scalars, columns)


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


class StoredBars:
    """`history.npy` as stored (see the module's doc); indexing by name, or the attribute of a
    column (`history.close`), gives the whole column as float64, for tools and tests."""

    def __init__(self, ds: np.ndarray, columns: dict[str, tuple[np.ndarray, int]]) -> None:
        self.ds = ds
        self._columns = columns

    def __len__(self) -> int:
        return len(self.ds)

    @staticmethod
    def names() -> tuple[str, ...]:
        return HISTORY_ARRAYS

    def values(self, name: str, index: Any) -> np.ndarray:
        """Column `name` at `index` (a slice or positions), as float64."""
        stored, decimals = self._columns[name]
        picked = np.asarray(stored[index])
        if decimals == FLOAT:
            return picked.astype(np.float64)
        return picked / 10.0**decimals

    def reader(self, name: str) -> Callable[[int], float]:
        """A function of a position giving column `name` there, as a Python float, fast."""
        stored, decimals = self._columns[name]
        # `item`, not a memoryview: a column after an odd count of 4-byte values is unaligned,
        # and a memoryview cannot index an unaligned float64 (format `=d`).
        item = stored.item
        if decimals == FLOAT:
            return item
        scale = 10.0**decimals
        return lambda position: item(position) / scale

    def rows(self, start: int, stop: int) -> BarHistory:
        """The bars from `start` to `stop`, in memory as training had them."""
        window = slice(start, stop)
        columns = {name: self.values(name, window) for name in VALUES}
        return BarHistory(ds=np.asarray(self.ds[window], dtype=np.int64), **columns)

    def expand(self) -> BarHistory:
        return self.rows(0, len(self))

    def __getitem__(self, name: str) -> np.ndarray:
        if name == "ds":
            return np.asarray(self.ds, dtype=np.int64)
        return self.values(name, slice(None))

    def __getattr__(self, name: str) -> np.ndarray:
        if name in VALUES:
            return self.values(name, slice(None))
        raise AttributeError(name)


def stored_history(file: Path, record: np.ndarray) -> StoredBars:
    """The bars in `record`, once its layout is checked."""
    names = record.dtype.names or ()
    missing = [
        name for name in (*HISTORY_ARRAYS, *map(decimals_suffix, VALUES)) if name not in names
    ]
    require(not missing, file, f"lacks {', '.join(missing)}")
    ds = record["ds"]
    require(ds.ndim == 1 and len(ds) > 1, file, "ds is not a list of at least two times")
    require(ds.dtype in (np.dtype("<u4"), np.dtype("<i8")), file, f"ds is {ds.dtype}, not a time")
    columns = {}
    for name in VALUES:
        values, decimals = record[name], int(record[decimals_suffix(name)])
        require(values.shape == ds.shape, file, f"{name} does not match ds in length")
        if decimals == FLOAT:
            require(values.dtype == np.float64, file, f"{name} is {values.dtype}, not float64")
        else:
            require(
                0 <= decimals <= MAX_DECIMALS and values.dtype in (np.int32, np.int64),
                file,
                f"{name} is {values.dtype} with {decimals} decimals, not whole ticks",
            )
        columns[name] = (values, decimals)
    return StoredBars(ds, columns)


def check_stored(file: Path, history: StoredBars) -> None:
    """ArtifactError unless every stored value is as `check_history` requires."""
    check_history(file, history.expand())
