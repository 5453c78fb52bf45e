"""`following_make`: whether a process catches SIGINT, read from /proc as make's state is (the
whole behaviour, with GNU make itself, is tests/delivery/test_make_stops.py)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from cryptopredict.following_make import catches_sigint

CATCHING = (
    "import signal, time; signal.signal(signal.SIGINT, lambda *_: None); print(1, flush=True); "
    "time.sleep(60)"
)


def _status(pid: int) -> Path:
    return Path(f"/proc/{pid}/status")


def test_a_process_that_catches_sigint_is_seen_until_it_stops_catching_it_or_ends():
    catching = subprocess.Popen([sys.executable, "-c", CATCHING], stdout=subprocess.PIPE)
    ignoring = subprocess.Popen(
        [sys.executable, "-c", CATCHING.replace("lambda *_: None", "signal.SIG_IGN")],
        stdout=subprocess.PIPE,
    )
    try:
        for process in (catching, ignoring):
            assert process.stdout is not None
            process.stdout.readline()  # its handler is set
        assert catches_sigint(_status(catching.pid))
        assert not catches_sigint(_status(ignoring.pid))
    finally:
        for process in (catching, ignoring):
            process.send_signal(signal.SIGKILL)
    time.sleep(0.2)  # killed, not reaped yet: a zombie catches nothing
    assert not catches_sigint(_status(catching.pid))
    catching.wait()
    ignoring.wait()
    assert not catches_sigint(_status(catching.pid))  # gone
