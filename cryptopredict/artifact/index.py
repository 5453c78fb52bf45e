"""`<model_dir>/index.json`: an entry per artifact (a summary of its manifest, with the
manifest's sha256), from which the API lists its assets at start-up.

`record` updates it under an exclusive `flock` on the model directory (between the processes of
one machine), written atomically: writers at once (Dask workers) lose no entry, and a reader
sees the old index or the new one. Delete it to have it rebuilt from the manifests.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import msgspec

from cryptopredict.artifact.arrays import ArtifactError
from cryptopredict.artifact.read import JSON_MAX, describe, read_bytes
from cryptopredict.artifact.schema import IndexEntry
from cryptopredict.atomic import write_file

INDEX = "index.json"
INDEX_VERSION = 1

log = logging.getLogger(__name__)


class _Index(msgspec.Struct, frozen=True):
    index_version: int
    assets: dict[str, IndexEntry]


def read_index(model_dir: Path) -> dict[str, IndexEntry] | None:
    """The entries by asset; None without an index; ArtifactError if it cannot be read."""
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
    manifests = Path(model_dir).glob("*/manifest.json")
    return sorted(path.parent for path in manifests if not path.parent.name.startswith("."))


def record(model_dir: Path, entry: IndexEntry | None, *, afresh: bool = False) -> None:
    """Put `entry` in the index, each directory it lacks described (`afresh`: all)."""
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
    index = msgspec.json.encode(_Index(INDEX_VERSION, dict(sorted(entries.items()))))
    write_file(file, msgspec.json.format(index, indent=1) + b"\n")


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    handle = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)  # and with it the lock
