"""`following_make`: whether a process catches or ignores SIGINT, read from /proc as make's state
is (the whole behaviour, with GNU make itself, is tests/delivery/test_make_stops.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from cryptopredict.following_make import MAKE_PID, sigint_in

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
        assert sigint_in(_status(catching.pid), "SigCgt")
        assert not sigint_in(_status(ignoring.pid), "SigCgt")
        assert sigint_in(_status(ignoring.pid), "SigIgn")
        assert not sigint_in(_status(catching.pid), "SigIgn")
    finally:
        for process in (catching, ignoring):
            process.send_signal(signal.SIGKILL)
    time.sleep(0.2)  # killed, not reaped yet: a zombie catches nothing
    assert not sigint_in(_status(catching.pid), "SigCgt")
    catching.wait()
    ignoring.wait()
    assert not sigint_in(_status(catching.pid), "SigCgt")  # gone


def test_a_process_started_after_its_make_was_interrupted_stops_at_once():
    """make, interrupted, no longer catches SIGINT (nor ignores it): a process it started after
    that (make run's training, whose imports take a second) stops at once, not never."""
    default = lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)  # noqa: E731
    make = subprocess.Popen(["sleep", "60"], preexec_fn=default)  # noqa: PLW1509
    follower = "import time, cryptopredict.following_make as f; f.follow_make(); time.sleep(20)"
    try:
        done = subprocess.run(
            [sys.executable, "-c", follower],
            env={**os.environ, MAKE_PID: str(make.pid)},
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    finally:
        make.kill()
        make.wait()
    assert done.returncode == -signal.SIGINT  # interrupted, as Ctrl-C would
    assert "KeyboardInterrupt" in done.stderr
