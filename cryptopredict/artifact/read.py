"""Reading an artifact, `<out>/<asset>/` (`manifest.json`, `grid.npy`, `history.npy`,
`backtest.json`, `origins.npz`, and `model.pkl`, which serving never reads: docs/model.md),
verified against its manifest; every fault an ArtifactError naming the file; no Prophet."""

from __future__ import annotations

import errno
import hashlib
import importlib.metadata
import io
import json
import mmap
import os
import pickle
import stat
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar, cast

import msgspec

from cryptopredict.artifact.arrays import (
    DAY,
    HISTORY_ARRAYS,
    ArtifactError,
    BacktestRows,
    Grid,
    StoredGrid,
    check_grid,
    decode_rows,
    open_table,
    require,
    stored_grid,
)
from cryptopredict.artifact.history import StoredBars, check_stored, stored_history
from cryptopredict.artifact.schema import (
    BACKTEST,
    GRID,
    HISTORY,
    LEVELS,
    MANIFEST,
    MODEL,
    ORIGINS,
    REQUIRED_KEYS,
    SCHEMA_VERSION,
    BacktestReport,
    IndexEntry,
    Manifest,
)

T = TypeVar("T")
# The most a manifest or a backtest report may be (training writes a few hundred kB).
JSON_MAX = 64 * 2**20


def cached(compute: Callable[[Any], T]) -> T:
    """`functools.cached_property` without the lock Python 3.11's holds across every instance
    (issue 41: one slow artifact held up every asset; 3.12 dropped it). Two threads may both
    compute a value the first time; the first to finish is kept."""
    name = compute.__name__

    def value(instance: Any) -> T:
        values = instance.__dict__
        if name not in values:
            values.setdefault(name, compute(instance))
        return values[name]

    return cast(T, property(value, doc=compute.__doc__))


@dataclass(frozen=True, eq=False)
class Artifact:
    """An opened artifact: its manifest, and its arrays memory-mapped (read as they are used)."""

    path: Path
    manifest: Manifest
    grid_file: StoredGrid  # the grid as stored, at its knots
    history: StoredBars
    manifest_sha256: str = field(repr=False)
    mappings: tuple[mmap.mmap, ...] = field(default=(), repr=False)

    def release(self) -> None:
        """Hand back the arrays' pages (the page cache keeps them) and what was parsed on
        demand."""
        for mapping in self.mappings:
            if hasattr(mmap, "MADV_DONTNEED"):
                mapping.madvise(mmap.MADV_DONTNEED)
        for parsed in ("backtest", "grid", "origins"):
            self.__dict__.pop(parsed, None)

    @property
    def asset(self) -> str:
        return self.manifest.asset

    @cached
    def grid(self) -> Grid:
        """The grid at every step, read whole (for tools and tests; the API reads `grid_file`)."""
        return self.grid_file.expand()

    @cached
    def backtest(self) -> BacktestReport:
        file = self.path / BACKTEST
        return _typed(file, _json_object(file, self.verified(BACKTEST)), BacktestReport)

    @cached
    def origins(self) -> BacktestRows | None:
        """The backtest's every row (None: the artifact has none)."""
        listed = ORIGINS in self.manifest.files
        return decode_rows(self.path / ORIGINS, self.verified(ORIGINS)) if listed else None

    def verified(self, name: str, largest: int | None = JSON_MAX) -> bytes:
        data = read_bytes(self.path / name, largest)
        digest = hashlib.sha256(data).hexdigest()
        _check_digest(self.path / name, digest, self.manifest.files.get(name))
        return data

    @property
    def entry(self) -> IndexEntry:
        return entry_of(self.manifest, self.manifest_sha256)

    def load_model(self) -> Any:
        """The unpickled model, its bytes and the installed Prophet checked first."""
        file = self.path / MODEL
        require(
            file.exists(),
            file,
            "is not here: the image holds only what serving reads (the build stage keeps the "
            "pickled models); train the pair to have it",
        )
        data = self.verified(MODEL, None)
        trained = self.manifest.versions.get("prophet")
        try:
            installed: str | None = importlib.metadata.version("prophet")
        except importlib.metadata.PackageNotFoundError:
            installed = None
        require(
            trained == installed,
            file,
            f"was pickled with Prophet {trained} but Prophet {installed} is installed; "
            "retrain or install the matching version",
        )
        return pickle.loads(data)


def entry_of(manifest: Manifest, manifest_sha256: str) -> IndexEntry:
    return IndexEntry(
        asset=manifest.asset,
        symbol=manifest.symbol,
        interval=manifest.interval,
        schema_version=manifest.schema_version,
        model_version=manifest.model_version,
        created_at=_epoch(manifest.created_at),
        source=manifest.data.source,
        first_bar=_epoch(manifest.data.first),
        last_bar=_epoch(manifest.data.last),
        grid_first=_epoch(manifest.horizon.grid_first),
        grid_last=_epoch(manifest.horizon.grid_last),
        interval_width=manifest.interval_width,
        manifest_sha256=manifest_sha256,
    )


def open_artifact(path: Path, *, every_value: bool = False) -> Artifact:
    """The artifact, its manifest and the arrays' sha256 checked, the arrays memory-mapped (with
    `every_value`, every value checked); its files opened through one handle on the directory, so
    one swapped in meanwhile is read whole, old or new."""
    path = Path(path)
    with ExitStack() as stack:
        directory = _open_directory(path)
        stack.callback(os.close, directory)
        written = _read_all(
            stack.enter_context(_open_in(directory, path, MANIFEST)), path / MANIFEST, JSON_MAX
        )
        manifest = _manifest(path / MANIFEST, written)
        step = manifest.step
        tables, mappings = {}, []
        for name, largest in _largest(manifest, step).items():
            opened = stack.enter_context(_open_in(directory, path, name))
            _check_size(path / name, opened, largest)
            digest = hashlib.file_digest(opened, "sha256").hexdigest()
            _check_digest(path / name, digest, manifest.files.get(name))
            tables[name], mapping = open_table(path / name, opened)
            mappings.append(mapping)
    grid = stored_grid(path / GRID, tables[GRID])
    history = stored_history(path / HISTORY, tables[HISTORY])
    if every_value:
        check_stored(path / HISTORY, history)
        check_grid(path / GRID, grid, first_bar=history.first_bar, last_bar=history.last_bar)
    ends = (history.first_bar, history.last_bar, grid.first, grid.last)
    data, horizon = manifest.data, manifest.horizon
    said = (data.first, data.last, horizon.grid_first, horizon.grid_last)
    require(
        ends == tuple(_epoch(when) for when in said),
        path / MANIFEST,
        "data.first, data.last, horizon.grid_first or horizon.grid_last do not match the "
        "history and the grid",
    )
    require(
        grid.step == step == history.step,
        path / GRID,
        f"its knots are {grid.step} s apart and the bars {history.step} s, not the manifest's "
        f"{manifest.interval}",
    )
    digest = hashlib.sha256(written).hexdigest()
    return Artifact(path, manifest, grid, history, digest, tuple(mappings))


# What a checkout trains with (not `python train.py`: a system Python lacks the dependencies).
TRAIN_FIRST = "train first: `make run` trains and serves, `make train` trains"
# The most a `.npy` header takes (numpy writes a few hundred bytes; version 2 allows 4 GiB).
NPY_HEADER_MAX = 65_536


def _largest(manifest: Manifest, step: int) -> dict[str, int]:
    """The most bytes each array file can hold, from the manifest alone."""
    first, last = _epoch(manifest.data.first), _epoch(manifest.data.last)
    bars = max((last - first) // step + 1, 0)
    days = max((last - first) // DAY + 2, 0)
    knots = (_epoch(manifest.horizon.grid_last) - _epoch(manifest.horizon.grid_first)) // step + 1
    knot = 8 + 8 + 4 * 2 * len(LEVELS) + 4  # time, yhat, the bands, lead
    columns = len(HISTORY_ARRAYS) - 1
    return {
        GRID: NPY_HEADER_MAX + 8 + max(knots, 0) * knot,
        # The scalars, then at most 8 bytes a value and a count a candle (the weeks < the days).
        HISTORY: NPY_HEADER_MAX
        + 8 * (5 + 3 * columns)
        + 8 * columns * (bars + 2 * days)
        + 8 * days,
    }


def _check_size(file: Path, opened: io.BufferedReader, largest: int) -> None:
    size = os.fstat(opened.fileno()).st_size
    require(
        size <= largest,
        file,
        f"is {size:,} bytes, more than the {largest:,} a file of its kind can hold (not the "
        "file training wrote)",
    )


def load_artifact(path: Path) -> Artifact:
    """`open_artifact` of every value, and the backtest and the model's bytes checked."""
    artifact = open_artifact(path, every_value=True)
    _ = artifact.backtest, artifact.origins
    if (artifact.path / MODEL).exists():  # the image holds none: serving never reads it
        artifact.verified(MODEL, None)
    return artifact


def describe(path: Path) -> IndexEntry:
    data = read_bytes(path / MANIFEST, JSON_MAX)
    return entry_of(_manifest(path / MANIFEST, data), hashlib.sha256(data).hexdigest())


def existing_model_dir(model_dir: Path) -> Path:
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise ArtifactError(f"{model_dir}: no such directory; {TRAIN_FIRST}")
    return model_dir


def _open_directory(path: Path) -> int:
    """The directory `path`: a symlink only to one in its model directory."""
    real, within = os.path.realpath(path), os.path.realpath(path.parent)
    require(
        os.path.commonpath([real, within]) == within,
        path,
        "is a symbolic link out of its model directory; copy the artifact in instead",
    )
    try:
        return os.open(real, os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError:
        raise ArtifactError(f"{path}: missing") from None
    except OSError as error:
        raise ArtifactError(f"{path}: unreadable ({error.strerror})") from None


# Regular files only: a symbolic link could lead anywhere, a FIFO would block.
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK


def _open_in(directory: int | None, path: Path, name: str) -> io.BufferedReader:
    file = path / name
    try:
        descriptor = os.open(file if directory is None else name, _FILE_FLAGS, dir_fd=directory)
    except FileNotFoundError:
        raise ArtifactError(f"{file}: missing") from None
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise ArtifactError(
                f"{file}: is a symbolic link; a model directory's files must be the regular "
                "files training wrote"
            ) from None
        raise ArtifactError(f"{file}: unreadable ({error.strerror})") from None
    opened = os.fdopen(descriptor, "rb")
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        opened.close()
        raise ArtifactError(f"{file}: is not a regular file")
    return opened


def _read_all(opened: io.BufferedReader, file: Path, largest: int | None = None) -> bytes:
    if largest is not None:
        _check_size(file, opened, largest)
    try:
        return opened.read()
    except OSError as error:
        raise ArtifactError(f"{file}: unreadable ({error.strerror})") from None


def _epoch(when: datetime) -> int:
    return int(when.timestamp())


def _json_object(file: Path, data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except ValueError as error:
        raise ArtifactError(f"{file}: not valid JSON ({error})") from None
    except RecursionError:
        raise ArtifactError(f"{file}: not valid JSON (nested too deep to read)") from None
    if not isinstance(value, dict):
        raise ArtifactError(f"{file}: is not a JSON object")
    return value


def schema_problem(version: int) -> str:
    if version > SCHEMA_VERSION:
        return (
            f"schema_version {version} is newer than this code understands ({SCHEMA_VERSION}); "
            "upgrade cryptopredict"
        )
    return (
        f"schema_version {version} is no longer supported (schema {SCHEMA_VERSION} stores the "
        "grid and the history sized to what is served); retrain with `python train.py`"
    )


def _manifest(file: Path, data: bytes) -> Manifest:
    document = _json_object(file, data)
    version = document.get("schema_version")
    if not isinstance(version, int):
        raise ArtifactError(f"{file}: has no integer schema_version")
    require(version == SCHEMA_VERSION, file, schema_problem(version))
    missing = [key for key in REQUIRED_KEYS if key not in document]
    require(not missing, file, f"lacks {', '.join(missing)}")
    manifest = _typed(file, document, Manifest)
    require(
        manifest.levels == LEVELS,
        file,
        f"levels are {list(manifest.levels)}, not the grid's {list(LEVELS)} - at `$.levels`",
    )
    return manifest


def _typed(file: Path, document: dict[str, Any], kind: type[T]) -> T:
    try:
        return msgspec.convert(document, kind)
    except msgspec.ValidationError as error:
        raise ArtifactError(f"{file}: {error}") from None


def _check_digest(file: Path, actual: str, expected: str | None) -> None:
    if expected is None:
        raise ArtifactError(f"{file}: is not listed in the manifest")
    require(
        actual == expected,
        file,
        f"sha256 {actual[:12]}... does not match the manifest's {expected[:12]}... "
        "(corrupt or edited)",
    )


def read_bytes(file: Path, largest: int | None = None) -> bytes:
    """The regular file `file`, never through a link; ArtifactError past `largest` bytes."""
    with _open_in(None, file.parent, file.name) as opened:
        return _read_all(opened, file, largest)
