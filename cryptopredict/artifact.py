"""The contract between training and serving: write, read and verify a model artifact.

An artifact is a directory `<out>/<asset>/` holding:

- `model.pkl`: the fitted Prophet model, pickled: the product's model, for anyone who wants to
  load it with Prophet (`Artifact.load_model`); serving never unpickles it;
- `grid.npy`: the served forecast from the first stored bar to the last bar + the horizon
  (`MAX_HORIZON_DAYS`): every date the API answers. Each knot holds the point forecast, its
  central band at every level of `LEVELS`, and how long before it the last bar it had seen
  came: inside the history a hindcast, past it the forecast. Knots run at the data's interval
  to 30 days past the last bar, then daily (`cryptopredict.arrays` describes the layout);
- `history.npy`: every validated bar the training run had (`BarHistory`), which the API serves
  as the actual price and aggregates into candles;
- `backtest.json`: the backtest report;
- `manifest.json`: what the model is, what it was trained on, and a sha256 for every other file
  (`Manifest`).

Beside the artifacts, `index.json` lists them (`cryptopredict.artifact_index`).

`open_artifact` checks the manifest and the digests of the arrays, and memory-maps them without
reading them; `load_artifact` also checks every value and the other files. Anything wrong is an
ArtifactError naming the file and the field. This module imports neither Prophet nor pandas:
serving reads artifacts with numpy and msgspec alone.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import json
import logging
import os
import pickle
import shutil
import tempfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field, fields
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any

import msgspec

from cryptopredict.arrays import (
    DEFAULT_LEVEL,
    GRID_ARRAYS,
    HISTORY_ARRAYS,
    LEVELS,
    ArtifactError,
    BarHistory,
    Grid,
    StoredGrid,
    check_grid,
    check_history,
    encode_grid,
    encode_history,
    history_of,
    open_table,
    stored_grid,
)
from cryptopredict.artifact_index import INDEX, IndexEntry, artifact_dirs, read_index, record
from cryptopredict.atomic import fsync
from cryptopredict.candles import PATTERN as INTERVAL_PATTERN
from cryptopredict.candles import Interval, IntervalError

__all__ = [
    "DEFAULT_LEVEL",
    "GRID_ARRAYS",
    "HISTORY_ARRAYS",
    "LEVELS",
    "Artifact",
    "ArtifactError",
    "ArtifactStore",
    "BarHistory",
    "Grid",
    "IndexEntry",
    "Manifest",
    "index_artifacts",
    "load_artifact",
    "load_artifacts",
    "open_artifact",
    "open_artifacts",
    "write_artifact",
]

# 2: history.npz holds every bar's OHLCV and VWAP, not the close alone.
# 3: the grid holds each row's origin and a band at every level of LEVELS; manifest `levels`.
# 4: grid.npy and history.npy, memory-mapped: the grid at the data's interval to 30 days past
#    the last bar, then daily; bands as float32 log offsets; each knot's lead, not its origin.
SCHEMA_VERSION = 4
MANIFEST = "manifest.json"
MODEL = "model.pkl"
GRID = "grid.npy"
HISTORY = "history.npy"
BACKTEST = "backtest.json"

log = logging.getLogger(__name__)

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


@dataclass(frozen=True, eq=False)
class Artifact:
    """An opened artifact: its manifest, and its arrays memory-mapped (read as they are used)."""

    path: Path
    manifest: Manifest
    grid_file: StoredGrid  # the grid as stored, at its knots
    history: BarHistory
    # The manifest as written, for the model card: it shows every field, also those this code
    # does not read.
    manifest_json: dict[str, Any] = field(repr=False)
    manifest_sha256: str = field(repr=False)

    @property
    def asset(self) -> str:
        return self.manifest.asset

    @cached_property
    def grid(self) -> Grid:
        """The grid at every step as the API serves it, read whole into memory (for tools and
        tests; the API reads `grid_file`)."""
        return self.grid_file.expand()

    @cached_property
    def backtest(self) -> dict[str, Any]:
        """`backtest.json`, read and checked against the manifest on first use."""
        file = self.path / BACKTEST
        data = _read_bytes(file)
        _check_digest(file, hashlib.sha256(data).hexdigest(), self.manifest.files.get(BACKTEST))
        return _json_object(file, data)

    @property
    def entry(self) -> IndexEntry:
        """What the index says of this artifact."""
        return entry_of(self.manifest, self.manifest_sha256)

    def load_model(self) -> Any:
        """Unpickle the model (importing Prophet), after checking its bytes against the manifest
        once more and the installed Prophet against the one it was pickled with."""
        file = self.path / MODEL
        data = _read_bytes(file)
        _check_digest(file, hashlib.sha256(data).hexdigest(), self.manifest.files.get(MODEL))
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


def write_artifact(
    out_dir: Path,
    *,
    model: Any,
    grid: Grid,
    history: BarHistory,
    backtest: dict[str, Any],
    manifest: dict[str, Any],
) -> Path:
    """Write an artifact to `<out_dir>/<manifest['asset']>` atomically, enter it in
    `<out_dir>/index.json`, and return its path.

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
        check_history(staging / HISTORY, history)  # before the grid is read against it
        files = {
            MODEL: pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL),
            GRID: encode_grid(staging / GRID, grid, last_bar=int(history.ds[-1])),
            HISTORY: encode_history(history),
            BACKTEST: _json(backtest),
        }
        for name, data in files.items():
            (staging / name).write_bytes(data)
            (staging / name).chmod(0o644)
        digests = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
        full = {**manifest, "schema_version": SCHEMA_VERSION, "files": digests}
        (staging / MANIFEST).write_bytes(_json(full))
        (staging / MANIFEST).chmod(0o644)
        entry = load_artifact(staging).entry
        _sync_tree(staging)
        _swap_into_place(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    record(out_dir, entry, describe)
    return target


def open_artifact(path: Path, *, every_value: bool = False) -> Artifact:
    """An artifact, its manifest checked and its arrays' sha256 with it, the arrays
    memory-mapped (with `every_value`, read and checked); ArtifactError names the first problem
    found.

    Its files are opened through one handle on the directory, so an artifact swapped in
    meanwhile (`write_artifact`) is read whole, old or new.
    """
    path = Path(path)
    with ExitStack() as stack:
        directory = _open_directory(path)
        stack.callback(os.close, directory)
        written = _read_all(
            stack.enter_context(_open_in(directory, path, MANIFEST)), path / MANIFEST
        )
        document = _json_object(path / MANIFEST, written)
        manifest = _manifest(path / MANIFEST, document)
        tables = {}
        for name in (GRID, HISTORY):
            opened = stack.enter_context(_open_in(directory, path, name))
            digest = hashlib.file_digest(opened, "sha256").hexdigest()
            _check_digest(path / name, digest, manifest.files.get(name))
            tables[name] = open_table(path / name, opened)
    grid = stored_grid(path / GRID, tables[GRID])
    history = history_of(path / HISTORY, tables[HISTORY])
    if every_value:
        check_history(path / HISTORY, history)
        check_grid(path / GRID, grid, first_bar=int(history.ds[0]), last_bar=int(history.ds[-1]))
    ends = (int(history.ds[0]), int(history.ds[-1]), grid.first, grid.last)
    data, horizon = manifest.data, manifest.horizon
    said = (data.first, data.last, horizon.grid_first, horizon.grid_last)
    _require(
        ends == tuple(_epoch(when) for when in said),
        path / MANIFEST,
        "data.first, data.last, horizon.grid_first or horizon.grid_last do not match the "
        "history and the grid",
    )
    try:
        step = Interval.parse(manifest.interval).seconds
    except IntervalError as error:
        raise ArtifactError(f"{path / MANIFEST}: the interval: {error}") from None
    _require(
        grid.step == step,
        path / GRID,
        f"its knots are {grid.step} s apart, not the manifest's {manifest.interval}",
    )
    digest = hashlib.sha256(written).hexdigest()
    return Artifact(path, manifest, grid, history, document, digest)


def load_artifact(path: Path) -> Artifact:
    """`open_artifact`, then every value checked, and the backtest and the model's bytes;
    ArtifactError names the first problem found."""
    artifact = open_artifact(path, every_value=True)
    _ = artifact.backtest
    model = artifact.path / MODEL
    _check_digest(model, _file_sha256(model), artifact.manifest.files.get(MODEL))
    return artifact


def load_artifacts(model_dir: Path) -> dict[str, Artifact]:
    """Every artifact under `model_dir`, by asset, each checked whole (`load_artifact`);
    ArtifactError if there is none or any is bad."""
    found = artifact_dirs(_model_dir(model_dir))
    if not found:
        raise ArtifactError(f"{model_dir}: holds no artifact; run `python train.py` first")
    artifacts = [load_artifact(path) for path in found]
    return {artifact.asset: artifact for artifact in artifacts}


def describe(path: Path) -> IndexEntry:
    """The index entry of the artifact at `path`, from its manifest alone."""
    data = _read_bytes(path / MANIFEST)
    manifest = _manifest(path / MANIFEST, _json_object(path / MANIFEST, data))
    return entry_of(manifest, hashlib.sha256(data).hexdigest())


def index_artifacts(model_dir: Path) -> int:
    """Write `<model_dir>/index.json` afresh from every artifact's manifest (after artifacts
    were copied in by hand, say); the number of artifacts it lists."""
    record(_model_dir(model_dir), None, describe, afresh=True)
    return len(read_index(model_dir) or {})


class ArtifactStore(Mapping[str, Artifact]):
    """The artifacts of a model directory, listed at once and opened when first asked for.

    `entries` says what each is before it is opened (from `index.json`). Looking one up opens
    it (`open_artifact`: manifest and sha256 checked, arrays memory-mapped) the first time; one
    that cannot be opened raises ArtifactError, then and on every later look-up, and is listed
    in `failures`. Safe to use from several threads.
    """

    def __init__(
        self,
        model_dir: Path | None,
        entries: Mapping[str, IndexEntry],
        failures: Mapping[str, str] | None = None,
        opened: Mapping[str, Artifact] | None = None,
    ) -> None:
        self.model_dir = model_dir
        self._entries = dict(entries)
        self._failures = dict(failures or {})
        self._opened = dict(opened or {})
        self._lock = threading.Lock()

    @classmethod
    def of(cls, artifacts: Mapping[str, Artifact]) -> ArtifactStore:
        """A store of artifacts opened already."""
        entries = {slug: artifact.entry for slug, artifact in artifacts.items()}
        return cls(None, entries, opened=artifacts)

    def entry(self, slug: str) -> IndexEntry:
        """What is known of `slug`: its own manifest's summary once opened, else the index's."""
        opened = self._opened.get(slug)
        return opened.entry if opened is not None else self._entries[slug]

    @property
    def failures(self) -> dict[str, str]:
        """The artifacts that could not be opened, with why."""
        return dict(self._failures)

    def __getitem__(self, slug: str) -> Artifact:
        opened = self._opened.get(slug)
        if opened is not None:
            return opened
        with self._lock:
            if slug in self._failures:
                raise ArtifactError(self._failures[slug])
            if slug not in self._opened:
                self._opened[slug] = self._open(slug)
            return self._opened[slug]

    def _open(self, slug: str) -> Artifact:
        if slug not in self._entries or self.model_dir is None:
            raise KeyError(slug)
        try:
            artifact = open_artifact(self.model_dir / slug)
            _require(
                artifact.asset == slug, artifact.path / MANIFEST, f"is that of {artifact.asset}"
            )
        except ArtifactError as error:
            self._failures[slug] = str(error)
            log.error("cannot serve %s: %s", slug, error)
            raise
        if artifact.manifest_sha256 != self._entries[slug].manifest_sha256:
            log.warning(
                "%s: index.json describes another manifest (written since, or the index was not "
                "updated); serving the artifact as its manifest describes it",
                artifact.path,
            )
        log.info("opened %s model %s", slug, artifact.manifest.model_version)
        return artifact

    def __contains__(self, slug: object) -> bool:
        return slug in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._entries))

    def __len__(self) -> int:
        return len(self._entries)


def open_artifacts(model_dir: Path) -> ArtifactStore:
    """The artifacts under `model_dir`, listed from its `index.json`, none opened yet.

    An artifact directory the index lacks is listed from its manifest, an entry without its
    directory is left out, and an artifact of another schema is listed in `failures` with what
    to do. ArtifactError when no artifact can be served.
    """
    model_dir = _model_dir(model_dir)
    try:
        indexed = read_index(model_dir)
    except ArtifactError as error:
        log.warning("listing the artifacts from their manifests: %s", error)
        indexed = None
    present = {path.name: path for path in artifact_dirs(model_dir)}
    gone = sorted(set(indexed or {}) - set(present))
    if gone:
        log.warning("%s lists %s, which %s does not hold", INDEX, ", ".join(gone), model_dir)
    entries, failures = {}, {}
    for name, path in present.items():
        found = (indexed or {}).get(name)
        try:
            entry = found if found is not None else describe(path)
            _require(
                entry.schema_version == SCHEMA_VERSION,
                path / MANIFEST,
                _schema_problem(entry.schema_version),
            )
        except ArtifactError as error:
            log.error("cannot serve %s: %s", name, error)
            failures[name] = str(error)
            continue
        entries[name] = entry
    if not present:
        raise ArtifactError(f"{model_dir}: holds no artifact; run `python train.py` first")
    if not entries:
        first = next(iter(failures.values()))
        raise ArtifactError(f"none of the {len(failures)} artifacts can be served; {first}")
    return ArtifactStore(model_dir, entries, failures)


def _model_dir(model_dir: Path) -> Path:
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise ArtifactError(f"{model_dir}: no such directory; run `python train.py` first")
    return model_dir


def _open_directory(path: Path) -> int:
    try:
        return os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError:
        raise ArtifactError(f"{path}: missing") from None
    except OSError as error:
        raise ArtifactError(f"{path}: unreadable ({error.strerror})") from None


def _open_in(directory: int, path: Path, name: str) -> io.BufferedReader:
    try:
        return os.fdopen(os.open(name, os.O_RDONLY, dir_fd=directory), "rb")
    except FileNotFoundError:
        raise ArtifactError(f"{path / name}: missing") from None
    except OSError as error:
        raise ArtifactError(f"{path / name}: unreadable ({error.strerror})") from None


def _file_sha256(file: Path) -> str:
    try:
        with file.open("rb") as opened:
            return hashlib.file_digest(opened, "sha256").hexdigest()
    except FileNotFoundError:
        raise ArtifactError(f"{file}: missing") from None
    except OSError as error:
        raise ArtifactError(f"{file}: unreadable ({error.strerror})") from None


def _read_all(opened: io.BufferedReader, file: Path) -> bytes:
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
    if not isinstance(value, dict):
        raise ArtifactError(f"{file}: is not a JSON object")
    return value


def _schema_problem(version: int) -> str:
    if version > SCHEMA_VERSION:
        return (
            f"schema_version {version} is newer than this code understands ({SCHEMA_VERSION}); "
            "upgrade cryptopredict"
        )
    return (
        f"schema_version {version} is no longer supported (schema {SCHEMA_VERSION} stores the "
        "grid compact and memory-mapped: grid.npy and history.npy); retrain with "
        "`python train.py`"
    )


def _manifest(file: Path, document: dict[str, Any]) -> Manifest:
    version = document.get("schema_version")
    if not isinstance(version, int):
        raise ArtifactError(f"{file}: has no integer schema_version")
    _require(version == SCHEMA_VERSION, file, _schema_problem(version))
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


def _check_digest(file: Path, actual: str, expected: str | None) -> None:
    if expected is None:
        raise ArtifactError(f"{file}: is not listed in the manifest")
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


def _json(value: Any) -> bytes:
    return json.dumps(value, indent=2, sort_keys=True, allow_nan=False).encode() + b"\n"


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
