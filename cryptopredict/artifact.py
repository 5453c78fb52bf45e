"""The contract between training and serving: write, read and verify a model artifact.

An artifact is a directory `<out>/<asset>/` holding:

- `model.pkl`: the fitted Prophet model, pickled;
- `grid.npz`: the served forecast (`ds` in epoch seconds, `yhat`, `yhat_lower`, `yhat_upper`)
  at the data interval, from the first bar the model saw to the last bar + horizon;
- `history.npz`: every validated bar the training run had (`ds`, `open`, `high`, `low`,
  `close`, `volume`, and `vwap`: the source's, or the typical price where it gives none), which
  the API serves as the actual price and aggregates into candles;
- `backtest.json`: the backtest report;
- `manifest.json`: what the model is, what it was trained on, and a sha256 for every other file.

This module imports neither Prophet nor `cryptopredict.model`: serving reads artifacts with
numpy alone, and Prophet is imported (by unpickling) only when `Artifact.load_model` is called.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import importlib.metadata
import io
import json
import os
import pickle
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cryptopredict.atomic import fsync

SCHEMA_VERSION = 2  # 2: history.npz holds every bar's OHLCV and VWAP, not the close alone
MANIFEST = "manifest.json"
MODEL = "model.pkl"
GRID = "grid.npz"
HISTORY = "history.npz"
BACKTEST = "backtest.json"
GRID_ARRAYS = ("ds", "yhat", "yhat_lower", "yhat_upper")
HISTORY_ARRAYS = ("ds", "open", "high", "low", "close", "volume", "vwap")
REQUIRED_KEYS = (
    "schema_version",
    "asset",
    "symbol",
    "interval",
    "model_version",
    "created_at",
    "data",
    "versions",
    "params",
    "postprocess",
    "metrics",
    "horizon",
    "files",
)


class ArtifactError(Exception):
    """An artifact cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class Series:
    """Named arrays sharing one `ds` axis (epoch seconds, UTC, strictly increasing)."""

    arrays: dict[str, np.ndarray]

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]

    def __len__(self) -> int:
        return len(self.arrays["ds"])


@dataclass(frozen=True)
class Artifact:
    path: Path
    manifest: dict[str, Any]
    grid: Series
    history: Series
    backtest: dict[str, Any] = field(repr=False)

    @property
    def asset(self) -> str:
        return self.manifest["asset"]

    def load_model(self) -> Any:
        """Unpickle the model, after checking its bytes against the manifest once more."""
        data = (self.path / MODEL).read_bytes()
        _check_digest(self.path / MODEL, data, self.manifest["files"][MODEL])
        return pickle.loads(data)


def write_artifact(
    out_dir: Path,
    *,
    model: Any,
    grid: Series,
    history: Series,
    backtest: dict[str, Any],
    manifest: dict[str, Any],
) -> Path:
    """Write an artifact to `<out_dir>/<manifest['asset']>` atomically and return its path.

    Everything is written to a temporary directory beside the target, verified, and only then
    swapped into place: a failure at any point leaves the previous artifact untouched.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / manifest["asset"]
    staging = Path(tempfile.mkdtemp(prefix=f".tmp-{manifest['asset']}-", dir=out_dir))
    staging.chmod(0o755)  # mkdtemp's 0700 would hide the artifact from a non-root server
    try:
        files = {
            MODEL: pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL),
            GRID: _npz(grid, GRID_ARRAYS),
            HISTORY: _npz(history, HISTORY_ARRAYS),
            BACKTEST: _json(backtest),
        }
        for name, data in files.items():
            (staging / name).write_bytes(data)
            (staging / name).chmod(0o644)
        digests = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
        full = {**manifest, "schema_version": SCHEMA_VERSION, "files": digests}
        (staging / MANIFEST).write_bytes(_json(full))
        (staging / MANIFEST).chmod(0o644)
        load_artifact(staging, check_prophet=False)
        _sync_tree(staging)
        _swap_into_place(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def load_artifact(path: Path, *, check_prophet: bool = True) -> Artifact:
    """Read and verify an artifact; ArtifactError names the first problem found."""
    path = Path(path)
    manifest = _read_manifest(path)
    for name in (GRID, HISTORY, BACKTEST, MODEL):
        _check_digest(path / name, _read_bytes(path / name), manifest["files"].get(name))
    if check_prophet:
        _check_prophet_version(path, manifest)
    grid = _read_series(path / GRID, GRID_ARRAYS)
    history = _read_series(path / HISTORY, HISTORY_ARRAYS)
    for name in GRID_ARRAYS[1:]:
        _require(np.all(grid[name] > 0), path / GRID, f"{name} holds non-positive values")
    try:
        backtest = json.loads((path / BACKTEST).read_bytes())
    except ValueError as error:
        raise ArtifactError(f"{path / BACKTEST}: not valid JSON ({error})") from None
    return Artifact(path, manifest, grid, history, backtest)


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


def _read_manifest(path: Path) -> dict[str, Any]:
    file = path / MANIFEST
    try:
        manifest = json.loads(_read_bytes(file))
    except ValueError as error:
        raise ArtifactError(f"{file}: not valid JSON ({error})") from None
    _require(isinstance(manifest, dict), file, "is not a JSON object")
    version = manifest.get("schema_version")
    _require(isinstance(version, int), file, "has no integer schema_version")
    _require(
        version <= SCHEMA_VERSION,
        file,
        f"schema_version {version} is newer than this code understands ({SCHEMA_VERSION}); "
        "upgrade cryptopredict",
    )
    _require(version == SCHEMA_VERSION, file, f"schema_version {version} is no longer supported")
    missing = [key for key in REQUIRED_KEYS if key not in manifest]
    _require(not missing, file, f"lacks {', '.join(missing)}")
    _require(isinstance(manifest["files"], dict), file, "'files' is not a mapping")
    return manifest


def _check_prophet_version(path: Path, manifest: dict[str, Any]) -> None:
    trained = manifest["versions"].get("prophet")
    try:
        installed = importlib.metadata.version("prophet")
    except importlib.metadata.PackageNotFoundError:
        installed = None
    _require(
        trained == installed,
        path / MODEL,
        f"was pickled with Prophet {trained} but Prophet {installed} is installed; "
        "retrain or install the matching version",
    )


def _read_series(file: Path, names: tuple[str, ...]) -> Series:
    try:
        with np.load(file, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in names}
    except KeyError as error:
        raise ArtifactError(f"{file}: lacks the array {error}") from None
    except (OSError, ValueError) as error:
        raise ArtifactError(f"{file}: unreadable ({error})") from None
    ds = arrays["ds"]
    _require(ds.dtype == np.int64 and ds.ndim == 1 and len(ds) > 1, file, "ds is malformed")
    _require(bool(np.all(np.diff(ds) > 0)), file, "ds is not strictly increasing")
    for name in names[1:]:
        values = arrays[name]
        _require(values.shape == ds.shape, file, f"{name} does not match ds in length")
        _require(bool(np.all(np.isfinite(values))), file, f"{name} holds non-finite values")
    return Series(arrays)


def _check_digest(file: Path, data: bytes, expected: str | None) -> None:
    _require(expected is not None, file, "is not listed in the manifest")
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


def _npz(series: Series, names: tuple[str, ...]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **{name: series[name] for name in names})
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
    libc_name = ctypes.util.find_library("c")
    renameat2 = getattr(ctypes.CDLL(libc_name, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False
    result = renameat2(
        _AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE
    )
    return result == 0
