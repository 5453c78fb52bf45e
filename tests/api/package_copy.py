"""A copy of the package whose source a test edits, and what a script prints of a package, run
in a process of its own: for tests that change a declaration and see what follows it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.paths import ROOT


def copy_package(tmp_path: Path) -> Path:
    """A copy of `cryptopredict` in `tmp_path`: the root to run it from."""
    root = tmp_path / "copy"
    shutil.copytree(
        ROOT / "cryptopredict", root / "cryptopredict", ignore=shutil.ignore_patterns("__pycache__")
    )
    return root


def printed(script: str, package_root: Path, tmp_path: Path, name: str) -> Any:
    """The JSON `script` prints with the `cryptopredict` under `package_root`, given a folder of
    its own (`tmp_path / name`, its argv[1]) and a database of its own."""
    environ = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(package_root), str(ROOT)]),
        "DATABASE_URL": f"sqlite:///{tmp_path / f'{name}.db'}",
    }
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / name)],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
