"""Crash-safe replacement of a file or a directory: write beside the target, flush to disk, then
rename over it (a directory: exchange it with the target)."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

TEMP_PREFIX = ".tmp-"


@contextlib.contextmanager
def replacing(target: Path) -> Iterator[Path]:
    """A temporary path to write, which becomes `target` (readable by every user) when the block
    succeeds; else `target` keeps its content (a crash leaves a `.tmp-` file readers ignore)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{target.name}.", dir=target.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        temporary.chmod(0o644)
        fsync(temporary)
        temporary.replace(target)
        fsync(target.parent)
    finally:
        temporary.unlink(missing_ok=True)


def write_file(target: Path, data: bytes) -> None:
    """`data` as `target`, written whole or not at all."""
    with replacing(target) as temporary:
        temporary.write_bytes(data)


def fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def fsync_tree(directory: Path) -> None:
    for file in directory.iterdir():
        fsync(file)
    fsync(directory)


def swap_directory(staging: Path, target: Path) -> None:
    """`staging` made the new `target`, atomically where Linux's renameat2(RENAME_EXCHANGE) is
    (the old content then in `staging`); else the old one moved aside first (a crash between
    leaves it under `.previous-<name>`)."""
    if not target.exists():
        staging.rename(target)
    elif not _exchange(staging, target):
        aside = target.parent / f".previous-{target.name}"
        shutil.rmtree(aside, ignore_errors=True)
        target.rename(aside)
        staging.rename(target)
        shutil.rmtree(aside)
    fsync(target.parent)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(first: Path, second: Path) -> bool:
    # Imported here: only writing needs it, and the server never writes.
    import ctypes  # noqa: PLC0415

    renameat2 = getattr(ctypes.CDLL(None), "renameat2", None)  # the C library's, if it has one
    if renameat2 is None:
        return False
    result = renameat2(
        _AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE
    )
    return result == 0
