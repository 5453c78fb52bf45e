"""`make live` as a user runs it, on a free port, for the browser tests (the fixture model's
and the real one's), and the check that nothing it shows calls its replayed minutes live."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from tests.paths import ROOT


@contextlib.contextmanager
def make_live(model_dir: Path, directory: Path, *, speed: int, play_minutes: int) -> Iterator[str]:
    """`make live` serving `model_dir`, its database and log in `directory`, replaying the last
    `play_minutes` at `speed` times real time; yields its URL once a price is stored."""
    log = directory / "make-live.log"
    env = {
        **os.environ,
        "MODEL_DIR": str(model_dir),
        "PORT": "0",
        "LIVE_DB": str(directory / "live.db"),
        "LIVE_SPEED": str(speed),
        "LIVE_PLAY_MINUTES": str(play_minutes),
    }
    with log.open("wb") as sink:
        process = subprocess.Popen(
            ["make", "--no-print-directory", "live"],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        url = _wait_for_server(process, log)
        wait_for(lambda: status(f"{url}/price/btc-usd") == 200, "the replay's first minutes", log)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def _wait_for_server(process: subprocess.Popen, log: Path) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = re.search(r"serving on (http://[0-9.]+:[0-9]+) ", log.read_text())
        if found:
            return found.group(1)
        assert process.poll() is None, f"make live exited: {log.read_text()}"
        time.sleep(0.1)
    raise AssertionError(f"make live did not serve: {log.read_text()}")


def wait_for(condition, what: str, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {log.read_text()}"
        time.sleep(0.2)


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def called_live(text: str) -> list[str]:
    """Every place `text` calls something live, but where it says it is not live data."""
    return [
        text[max(0, found.start() - 40) : found.end() + 20]
        for found in re.finditer(r"\blive\b", text, re.IGNORECASE)
        if text[max(0, found.start() - 4) : found.end() + 5].lower() != "not live data"
    ]
