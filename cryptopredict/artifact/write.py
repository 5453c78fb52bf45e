"""Writing an artifact: encoded where training runs, then installed atomically and indexed."""

from __future__ import annotations

import hashlib
import json
import math
import pickle
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from cryptopredict.artifact.arrays import (
    FULL_DAYS,
    ArtifactError,
    BacktestRows,
    BarHistory,
    Grid,
    check_history,
    encode_grid,
    require,
)
from cryptopredict.artifact.history import encode_history
from cryptopredict.artifact.index import record
from cryptopredict.artifact.read import Artifact, load_artifact, open_artifact
from cryptopredict.artifact.schema import (
    BACKTEST,
    GRID,
    HISTORY,
    MANIFEST,
    MODEL,
    ORIGINS,
    SCHEMA_VERSION,
    BacktestReport,
    Manifest,
)
from cryptopredict.atomic import fsync_tree, swap_directory


def encode_artifact(
    *,
    model: Any,
    grid: Grid,
    history: BarHistory,
    backtest: BacktestReport,
    manifest: Manifest,
    origins: BacktestRows | None = None,
    candles: Mapping[str, tuple[BarHistory, np.ndarray]] | None = None,
    full_days: float = FULL_DAYS,
) -> dict[str, bytes]:
    """An artifact's files by name (the bars whole for their last `full_days` beside `candles`;
    none: every bar whole), `origins` if given; ArtifactError when one breaks the contract."""
    where = Path(manifest.asset)
    check_history(where / HISTORY, history)  # before the grid is read against it
    files = {
        MODEL: pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL),
        GRID: encode_grid(where / GRID, grid, int(history.ds[-1]), full_days=full_days),
        HISTORY: encode_history(history, manifest.step, candles or {}, full_days=full_days),
        BACKTEST: _finite_json(BACKTEST, backtest.to_builtins()),
        **({ORIGINS: origins.encode()} if origins is not None else {}),
    }
    digests = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    full = msgspec.structs.replace(manifest, schema_version=SCHEMA_VERSION, files=digests)
    return {**files, MANIFEST: _finite_json(MANIFEST, full.to_builtins())}


def install_artifact(out_dir: Path, asset: str, files: Mapping[str, bytes]) -> Path:
    """Write `files` as `<out_dir>/<asset>`: staged beside it, read back, then swapped into place
    (a failure leaves the previous artifact untouched), and indexed."""
    unknown = set(files) - {MANIFEST, MODEL, GRID, HISTORY, BACKTEST, ORIGINS}
    if unknown or "/" in asset or asset.startswith("."):
        raise ArtifactError(f"not an artifact of {asset!r}: {sorted(files)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / asset
    staging = Path(tempfile.mkdtemp(prefix=f".tmp-{asset}-", dir=out_dir))
    staging.chmod(0o755)  # mkdtemp's 0700 would hide the artifact from a non-root server
    try:
        for name, data in files.items():
            (staging / name).write_bytes(data)
            (staging / name).chmod(0o644)
        entry = load_artifact(staging).entry
        require(entry.asset == asset, staging / MANIFEST, f"the manifest is not {asset}'s")
        fsync_tree(staging)
        swap_directory(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    record(out_dir, entry)
    return target


def _finite_json(name: str, value: Any) -> bytes:
    """Compact JSON of file `name`; ArtifactError naming the first value not a finite number."""
    where = _not_finite(value, "")
    if where is not None:
        raise ArtifactError(f"{name}: {where.lstrip('.')} is not a finite number; nothing written")
    return json.dumps(value, separators=(",", ":"), sort_keys=True, allow_nan=False).encode()


def _not_finite(value: Any, path: str) -> str | None:
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{path} ({value})"
    if isinstance(value, dict):
        found = (_not_finite(item, f"{path}.{key}") for key, item in value.items())
    elif isinstance(value, list | tuple):
        found = (_not_finite(item, f"{path}[{i}]") for i, item in enumerate(value))
    else:
        return None
    return next((where for where in found if where is not None), None)


def carry_over(previous: Path, out: Path, slug: str) -> Artifact | None:
    """`slug`'s artifact in `previous` (the model directory of the release before) installed in
    `out` as it is, and opened; None where `previous` has none, or is `out` (whose stays)."""
    source = previous / slug
    if previous.resolve() == out.resolve() or not (source / MANIFEST).is_file():
        return None
    files = {path.name: path.read_bytes() for path in source.iterdir() if path.is_file()}
    return open_artifact(install_artifact(out, slug, files))
