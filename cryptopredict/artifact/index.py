"""The catalog of a model directory: `<model_dir>/index.json`, one small entry per artifact.

The API lists its assets from this one file at start-up and opens an artifact only when it is
first asked for. Each entry is a summary of one artifact's manifest, with the manifest's sha256,
so a reader can tell an entry that lags its artifact.

`install_artifact` keeps it current: after an artifact is swapped into place, `record` takes an
exclusive `flock` on the model directory itself, reads the index, replaces that asset's entry,
adds any artifact directory the index lacks and drops entries whose directory is gone, and
writes the index atomically (a temporary file renamed over it). So retraining one pair changes
its entry alone, and writers running at once (Dask workers writing to one directory) take
turns: none loses another's entry, and a reader sees the old index or the new one, never a
mixture. `flock` holds between the processes of one machine, on a local disk: writers on other
machines should hand their artifacts to one writer (or rebuild the index after them: delete it,
and the next write or the API lists every artifact from its manifest).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import msgspec

from cryptopredict.artifact.arrays import ArtifactError
from cryptopredict.artifact.read import JSON_MAX, read_bytes
from cryptopredict.artifact.schema import IndexEntry
from cryptopredict.atomic import write_file

INDEX = "index.json"
INDEX_VERSION = 1

log = logging.getLogger(__name__)


class _Index(msgspec.Struct, frozen=True):
    index_version: int
    assets: dict[str, IndexEntry]


def read_index(model_dir: Path) -> dict[str, IndexEntry] | None:
    """The entries of `<model_dir>/index.json` by asset; None without one; ArtifactError if it
    cannot be read."""
    file = Path(model_dir) / INDEX
    if not os.path.lexists(file):
        return None
    data = read_bytes(file, JSON_MAX)
    try:
        index = msgspec.json.decode(data, type=_Index)
    except msgspec.DecodeError as error:
        raise ArtifactError(f"{file}: {error}") from None
    if index.index_version != INDEX_VERSION:
        raise ArtifactError(
            f"{file}: index_version {index.index_version}, not {INDEX_VERSION}; retrain, or "
            "delete it to list the artifacts from their manifests"
        )
    return index.assets


def artifact_dirs(model_dir: Path) -> list[Path]:
    """The artifact directories under `model_dir` (those of unfinished writes left out)."""
    manifests = Path(model_dir).glob("*/manifest.json")
    return sorted(path.parent for path in manifests if not path.parent.name.startswith("."))


def record(
    model_dir: Path,
    entry: IndexEntry | None,
    describe: Callable[[Path], IndexEntry],
    *,
    afresh: bool = False,
) -> None:
    """Put `entry` in the index of `model_dir`, with `describe(path)` for any artifact directory
    the index lacks (one it cannot describe is left out and logged); `afresh`, for every one."""
    model_dir = Path(model_dir)
    with _locked(model_dir):
        try:
            entries = {} if afresh else read_index(model_dir) or {}
        except ArtifactError as error:
            log.warning("rebuilding the index from the manifests: %s", error)
            entries = {}
        present = {path.name: path for path in artifact_dirs(model_dir)}
        entries = {name: found for name, found in entries.items() if name in present}
        if entry is not None:
            entries[entry.asset] = entry
        for name, path in present.items():
            if name not in entries:
                try:
                    entries[name] = describe(path)
                except ArtifactError as error:
                    log.warning("the index leaves out %s: %s", name, error)
        _write(model_dir / INDEX, entries)


def _write(file: Path, entries: dict[str, IndexEntry]) -> None:
    document = {
        "index_version": INDEX_VERSION,
        "assets": {name: msgspec.to_builtins(entries[name]) for name in sorted(entries)},
    }
    write_file(file, (json.dumps(document, indent=1, allow_nan=False) + "\n").encode())


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    handle = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)  # and with it the lock
