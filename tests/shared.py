"""What the suite's workers share, and what each keeps to itself.

`make test` runs pytest on every core (`pytest -n`, pytest-xdist): each worker is a process of
its own with its own session, so a session-scoped fixture that starts something (an `api.py`,
a PostgreSQL server, a Dask cluster) starts one per worker, on a free port, in that worker's own
temporary folder (`tmp_path_factory`): nothing to coordinate. What is costly to build and only
read afterwards (a trained model) is built once for the whole run instead, by the first worker
that asks for it, under a file lock; the others wait for it, then read it (`built_once`).
Without `-n` the same code builds it in the session's own folder.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from filelock import FileLock

DONE = ".built"  # written last: a folder without it was left half-built by a failed build


def worker() -> str:
    """This process's pytest-xdist worker (`gw0`, `gw1`, ...), or `main` without `-n`."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The temporary folder every worker of this run shares: under pytest-xdist, the parent of
    the workers' own (`pytest-N/`, theirs being `pytest-N/popen-gwK/`); else the session's."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if "PYTEST_XDIST_WORKER" in os.environ else base


def built_once(
    tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], object]
) -> Path:
    """The folder `name` of this run, filled by `build(folder)` in the first worker to ask
    and read as it is by every other (which waits while it is being built). A build that
    fails leaves nothing behind: the next worker to ask builds it again, and fails the same."""
    folder = run_folder(tmp_path_factory) / name
    with FileLock(folder.with_name(f"{name}.lock")):
        if not (folder / DONE).exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            try:
                build(folder)
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
            (folder / DONE).touch()
    return folder
