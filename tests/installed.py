"""This checkout installed as a user installs it, in a virtual environment of its own: built from
a copy of the package and what pyproject.toml declares it needs, at the locked versions, from
uv's cache that `make tools` filled (offline; nothing of this environment)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]
UV = [str(Path(sys.executable).with_name("uv")), "--offline", "--quiet"]


def install(where: Path, extras: str = "") -> Path:
    """A virtual environment `where/venv` with the package installed (`extras`: `[train]`)."""
    source, venv = where / "source", where / "venv"
    shutil.copytree(ROOT / "cryptopredict", source / "cryptopredict",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    subprocess.run([*UV, "venv", "--python", sys.executable, str(venv)], check=True)
    locked = [f"--constraint={ROOT / f'requirements-{part}.txt'}" for part in ("api", "train")]
    command = ["pip", "install", "--python", str(venv / "bin" / "python"), *locked]
    subprocess.run([*UV, *command, f"{source}{extras}"], check=True)
    return venv
