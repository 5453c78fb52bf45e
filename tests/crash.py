"""Crash a writer at a chosen moment, as a power cut would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def kill_9_after(script: str, args: list[str], delay: float) -> None:
    """Run `script` in a new Python; `delay` seconds after it prints "ready", kill -9 it."""
    writer = subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path.cwd())},
    )
    assert writer.stdout.readline() == b"ready\n"
    time.sleep(delay)
    writer.send_signal(signal.SIGKILL)
    writer.wait()
