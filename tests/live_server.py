"""`python api.py` as a user starts it, on a free loopback port; and the collector's replay
into its database, as a user runs it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.paths import ROOT


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen
    log: Path


def start_server(
    model_dir: Path, log: Path, *, unset: tuple[str, ...] = (), proxied: bool = False, **env: str
) -> LiveServer:
    """`python api.py --alone` (`proxied`: `python api.py`, behind HAProxy, as the image and
    `make serve` serve) on a free loopback port, without the variables `unset`; returns
    once it answers."""
    inherited = {name: value for name, value in os.environ.items() if name not in unset}
    environment = {**inherited, "MODEL_DIR": str(model_dir), "PORT": "0", **env}
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "api.py", *([] if proxied else ["--alone"])],
            cwd=ROOT,
            env=environment,
            stderr=sink,
            stdout=sink,
        )
    deadline = time.monotonic() + 60  # a loaded machine takes its time to import and verify
    while time.monotonic() < deadline:
        found = re.search(r"serving on (http://[0-9.]+:[0-9]+) ", log.read_text())
        if found:
            return LiveServer(found.group(1), process, log)
        if process.poll() is not None:
            raise AssertionError(f"api.py exited with {process.returncode}: {log.read_text()}")
        time.sleep(0.05)
    process.kill()
    raise AssertionError(f"api.py did not start: {log.read_text()}")


def replay(database_url: str, *args: str) -> None:
    """`python -m cryptopredict.collect --replay ...` (`args`) into `database_url`."""
    subprocess.run(
        [sys.executable, "-m", "cryptopredict.collect", "--replay", *args],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        check=True,
        capture_output=True,
    )
