"""`make live` as a user runs it, on a free port, for the browser tests (the fixture model's
and the real one's), and the check that nothing it shows calls its replayed minutes live."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from tests.live_server import make, serving_url, wait_for


@contextlib.contextmanager
def make_live(model_dir: Path, directory: Path, *, speed: int, play_minutes: int) -> Iterator[str]:
    """`make live` serving `model_dir`, its database and log in `directory`, replaying the last
    `play_minutes` at `speed` times real time; yields its URL once a price is stored."""
    log = directory / "make-live.log"
    process = make(
        ["live"],
        log,
        MODEL_DIR=str(model_dir),
        LIVE_DB=str(directory / "live.db"),
        LIVE_SPEED=str(speed),
        LIVE_PLAY_MINUTES=str(play_minutes),
    )
    try:
        url = serving_url(process, log)
        wait_for(lambda: status(f"{url}/price/btc-usd") == 200, "its first minutes", log=log)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


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
