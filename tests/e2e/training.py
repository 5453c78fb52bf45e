"""The real model for the end-to-end checks: `train.py --all` on the embedded data, with the
product's defaults, cached under `.cache/e2e/<key>/` and reused while nothing it reads changed.

The key hashes what training reads: the package (all but the collector, which training never
imports, as `test_training.py` checks; the API's answers are what the track record issues),
`train.py`,
`data/`, both requirement pins, the Python version, the command line and the settings given
(`MODEL_VERSION`, as a release sets it).
`python -m tests.e2e.training` trains (or says which training it reuses) and prints the
artifact directory; `--where` prints only where that directory is, training nothing.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock

from cryptopredict.config import SECTIONS, variables

ROOT = Path(__file__).parents[2]
CACHE = ROOT / ".cache" / "e2e"
COMMAND = ["train.py", "--all", "--source", "snapshot"]
INPUTS = ("cryptopredict", "train.py", "data", "requirements-train.txt", "requirements-api.txt")
NOT_READ_BY_TRAINING = ("cryptopredict/collect",)
# Settings the environment may hold that would make this training differ from the product's.
SETTINGS_ENV = {each.env for section in SECTIONS for each in variables(section).values()} - {
    "LOG_LEVEL"
}


def training_key(
    root: Path = ROOT,
    command: tuple[str, ...] | list[str] = COMMAND,
    settings: dict[str, str] | None = None,
) -> str:
    digest = hashlib.sha256()
    digest.update(f"{sys.version}\0{' '.join(command)}\0".encode())
    for name, value in sorted((settings or {}).items()):
        digest.update(f"{name}={value}\0".encode())
    for path in _inputs(root):
        digest.update(f"{path.relative_to(root).as_posix()}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def _inputs(root: Path) -> Iterator[Path]:
    for name in INPUTS:
        top = root / name
        files = [top] if top.is_file() else sorted(top.rglob("*"))
        for path in files:
            relative = path.relative_to(root).as_posix()
            if (
                path.is_file()
                and "__pycache__" not in path.parts
                and not relative.startswith(NOT_READ_BY_TRAINING)
            ):
                yield path


def artifacts_dir(
    root: Path = ROOT,
    cache: Path = CACHE,
    command: tuple[str, ...] | list[str] = COMMAND,
    settings: dict[str, str] | None = None,
) -> Path:
    """Where the training of the code and data under `root` keeps its artifacts."""
    return cache / training_key(root, command, settings) / "artifacts"


def trained_artifacts(
    root: Path = ROOT,
    cache: Path = CACHE,
    command: tuple[str, ...] | list[str] = COMMAND,
    settings: dict[str, str] | None = None,
) -> Path:
    """The artifact directory of the real model (trained by `command`, `train.py --all` on the
    embedded data by default, with the product's settings but `settings`; each command its own
    `cache`), training it unless the cache holds it: once, while other workers asking wait."""
    with FileLock(cache.with_name(f"{cache.name}.lock")):
        artifacts = artifacts_dir(root, cache, command, settings)
        done = artifacts.parent
        key = done.name
        if (done / "complete").exists():
            print(f"e2e: reusing the training cached under {done} (code and data unchanged)")
            return artifacts
        print(f"e2e: {' '.join(command)} into {artifacts}", flush=True)
        work = cache / f"{key}.partial"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        env = {name: value for name, value in os.environ.items() if name not in SETTINGS_ENV}
        env.update(settings or {})
        env["CRYPTOPREDICT_CACHE"] = str(work / "history")
        started = time.monotonic()
        with (work / "train.log").open("w") as log:
            process = subprocess.Popen(
                [sys.executable, *command, "--out", str(work / "artifacts")],
                cwd=root,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            assert process.stdout is not None
            for line in process.stdout:
                sys.stdout.write(line)
                sys.stdout.flush()
                log.write(line)
        if process.wait() != 0:
            raise RuntimeError(f"training failed (exit {process.returncode}); see {work}/train.log")
        seconds = time.monotonic() - started
        (work / "complete").write_text(f"{seconds:.0f} s\n")
        for old in cache.iterdir():
            if old.name != work.name:
                shutil.rmtree(old, ignore_errors=True)
        work.rename(done)
        print(f"e2e: trained in {seconds:.0f} s")
        return artifacts


if __name__ == "__main__":
    print(artifacts_dir() if sys.argv[1:] == ["--where"] else trained_artifacts())
