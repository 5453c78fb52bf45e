"""An artifact's arrays: in memory (`Grid`, `BarHistory`: named arrays on one time axis) and on
disk, each a `.npy` file of one record whose fields are whole columns, memory-mapped unread
(`open_table`). `grid.npy` (`StoredGrid`) holds the grid at its knots, interpolated linearly
between them (its layout: docs/api.md); `history.npy`: `history.py`. `check_grid` and
`check_history` check the values; opening checks the layout, the manifest's sha256 the rest.
"""

from __future__ import annotations

import io
import mmap
import zipfile
from dataclasses import dataclass, fields
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.lib.format as npy

from cryptopredict.artifact.schema import LEVELS
from cryptopredict.utc import iso_utc

DAY = 86_400
FINE_DAYS = 30  # past the last bar, the grid keeps the data's interval this long, then a day
# Before the last bar, the hindcast's every row and the bars' every column are kept this long.
FULL_DAYS = 90


class ArtifactError(Exception):
    """An artifact cannot be used; the message names the file and the problem."""


@dataclass(frozen=True, eq=False)
class Arrays:
    """Named arrays on one time axis, `ds` (epoch seconds, increasing): a field each."""

    ds: np.ndarray

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(spec.name for spec in fields(cls))

    def __len__(self) -> int:
        return len(self.ds)

    def __getitem__(self, name: str) -> np.ndarray:
        return getattr(self, name)


@dataclass(frozen=True, eq=False)
class Grid(Arrays):
    """The served forecast at every grid time, bands in price; `origin`: the last bar the row
    had seen (a row up to the last bar is a hindcast, a later one the forecast)."""

    origin: np.ndarray
    yhat: np.ndarray
    yhat_lower_50: np.ndarray
    yhat_upper_50: np.ndarray
    yhat_lower_80: np.ndarray
    yhat_upper_80: np.ndarray
    yhat_lower_95: np.ndarray
    yhat_upper_95: np.ndarray

    def lower(self, level: int) -> np.ndarray:
        return self[f"yhat_lower_{level}"]

    def upper(self, level: int) -> np.ndarray:
        return self[f"yhat_upper_{level}"]


@dataclass(frozen=True, eq=False)
class BarHistory(Arrays):
    """Every validated bar: OHLCV, and the bar's VWAP (the source's, else the typical price)."""

    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    vwap: np.ndarray


_UINT32 = int(np.iinfo(np.uint32).max)
HISTORY_ARRAYS = BarHistory.names()


def band_column(level: int, side: str) -> int:
    """The column of `StoredGrid.band` holding the `side` bound of the `level`% band."""
    return 2 * LEVELS.index(level) + (side == "upper")


@dataclass(frozen=True, eq=False)
class StoredGrid:
    """`grid.npy`: the grid at its knots, as stored."""

    step: int  # the data's interval: every knot lies a whole number of steps after the first
    time: np.ndarray  # (knots,) uint32 or int64 epoch seconds, increasing
    yhat: np.ndarray  # (knots,) float64
    band: np.ndarray  # (knots, 2 * len(LEVELS)) float32, log(bound / yhat); see `band_column`
    lead: np.ndarray  # (knots,) uint32 seconds from the knot's origin to the knot

    @property
    def first(self) -> int:
        return int(self.time[0])

    @property
    def last(self) -> int:
        return int(self.time[-1])

    @property
    def knots(self) -> int:
        return len(self.yhat)

    def times(self) -> np.ndarray:
        return np.asarray(self.time, dtype=np.int64)

    def between(self, epochs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The knots around each of `epochs` (between `first` and `last`): the one at or before
        it, the next (the last knot twice at `last`), and how far between them it lies (0 to 1)."""
        epochs = np.asarray(epochs, dtype=np.float64)
        # Searched in the stored type: the knots are whole seconds, so the knot at or before an
        # epoch is the one at or before its floor (no copy of the whole axis per call).
        sought = np.clip(np.floor(epochs), self.first, self.last).astype(self.time.dtype)
        knot = np.clip(np.searchsorted(self.time, sought, side="right") - 1, 0, self.knots - 2)
        start, end = self.time[knot].astype(np.int64), self.time[knot + 1].astype(np.int64)
        position = knot + (epochs - start) / (end - start)
        before = np.minimum(np.floor(position).astype(np.int64), self.knots - 1)
        return before, np.minimum(before + 1, self.knots - 1), position - before

    def values_at(
        self, around: tuple[np.ndarray, np.ndarray, np.ndarray], level: int
    ) -> np.ndarray:
        """(n, 3): the prediction and the `level`% band in price at the n grid times whose knots
        `between` found (`around`), interpolated between them."""
        knot, after, fraction = around
        columns = [band_column(level, "lower"), band_column(level, "upper")]

        def at(knots: np.ndarray) -> np.ndarray:
            yhat = np.asarray(self.yhat[knots])
            offsets = np.asarray(self.band[knots][:, columns], dtype=np.float64)
            return np.column_stack([yhat, yhat[:, None] * np.exp(offsets)])

        start = at(knot)
        return start + (at(after) - start) * fraction[:, None]

    def expand(self) -> Grid:
        """The grid at every `step`, as served: between knots interpolated, the later origin."""
        ds = self.first + self.step * np.arange((self.last - self.first) // self.step + 1)
        around = before, after, fraction = self.between(ds)
        origin = self.times() - self.lead.astype(np.int64)
        bands: dict[str, np.ndarray] = {}
        for level in LEVELS:
            values = self.values_at(around, level)
            bands |= {f"yhat_lower_{level}": values[:, 1], f"yhat_upper_{level}": values[:, 2]}
        later = np.where(fraction > 0, np.maximum(origin[before], origin[after]), origin[before])
        return Grid(ds=ds, origin=later, yhat=values[:, 0], **bands)


def forecast_times(step: int, last: int, last_bar: int) -> np.ndarray:
    """The knots past `last_bar`: every `step` for `FINE_DAYS`, then daily, and `last`."""
    fine_last = last_bar + (min(FINE_DAYS * DAY, last - last_bar) // step) * step
    coarse_step = DAY if step < DAY and DAY % step == 0 else step
    fine = np.arange(last_bar + step, fine_last + 1, step, dtype=np.int64)
    later = np.arange(fine_last + coarse_step, last, coarse_step, dtype=np.int64)
    ends = np.array([last] if last > fine_last else [], dtype=np.int64)
    return np.concatenate([fine, later, ends])


def hindcast_knots(ds: np.ndarray, origin: np.ndarray, fine_from: int) -> np.ndarray:
    """Which hindcast rows are knots: every one from `fine_from`, before it each origin's run's
    first and last (so interpolation never mixes two origins)."""
    changes = origin[1:] != origin[:-1]
    run_edge = np.r_[True, changes] | np.r_[changes, True]
    return run_edge | (ds >= fine_from)


def grid_knots(
    file: Path, grid: Grid, last_bar: int, *, full_days: float = FULL_DAYS
) -> StoredGrid:
    """`grid` at its knots (every row of the hindcast's last `full_days`); ArtifactError unless
    evenly spaced with no origin after its row or the last bar."""
    ds = np.asarray(grid.ds, dtype=np.int64)
    step = int(ds[1] - ds[0])
    require(bool(np.all(np.diff(ds) == step)), file, "the grid is not evenly spaced")
    origin = np.asarray(grid.origin, dtype=np.int64)
    _ordered(file, ds, origin, np.minimum(ds, last_bar), _LATE)
    past = ds <= last_bar
    fine_from = last_bar - round(full_days * DAY)
    times = np.concatenate(
        [
            ds[past][hindcast_knots(ds[past], origin[past], fine_from)],
            forecast_times(step, int(ds[-1]), last_bar),
        ]
    )
    at = ((times - ds[0]) // step).astype(np.int64)
    yhat = np.asarray(grid.yhat, dtype=np.float64)[at]
    with np.errstate(divide="ignore", invalid="ignore"):  # check_grid names what is wrong
        band = np.column_stack(
            [
                np.log(np.asarray(grid[f"yhat_{side}_{level}"], dtype=np.float64)[at] / yhat)
                for level in LEVELS
                for side in ("lower", "upper")
            ]
        ).astype(np.float32)
    lead = times - origin[at]
    require(bool(lead.max() <= np.iinfo(np.uint32).max), file, "an origin is a century early")
    return StoredGrid(step, times, yhat, band, lead.astype(np.uint32))


def encode_grid(file: Path, grid: Grid, last_bar: int, *, full_days: float = FULL_DAYS) -> bytes:
    knots = grid_knots(file, grid, last_bar, full_days=full_days)
    # In this order every column is aligned to its type (for memoryviews of the mapped record).
    columns: dict[str, np.ndarray] = {
        "yhat": knots.yhat,
        "time": knots.time.astype(
            np.uint32 if 0 <= knots.time.min() <= knots.time.max() <= _UINT32 else np.int64
        ),
        "band": knots.band,
        "lead": knots.lead,
    }
    return encode_record({"step": knots.step}, columns)


def encode_record(scalars: dict[str, int], columns: dict[str, np.ndarray]) -> bytes:
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


def open_table(file: Path, opened: IO[bytes]) -> tuple[np.ndarray, mmap.mmap]:
    """The record in `opened`, memory-mapped unread, and its mapping; numpy refuses objects
    and short files, each file's reader the types of its fields."""
    readers = {(1, 0): npy.read_array_header_1_0, (2, 0): npy.read_array_header_2_0}
    try:
        opened.seek(0)
        shape, _, dtype = readers[npy.read_magic(opened)](opened)
        require(shape == () and dtype.names is not None, file, "does not hold one record")
        mapping = mmap.mmap(opened.fileno(), 0, access=mmap.ACCESS_READ)
        record = np.frombuffer(mapping, dtype, count=1, offset=opened.tell()).reshape(())
    except (ValueError, OSError, SyntaxError, KeyError) as error:
        raise ArtifactError(f"{file}: not a .npy record this code writes ({error})") from None
    return record, mapping


def stored_grid(file: Path, record: np.ndarray) -> StoredGrid:
    time = record.dtype["time"] if "time" in (record.dtype.names or ()) else np.dtype("<i8")
    knots = time.shape[0] if time.shape else 0
    written = np.dtype(
        [
            ("step", "<i8"),
            ("yhat", "<f8", (knots,)),
            ("time", time.base if time.base == np.dtype("<u4") else "<i8", (knots,)),
            ("band", "<f4", (knots, 2 * len(LEVELS))),
            ("lead", "<u4", (knots,)),
        ]
    )
    require(
        record.dtype == written and knots >= 2,
        file,
        f"holds {record.dtype.descr}, not the grid this code writes (two knots or more)",
    )
    grid = StoredGrid(
        int(record["step"]), record["time"], record["yhat"], record["band"], record["lead"]
    )
    times = grid.times()
    require(
        grid.step > 0
        and bool(np.all(np.diff(times) > 0))
        and bool(np.all((times - times[0]) % grid.step == 0)),
        file,
        f"its knots are not increasing whole steps of {grid.step} s apart",
    )
    return grid


def check_history(file: Path, history: BarHistory) -> None:
    """ArtifactError unless prices are positive, volumes not negative, all finite, ds increasing."""
    for name in HISTORY_ARRAYS[1:]:
        values = history[name]
        require(bool(np.all(np.isfinite(values))), file, f"{name} holds non-finite values")
        if name == "volume":
            require(bool(np.all(values >= 0)), file, f"{name} holds negative values")
        else:
            require(bool(np.all(values > 0)), file, f"{name} holds non-positive values")
    require(bool(np.all(np.diff(history.ds) > 0)), file, "ds is not strictly increasing")


def check_grid(file: Path, grid: StoredGrid, *, last_bar: int, first_bar: int) -> None:
    """ArtifactError unless yhat is positive, the bands nested around it, and each knot's origin
    between the first bar and its time (the last bar past it)."""
    yhat = np.asarray(grid.yhat)
    require(bool(np.all(np.isfinite(yhat))), file, "yhat holds non-finite values")
    require(bool(np.all(yhat > 0)), file, "yhat holds non-positive values")
    times = grid.times()
    inner_low = inner_high = np.zeros(len(times), dtype=np.float32)
    inner = "yhat"
    for level in LEVELS:
        low = np.asarray(grid.band[:, band_column(level, "lower")])
        high = np.asarray(grid.band[:, band_column(level, "upper")])
        for side, values in (("lower", low), ("upper", high)):
            name = f"yhat_{side}_{level}"
            require(bool(np.all(np.isfinite(values))), file, f"{name} holds non-finite values")
        _ordered(file, times, low, inner_low, f"yhat_lower_{level} is above {inner}")
        _ordered(file, times, inner_high, high, f"yhat_upper_{level} is below {inner}")
        inner_low, inner_high, inner = low, high, f"the {level}% band"
    origin = times - grid.lead.astype(np.int64)
    _ordered(file, times, origin, np.minimum(times, last_bar), _LATE)
    _ordered(file, times, first_bar, origin, "origin is before the first bar")
    future = times > last_bar
    problem = "origin is before the last stored bar in a forecast row"
    _ordered(file, times[future], last_bar, origin[future], problem)
    apart = np.flatnonzero(np.diff(times) > grid.step)  # knots with answers between them
    _ordered(
        file,
        times[apart + 1],
        origin[apart + 1],
        times[apart],
        "the data of a knot is later than the knot before it, so answers between them would "
        "have seen later data",
    )


_LATE = "origin is after ds or after the last stored bar"


def _ordered(file: Path, ds: np.ndarray, low: Any, high: Any, problem: str) -> None:
    bad = np.flatnonzero(np.asarray(low > high))
    if len(bad):
        when = iso_utc(int(ds[bad[0]]))
        raise ArtifactError(f"{file}: {problem} at {when} ({len(bad)} rows in all)")


def require(condition: bool, file: Path, problem: str) -> None:
    if not condition:
        raise ArtifactError(f"{file}: {problem}")


@dataclass(frozen=True, eq=False)
class BacktestRows:
    """`origins.npz`, a compressed `.npz` of these columns: a row per origin and horizon, by
    origin then horizon; `origin`, the open of the last bar seen (epoch seconds); `hours` from
    its close to the target; the close there (`actual`); the served point (`yhat`); `band`
    (rows, 6), the edges as `grid.npy`'s, log(edge / yhat) in float32."""

    origin: np.ndarray
    hours: np.ndarray
    actual: np.ndarray
    yhat: np.ndarray
    band: np.ndarray

    def encode(self) -> bytes:
        buffer = io.BytesIO()
        np.savez_compressed(buffer, allow_pickle=False, **vars(self))
        return buffer.getvalue()


def decode_rows(file: Path, data: bytes) -> BacktestRows:
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as stored:
            rows = BacktestRows(**{name: stored[name] for name in stored.files})
    except (ValueError, OSError, TypeError, zipfile.BadZipFile) as error:
        raise ArtifactError(f"{file}: not an .npz this code writes ({error})") from None
    lengths = {len(column) for column in vars(rows).values()}
    require(len(lengths) == 1, file, f"its columns are {lengths} long, not one length")
    return rows
