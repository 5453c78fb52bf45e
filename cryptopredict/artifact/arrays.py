"""An artifact's arrays, in memory and on disk: the forecast grid and the bar history.

In memory, as training builds them, each is a set of named arrays on one time axis: `Grid`, the
served forecast at every bar time from the first bar to the end of the horizon, and
`BarHistory`, every validated bar.

On disk each is one `.npy` file holding a single record whose fields are whole columns, so that
it is memory-mapped without being read (`open_table`) and every column is one contiguous array:

- `grid.npy` (`StoredGrid`) keeps the grid's meaning at a fraction of its size. Its knots run at
  the data's interval (`step`) from the first bar to `FINE_DAYS` past the last bar, then every
  `coarse_step` (a day) to the end of the horizon (`last`); between knots the served values are
  interpolated linearly. Per knot: `yhat`, the point forecast (float64); `band`, each bound of
  each band as float32 log(bound / yhat), lower then upper at each level of `LEVELS`; `lead`,
  seconds from the knot's origin (the last bar it had seen) to the knot (uint32). The times are
  not stored: `first`, `step`, `fine_rows`, `coarse_step` and `last` give them.
- `history.npy`: `ds` (int64 epoch seconds) and open, high, low, close, volume, vwap (float64).

`check_grid` and `check_history` check the values (what training writes, and `load_artifact`);
opening checks only the layout, the values being covered by the manifest's sha256.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import IO, Any, Self

import numpy as np
import numpy.lib.format as npy

from cryptopredict.artifact.schema import LEVELS
from cryptopredict.utc import iso_utc

DAY = 86_400
FINE_DAYS = 30  # past the last bar, the grid keeps the data's interval this long, then a day

# What an array's values must be: int64 epoch seconds, finite positive floats, finite floats
# at least 0.
TIME, PRICE, AMOUNT = "time", "price", "amount"


class ArtifactError(Exception):
    """An artifact cannot be used; the message names the file and the problem."""


def _array(kind: str) -> Any:
    return field(metadata={"kind": kind})


@dataclass(frozen=True, eq=False)
class Arrays:
    """Named arrays of one length on one time axis, `ds` (epoch seconds UTC, strictly
    increasing); a subclass declares one field per array, with the kind of its values."""

    ds: np.ndarray = _array(TIME)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(spec.name for spec in fields(cls))

    def __len__(self) -> int:
        return len(self.ds)

    def __getitem__(self, name: str) -> np.ndarray:
        """The array `name`, for code that handles every array alike."""
        return getattr(self, name)

    def rows(self, start: int, stop: int) -> Self:
        return type(self)(**{name: self[name][start:stop] for name in self.names()})


@dataclass(frozen=True, eq=False)
class Grid(Arrays):
    """The served forecast at every grid time: the point forecast and its central band at each
    level of `LEVELS`, in price, and `origin`, the time of the last bar the row had seen.

    A row is a hindcast when `ds` is at or before the last stored bar (its origin is then
    before `ds`, except where no earlier bar exists), else a forecast (made at the last bar).
    """

    origin: np.ndarray = _array(TIME)
    yhat: np.ndarray = _array(PRICE)
    yhat_lower_50: np.ndarray = _array(PRICE)
    yhat_upper_50: np.ndarray = _array(PRICE)
    yhat_lower_80: np.ndarray = _array(PRICE)
    yhat_upper_80: np.ndarray = _array(PRICE)
    yhat_lower_95: np.ndarray = _array(PRICE)
    yhat_upper_95: np.ndarray = _array(PRICE)

    def lower(self, level: int) -> np.ndarray:
        return self[f"yhat_lower_{level}"]

    def upper(self, level: int) -> np.ndarray:
        return self[f"yhat_upper_{level}"]


@dataclass(frozen=True, eq=False)
class BarHistory(Arrays):
    """Every validated bar: OHLCV, and the bar's VWAP (the source's, else the typical price)."""

    open: np.ndarray = _array(PRICE)
    high: np.ndarray = _array(PRICE)
    low: np.ndarray = _array(PRICE)
    close: np.ndarray = _array(PRICE)
    volume: np.ndarray = _array(AMOUNT)
    vwap: np.ndarray = _array(PRICE)


GRID_ARRAYS = Grid.names()
HISTORY_ARRAYS = BarHistory.names()
AXIS = ("first", "step", "fine_rows", "coarse_step", "last")


def band_column(level: int, side: str) -> int:
    """The column of `StoredGrid.band` that holds the `side` ("lower" or "upper") bound of the
    `level`% band."""
    return 2 * LEVELS.index(level) + (side == "upper")


@dataclass(frozen=True, eq=False)
class StoredGrid:
    """`grid.npy`: the grid at its knots (see the module's doc), as stored."""

    first: int  # the first knot: the first bar
    step: int  # seconds between knots up to `fine_last`: the data's interval
    fine_rows: int  # knots `step` apart from `first`
    coarse_step: int  # seconds between the later knots, but the last may be closer
    last: int  # the last knot: the end of the horizon
    yhat: np.ndarray  # (knots,) float64
    band: np.ndarray  # (knots, 2 * len(LEVELS)) float32, log(bound / yhat); see `band_column`
    lead: np.ndarray  # (knots,) uint32 seconds from the knot's origin to the knot

    @property
    def fine_last(self) -> int:
        return self.first + (self.fine_rows - 1) * self.step

    @property
    def knots(self) -> int:
        return len(self.yhat)

    def time_of(self, knot: int) -> int:
        if knot < self.fine_rows:
            return self.first + knot * self.step
        return min(self.fine_last + (knot - self.fine_rows + 1) * self.coarse_step, self.last)

    def times(self) -> np.ndarray:
        """Every knot's time."""
        fine = self.first + self.step * np.arange(self.fine_rows, dtype=np.int64)
        later = np.arange(1, self.knots - self.fine_rows + 1, dtype=np.int64)
        return np.concatenate(
            [fine, np.minimum(self.fine_last + self.coarse_step * later, self.last)]
        )

    def position(self, epoch: float) -> float:
        """Where `epoch` (between `first` and `last`) falls among the knots: knot `i` at `i`,
        halfway between knots `i` and `i + 1` at `i + 0.5`."""
        if epoch <= self.fine_last:
            return (epoch - self.first) / self.step
        knot = min(
            self.fine_rows - 1 + int((epoch - self.fine_last) // self.coarse_step), self.knots - 2
        )
        start, end = self.time_of(knot), self.time_of(knot + 1)
        return knot + (epoch - start) / (end - start)

    def positions(self, epochs: np.ndarray) -> np.ndarray:
        """`position` of every one of `epochs`."""
        epochs = np.asarray(epochs, dtype=np.float64)
        fine = (epochs - self.first) / self.step
        if self.knots == self.fine_rows:
            return fine
        whole = np.floor((epochs - self.fine_last) / self.coarse_step).astype(np.int64)
        knot = np.clip(self.fine_rows - 1 + whole, self.fine_rows - 1, self.knots - 2)
        start = np.where(
            knot < self.fine_rows,
            self.first + knot * self.step,
            np.minimum(self.fine_last + (knot - self.fine_rows + 1) * self.coarse_step, self.last),
        )
        end = np.minimum(self.fine_last + (knot - self.fine_rows + 2) * self.coarse_step, self.last)
        return np.where(epochs <= self.fine_last, fine, knot + (epochs - start) / (end - start))

    def bound(self, level: int, side: str) -> np.ndarray:
        """The `side` bound of the `level`% band at every knot, in price."""
        return self.yhat * np.exp(self.band[:, band_column(level, side)].astype(np.float64))

    def expand(self) -> Grid:
        """The grid at every `step` from `first` to `last`, as the API serves it: the knots'
        values, and between knots values interpolated linearly (bands in price), with the later
        knot's origin."""
        ds = self.first + self.step * np.arange((self.last - self.first) // self.step + 1)
        position = self.positions(ds)
        before = np.minimum(np.floor(position).astype(np.int64), self.knots - 1)
        after = np.minimum(before + 1, self.knots - 1)
        fraction = position - before
        origin = self.times() - self.lead.astype(np.int64)
        columns = {"yhat": np.asarray(self.yhat, dtype=np.float64)}
        for level in LEVELS:
            for side in ("lower", "upper"):
                columns[f"yhat_{side}_{level}"] = self.bound(level, side)
        values = {
            name: column[before] + (column[after] - column[before]) * fraction
            for name, column in columns.items()
        }
        later = np.where(fraction > 0, np.maximum(origin[before], origin[after]), origin[before])
        return Grid(ds=ds, origin=later, **values)


def grid_times(first: int, step: int, last: int, last_bar: int) -> np.ndarray:
    """The times a grid from `first` to `last` every `step` keeps (its knots): every step to
    `FINE_DAYS` past `last_bar`, then every day, and `last`."""
    fine_rows = (min(last_bar + FINE_DAYS * DAY, last) - first) // step + 1
    coarse_step = DAY if step < DAY and DAY % step == 0 else step
    fine_last = first + (fine_rows - 1) * step
    fine = np.arange(first, fine_last + 1, step, dtype=np.int64)
    later = np.arange(fine_last + coarse_step, last, coarse_step, dtype=np.int64)
    ends = np.array([last] if last > fine_last else [], dtype=np.int64)
    return np.concatenate([fine, later, ends])


def encode_grid(file: Path, grid: Grid, last_bar: int) -> bytes:
    """`grid.npy` (to be written as `file`): `grid` at its knots; ArtifactError unless its
    times are evenly spaced and no row's origin is after its time or the last bar."""
    ds = np.asarray(grid.ds, dtype=np.int64)
    step = int(ds[1] - ds[0])
    _require(bool(np.all(np.diff(ds) == step)), file, "the grid is not evenly spaced")
    first, last = int(ds[0]), int(ds[-1])
    times = grid_times(first, step, last, last_bar)
    fine_rows = (min(last_bar + FINE_DAYS * DAY, last) - first) // step + 1
    coarse_step = DAY if step < DAY and DAY % step == 0 else step
    at = ((times - first) // step).astype(np.int64)
    yhat = np.asarray(grid.yhat, dtype=np.float64)[at]
    with np.errstate(divide="ignore", invalid="ignore"):  # check_grid names what is wrong
        band = np.column_stack(
            [
                np.log(np.asarray(grid[f"yhat_{side}_{level}"], dtype=np.float64)[at] / yhat)
                for level in LEVELS
                for side in ("lower", "upper")
            ]
        ).astype(np.float32)
    origin = np.asarray(grid.origin, dtype=np.int64)
    _ordered(
        file,
        ds,
        origin,
        np.minimum(ds, last_bar),
        "origin is after ds or after the last stored bar",
    )
    lead = times - origin[at]
    _require(bool(lead.max() <= np.iinfo(np.uint32).max), file, "an origin is a century early")
    columns: dict[str, np.ndarray] = {"yhat": yhat, "band": band, "lead": lead.astype(np.uint32)}
    axis = {"first": first, "step": step, "fine_rows": fine_rows, "coarse_step": coarse_step}
    return _encode({**axis, "last": last}, columns)


def encode_history(history: BarHistory) -> bytes:
    """`history.npy`: every array of `history`."""
    return _encode({}, {name: history[name] for name in HISTORY_ARRAYS})


def _encode(scalars: dict[str, int], columns: dict[str, np.ndarray]) -> bytes:
    """One record: the int64 `scalars`, then each of `columns` whole."""
    descr: list[tuple[Any, ...]] = [(name, "<i8") for name in scalars]
    descr += [
        (name, values.dtype.newbyteorder("<").str, values.shape) for name, values in columns.items()
    ]
    record = np.zeros((), dtype=np.dtype(descr))
    for name, value in {**scalars, **columns}.items():
        record[name] = value
    buffer = io.BytesIO()
    np.save(buffer, record, allow_pickle=False)
    return buffer.getvalue()


# The field types the writer produces (`_encode`): anything else (an object, a string, a nested
# record, another byte order) is refused before a value is read.
STORED_TYPES = (np.dtype("<i8"), np.dtype("<u4"), np.dtype("<f4"), np.dtype("<f8"))


def open_table(file: Path, opened: IO[bytes]) -> np.ndarray:
    """The record in `opened` (the `.npy` file `file`), memory-mapped, not read; ArtifactError
    unless every field is of a type the writer produces."""
    readers = {(1, 0): npy.read_array_header_1_0, (2, 0): npy.read_array_header_2_0}
    try:
        opened.seek(0)
        read_header = readers.get(npy.read_magic(opened))
        _require(read_header is not None, file, "is a .npy file of an unknown version")
        shape, fortran, dtype = read_header(opened)  # type: ignore[misc]
    except (ValueError, OSError, SyntaxError) as error:
        raise ArtifactError(f"{file}: not a .npy file ({error})") from None
    _require(shape == () and dtype.names is not None, file, "does not hold one record of columns")
    for name, (field_type, *_) in (dtype.fields or {}).items():
        base = field_type.subdtype[0] if field_type.subdtype is not None else field_type
        _require(
            not field_type.hasobject and any(base == stored for stored in STORED_TYPES),
            file,
            f"field {name!a} is of type {str(base)[:60]!a}, not one this code writes "
            "(little-endian int64, uint32, float32 or float64)",
        )
    offset = opened.tell()
    size = opened.seek(0, io.SEEK_END)
    _require(size == offset + dtype.itemsize and not fortran, file, "is not as long as it says")
    return np.memmap(opened, dtype=dtype, mode="r", offset=offset, shape=())


def stored_grid(file: Path, record: np.ndarray) -> StoredGrid:
    """The grid in `record`, once its layout is checked."""
    names = record.dtype.names or ()
    wanted = {"yhat": np.float64, "band": np.float32, "lead": np.uint32}
    missing = [name for name in (*AXIS, *wanted) if name not in names]
    _require(not missing, file, f"lacks {', '.join(missing)}")
    for name in AXIS:
        _require(
            record[name].dtype == np.int64 and record[name].shape == (),
            file,
            f"{name} is not one int64",
        )
    for name, dtype in wanted.items():
        _require(record[name].dtype == dtype, file, f"{name} is {record[name].dtype}, not {dtype}")
    _require(record["yhat"].ndim == 1, file, "yhat is not a list of knots")
    first, step, fine_rows, coarse_step, last = (int(record[name]) for name in AXIS)
    grid = StoredGrid(
        first, step, fine_rows, coarse_step, last, record["yhat"], record["band"], record["lead"]
    )
    knots = len(grid.yhat)
    _require(
        grid.band.shape == (knots, 2 * len(LEVELS)) and grid.lead.shape == (knots,),
        file,
        "yhat, band and lead do not match in length",
    )
    _require(
        grid.step > 0
        and grid.coarse_step % grid.step == 0
        and 2 <= grid.fine_rows <= knots
        and grid.fine_last <= grid.last
        and knots == grid.fine_rows + math.ceil((grid.last - grid.fine_last) / grid.coarse_step),
        file,
        f"its time axis ({', '.join(f'{n}={record[n]}' for n in AXIS)}) does not fit its "
        f"{knots} knots",
    )
    return grid


def history_of(file: Path, record: np.ndarray) -> BarHistory:
    """The bars in `record`, once its layout is checked."""
    names = record.dtype.names or ()
    missing = [name for name in HISTORY_ARRAYS if name not in names]
    _require(not missing, file, f"lacks {', '.join(missing)}")
    history = BarHistory(**{name: record[name] for name in HISTORY_ARRAYS})
    _require(
        history.ds.ndim == 1 and len(history) > 1, file, "ds is not a list of at least two times"
    )
    for spec in fields(BarHistory):
        values = history[spec.name]
        expected = np.int64 if spec.metadata["kind"] == TIME else np.float64
        _require(values.shape == history.ds.shape, file, f"{spec.name} does not match ds in length")
        _require(values.dtype == expected, file, f"{spec.name} is {values.dtype}, not {expected}")
    return history


def check_history(file: Path, history: BarHistory) -> None:
    """ArtifactError unless every value is of its kind and the times strictly increase."""
    for spec in fields(BarHistory):
        name, values, what = spec.name, history[spec.name], spec.metadata["kind"]
        if what == TIME:
            continue
        _require(bool(np.all(np.isfinite(values))), file, f"{name} holds non-finite values")
        if what == PRICE:
            _require(bool(np.all(values > 0)), file, f"{name} holds non-positive values")
        else:
            _require(bool(np.all(values >= 0)), file, f"{name} holds negative values")
    _require(bool(np.all(np.diff(history.ds) > 0)), file, "ds is not strictly increasing")


def check_grid(file: Path, grid: StoredGrid, *, last_bar: int, first_bar: int) -> None:
    """ArtifactError unless the forecast is positive, every band holds it and lies inside the
    wider ones, no knot has seen a bar later than its own time or earlier than the first, and
    every knot past the last bar was made there."""
    yhat = np.asarray(grid.yhat)
    _require(bool(np.all(np.isfinite(yhat))), file, "yhat holds non-finite values")
    _require(bool(np.all(yhat > 0)), file, "yhat holds non-positive values")
    times = grid.times()
    inner_low = inner_high = np.zeros(len(times), dtype=np.float32)
    inner = "yhat"
    for level in LEVELS:
        low = np.asarray(grid.band[:, band_column(level, "lower")])
        high = np.asarray(grid.band[:, band_column(level, "upper")])
        for side, values in (("lower", low), ("upper", high)):
            name = f"yhat_{side}_{level}"
            _require(bool(np.all(np.isfinite(values))), file, f"{name} holds non-finite values")
        _ordered(file, times, low, inner_low, f"yhat_lower_{level} is above {inner}")
        _ordered(file, times, inner_high, high, f"yhat_upper_{level} is below {inner}")
        inner_low, inner_high, inner = low, high, f"the {level}% band"
    origin = times - grid.lead.astype(np.int64)
    _ordered(
        file,
        times,
        origin,
        np.minimum(times, last_bar),
        "origin is after ds or after the last stored bar",
    )
    _ordered(file, times, np.full(len(times), first_bar), origin, "origin is before the first bar")
    future = times > last_bar
    _ordered(
        file,
        times[future],
        np.full(int(future.sum()), last_bar),
        origin[future],
        "origin is before the last stored bar in a forecast row",
    )


def _ordered(
    file: Path, ds: np.ndarray, first: np.ndarray, second: np.ndarray, problem: str
) -> None:
    """ArtifactError with `problem`, where and how often, unless `first <= second` everywhere."""
    bad = np.flatnonzero(first > second)
    if len(bad):
        when = iso_utc(int(ds[bad[0]]))
        raise ArtifactError(f"{file}: {problem} at {when} ({len(bad)} rows in all)")


def _require(condition: bool, file: Path, problem: str) -> None:
    if not condition:
        raise ArtifactError(f"{file}: {problem}")
