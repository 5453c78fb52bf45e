"""The contract between training and serving: write, read and verify a model artifact.

An artifact is a directory `<out>/<asset>/` holding:

- `model.pkl`: the fitted Prophet model, pickled: the product's model, for anyone who wants to
  load it with Prophet (`Artifact.load_model`); serving never unpickles it;
- `grid.npz`: the served forecast (`Grid`) at the data interval, from the first stored bar to
  the last bar + the horizon (`MAX_HORIZON_DAYS`): every date the API answers. Each row holds
  the point forecast, its central band at every level of `LEVELS`, and the time of the last
  bar it had seen (`origin`): inside the history a hindcast, past it the forecast;
- `history.npz`: every validated bar the training run had (`BarHistory`), which the API serves as
  the actual price and aggregates into candles;
- `backtest.json`: the backtest report;
- `manifest.json`: what the model is, what it was trained on, and a sha256 for every other file
  (`Manifest`).

Reading checks every digest and validates every file into frozen dataclasses; anything wrong is
an ArtifactError naming the file and the field. This module imports neither Prophet nor pandas:
serving reads artifacts with numpy and msgspec alone.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import json
import os
import pickle
import shutil
import tempfile
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Self, TypeVar

import msgspec
import numpy as np

from cryptopredict.atomic import fsync
from cryptopredict.candles import PATTERN as INTERVAL_PATTERN
from cryptopredict.utc import iso_utc

# 2: history.npz holds every bar's OHLCV and VWAP, not the close alone.
# 3: the grid holds each row's origin and a band at every level of LEVELS; manifest `levels`.
SCHEMA_VERSION = 3
LEVELS = (50, 80, 95)  # the central bands the grid holds, in percent
DEFAULT_LEVEL = 80  # the band answers give unless asked for another
MANIFEST = "manifest.json"
MODEL = "model.pkl"
GRID = "grid.npz"
HISTORY = "history.npz"
BACKTEST = "backtest.json"

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

UtcTime = Annotated[datetime, msgspec.Meta(tz=True)]
Text = Annotated[str, msgspec.Meta(min_length=1)]


@dataclass(frozen=True)
class TrainingWindow:
    first: UtcTime
    last: UtcTime
    rows: int


@dataclass(frozen=True)
class DataSummary:
    """The bars the model was trained on: where from, their range, and the validation report."""

    source: Text
    failed_sources: tuple[str, ...]
    first: UtcTime
    last: UtcTime
    rows: int
    sha256: str
    validation: dict[str, Any]
    training_window: TrainingWindow


@dataclass(frozen=True)
class Horizon:
    days: float
    grid_first: UtcTime
    grid_last: UtcTime


@dataclass(frozen=True)
class Manifest:
    """`manifest.json`. `params`, `postprocess`, `data.validation` and `metrics` describe the
    training and are kept as written."""

    schema_version: int
    asset: Text
    symbol: Text
    interval: Annotated[str, msgspec.Meta(pattern=INTERVAL_PATTERN)]
    model_version: Text
    created_at: UtcTime
    git_sha: str | None
    data: DataSummary
    versions: dict[str, str]
    params: dict[str, Any]
    postprocess: dict[str, Any]
    metrics: dict[str, Any] | None
    horizon: Horizon
    levels: tuple[int, ...]
    files: dict[str, str]

    @property
    def interval_width(self) -> float:
        """Share of outcomes the served band should hold, e.g. 0.8 (checked at load)."""
        return float(self.postprocess["interval_width"])


REQUIRED_KEYS = tuple(spec.name for spec in fields(Manifest))


@dataclass(frozen=True)
class Artifact:
    path: Path
    manifest: Manifest
    grid: Grid
    history: BarHistory
    backtest: dict[str, Any] = field(repr=False)
    # The manifest as written, for the model card: it shows every field, also those this code
    # does not read.
    manifest_json: dict[str, Any] = field(repr=False)

    @property
    def asset(self) -> str:
        return self.manifest.asset

    def load_model(self) -> Any:
        """Unpickle the model (importing Prophet), after checking its bytes against the manifest
        once more and the installed Prophet against the one it was pickled with."""
        file = self.path / MODEL
        data = _read_bytes(file)
        _check_digest(file, data, self.manifest.files.get(MODEL))
        trained = self.manifest.versions.get("prophet")
        try:
            installed: str | None = importlib.metadata.version("prophet")
        except importlib.metadata.PackageNotFoundError:
            installed = None
        _require(
            trained == installed,
            file,
            f"was pickled with Prophet {trained} but Prophet {installed} is installed; "
            "retrain or install the matching version",
        )
        return pickle.loads(data)


def write_artifact(
    out_dir: Path,
    *,
    model: Any,
    grid: Grid,
    history: BarHistory,
    backtest: dict[str, Any],
    manifest: dict[str, Any],
) -> Path:
    """Write an artifact to `<out_dir>/<manifest['asset']>` atomically and return its path.

    Everything is written to a temporary directory beside the target, verified by reading it
    back, and only then swapped into place: a failure at any point (a manifest or an array that
    breaks the contract included) leaves the previous artifact untouched.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / manifest["asset"]
    staging = Path(tempfile.mkdtemp(prefix=f".tmp-{manifest['asset']}-", dir=out_dir))
    staging.chmod(0o755)  # mkdtemp's 0700 would hide the artifact from a non-root server
    try:
        files = {
            MODEL: pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL),
            GRID: _npz(grid),
            HISTORY: _npz(history),
            BACKTEST: _json(backtest),
        }
        for name, data in files.items():
            (staging / name).write_bytes(data)
            (staging / name).chmod(0o644)
        digests = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
        full = {**manifest, "schema_version": SCHEMA_VERSION, "files": digests}
        (staging / MANIFEST).write_bytes(_json(full))
        (staging / MANIFEST).chmod(0o644)
        load_artifact(staging)
        _sync_tree(staging)
        _swap_into_place(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def load_artifact(path: Path) -> Artifact:
    """Read and verify an artifact; ArtifactError names the first problem found."""
    path = Path(path)
    document = _read_json(path / MANIFEST)
    manifest = _manifest(path / MANIFEST, document)
    contents = {}
    for name in (GRID, HISTORY, BACKTEST, MODEL):
        contents[name] = _read_bytes(path / name)
        _check_digest(path / name, contents[name], manifest.files.get(name))
    grid = _arrays(path / GRID, contents[GRID], Grid)
    history = _arrays(path / HISTORY, contents[HISTORY], BarHistory)
    _check_grid(path / GRID, grid, last_bar=int(history.ds[-1]))
    backtest = _json_object(path / BACKTEST, contents[BACKTEST])
    return Artifact(path, manifest, grid, history, backtest, document)


def load_artifacts(model_dir: Path) -> dict[str, Artifact]:
    """Every artifact under `model_dir`, by asset; ArtifactError if there is none or any is bad."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise ArtifactError(f"{model_dir}: no such directory; run `python train.py` first")
    found = sorted(p.parent for p in model_dir.glob(f"*/{MANIFEST}") if not _is_temporary(p))
    if not found:
        raise ArtifactError(f"{model_dir}: holds no artifact; run `python train.py` first")
    artifacts = [load_artifact(path) for path in found]
    return {artifact.asset: artifact for artifact in artifacts}


def _read_json(file: Path) -> dict[str, Any]:
    return _json_object(file, _read_bytes(file))


def _json_object(file: Path, data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except ValueError as error:
        raise ArtifactError(f"{file}: not valid JSON ({error})") from None
    if not isinstance(value, dict):
        raise ArtifactError(f"{file}: is not a JSON object")
    return value


def _manifest(file: Path, document: dict[str, Any]) -> Manifest:
    version = document.get("schema_version")
    if not isinstance(version, int):
        raise ArtifactError(f"{file}: has no integer schema_version")
    _require(
        version <= SCHEMA_VERSION,
        file,
        f"schema_version {version} is newer than this code understands ({SCHEMA_VERSION}); "
        "upgrade cryptopredict",
    )
    _require(
        version == SCHEMA_VERSION,
        file,
        f"schema_version {version} is no longer supported (schema {SCHEMA_VERSION} adds bands "
        f"at {', '.join(map(str, LEVELS))}% and a hindcast over the whole history); retrain "
        "with `python train.py`",
    )
    missing = [key for key in REQUIRED_KEYS if key not in document]
    _require(not missing, file, f"lacks {', '.join(missing)}")
    try:
        manifest = msgspec.convert(document, Manifest)
    except msgspec.ValidationError as error:
        raise ArtifactError(f"{file}: {error}") from None
    width = manifest.postprocess.get("interval_width")
    _require(
        isinstance(width, float) and 0 < width < 1,
        file,
        f"postprocess.interval_width is {width!r}, not a share between 0 and 1 - at "
        "`$.postprocess.interval_width`",
    )
    _require(
        manifest.levels == LEVELS,
        file,
        f"levels are {list(manifest.levels)}, not the grid's {list(LEVELS)} - at `$.levels`",
    )
    return manifest


A = TypeVar("A", bound=Arrays)


def _arrays(file: Path, data: bytes, kind: type[A]) -> A:
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in kind.names()}
    except KeyError as error:
        raise ArtifactError(f"{file}: lacks the array {error}") from None
    except (OSError, ValueError) as error:
        raise ArtifactError(f"{file}: unreadable ({error})") from None
    ds = arrays["ds"]
    _require(ds.ndim == 1 and len(ds) > 1, file, "ds is not a list of at least two times")
    for spec in fields(kind):
        name, values, what = spec.name, arrays[spec.name], spec.metadata["kind"]
        _require(values.shape == ds.shape, file, f"{name} does not match ds in length")
        if what == TIME:
            _require(values.dtype == np.int64, file, f"{name} is {values.dtype}, not int64")
            continue
        _require(values.dtype == np.float64, file, f"{name} is {values.dtype}, not float64")
        _require(bool(np.all(np.isfinite(values))), file, f"{name} holds non-finite values")
        if what == PRICE:
            _require(bool(np.all(values > 0)), file, f"{name} holds non-positive values")
        else:
            _require(bool(np.all(values >= 0)), file, f"{name} holds negative values")
    _require(bool(np.all(np.diff(ds) > 0)), file, "ds is not strictly increasing")
    return kind(**arrays)


def _check_grid(file: Path, grid: Grid, *, last_bar: int) -> None:
    """Every band holds the point forecast and lies inside the wider ones; no row has seen a
    bar later than its own time, and every row past the last stored bar was made there."""
    low, high, inner = grid.yhat, grid.yhat, "yhat"
    for level in LEVELS:
        lower, upper = grid.lower(level), grid.upper(level)
        _ordered(file, grid.ds, lower, low, f"yhat_lower_{level} is above {inner}")
        _ordered(file, grid.ds, high, upper, f"yhat_upper_{level} is below {inner}")
        low, high, inner = lower, upper, f"the {level}% band"
    _ordered(
        file,
        grid.ds,
        grid.origin,
        np.minimum(grid.ds, last_bar),
        "origin is after ds or after the last stored bar",
    )
    future = grid.ds > last_bar
    _ordered(
        file,
        grid.ds[future],
        np.full(int(future.sum()), last_bar),
        grid.origin[future],
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


def _check_digest(file: Path, data: bytes, expected: str | None) -> None:
    if expected is None:
        raise ArtifactError(f"{file}: is not listed in the manifest")
    actual = hashlib.sha256(data).hexdigest()
    _require(
        actual == expected,
        file,
        f"sha256 {actual[:12]}... does not match the manifest's {expected[:12]}... "
        "(corrupt or edited)",
    )


def _read_bytes(file: Path) -> bytes:
    try:
        return file.read_bytes()
    except FileNotFoundError:
        raise ArtifactError(f"{file}: missing") from None
    except OSError as error:
        raise ArtifactError(f"{file}: unreadable ({error.strerror})") from None


def _require(condition: bool, file: Path, problem: str) -> None:
    if not condition:
        raise ArtifactError(f"{file}: {problem}")


def _npz(arrays: Arrays) -> bytes:
    buffer = io.BytesIO()
    named: dict[str, Any] = {name: arrays[name] for name in arrays.names()}
    np.savez(buffer, **named)
    return buffer.getvalue()


def _json(value: Any) -> bytes:
    return json.dumps(value, indent=2, sort_keys=True, allow_nan=False).encode() + b"\n"


def _is_temporary(manifest: Path) -> bool:
    return manifest.parent.name.startswith(".")


def _sync_tree(directory: Path) -> None:
    for file in directory.iterdir():
        fsync(file)
    fsync(directory)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _swap_into_place(staging: Path, target: Path) -> None:
    """Make `staging` the new `target`; the old content ends up in `staging` (or is removed).

    A new target is a plain rename. An existing one is exchanged atomically with Linux's
    renameat2(RENAME_EXCHANGE), so at every instant `target` is either the old or the new
    artifact. Without it, the old one is moved aside first and a crash in between leaves it
    under `.previous-<asset>`, never deleted.
    """
    if not target.exists():
        staging.rename(target)
        fsync(target.parent)
        return
    if not _exchange(staging, target):
        aside = target.parent / f".previous-{target.name}"
        shutil.rmtree(aside, ignore_errors=True)
        target.rename(aside)
        staging.rename(target)
        shutil.rmtree(aside)
    fsync(target.parent)


def _exchange(first: Path, second: Path) -> bool:
    # Imported here: only writing needs them, and the server never writes.
    import ctypes  # noqa: PLC0415
    import ctypes.util  # noqa: PLC0415

    libc_name = ctypes.util.find_library("c")
    renameat2 = getattr(ctypes.CDLL(libc_name, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False
    result = renameat2(
        _AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE
    )
    return result == 0
