"""Stopping with the `make` that started this process (`make run`, `make serve`, `make live`).

Ctrl-C in a terminal reaches make and every process it started: the terminal signals the whole
foreground process group. A SIGINT sent to make alone (`kill -INT <make's pid>`, a supervisor
that signals one process) reaches no one else: GNU make then waits for its children for good
(it passes SIGTERM on to them, never SIGINT). So the Makefile names itself to the processes it
starts (`MAKE_PID`: its recipe's shell's parent), and each of them follows that make: once make
no longer catches SIGINT (on a SIGINT, make resets its handler to the default, then waits for
its children) or is gone, the process interrupts itself as Ctrl-C would (at once, if make was
interrupted before it started), and stops as it does on Ctrl-C.

Which signals a process catches or ignores is Linux's `/proc/<pid>/status` (`SigCgt`, `SigIgn`,
proc(5)); elsewhere, or when make ignores SIGINT from the start (a background job of a script),
nothing is followed.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

MAKE_PID = "CRYPTOPREDICT_MAKE_PID"
CHECK_SECONDS = 0.5
SIGINT_BIT = 1 << (signal.SIGINT - 1)


def follow_make() -> None:
    """Interrupt this process (SIGINT) when the make that started it is interrupted or gone."""
    pid = os.environ.get(MAKE_PID, "")
    status = Path(f"/proc/{pid}/status")
    if pid.isdigit() and status.is_file() and not sigint_in(status, "SigIgn"):
        threading.Thread(target=_follow, args=(status,), name="following-make", daemon=True).start()


def _follow(status: Path) -> None:
    while sigint_in(status, "SigCgt"):
        time.sleep(CHECK_SECONDS)
    os.kill(os.getpid(), signal.SIGINT)


def sigint_in(status: Path, field: str) -> bool:
    """Whether the process `status` describes is alive and has SIGINT in `field` (SigCgt: caught,
    SigIgn: ignored)."""
    try:
        fields = dict(line.split(":", 1) for line in status.read_text().splitlines())
    except (OSError, ValueError):
        return False
    if fields.get("State", "").strip().startswith("Z"):
        return False  # exited, not yet reaped
    return bool(int(fields.get(field, "0").strip(), 16) & SIGINT_BIT)
