"""`python api.py` as a user starts it, on a free loopback port; and the collector's replay
into its database, as a user runs it."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from tests.paths import ROOT
from tests.ports import free_port

T = TypeVar("T")


@dataclass
class LiveServer:
    """A started `api.py`; as a context, terminated (SIGTERM) and waited for on leaving."""

    url: str
    process: subprocess.Popen
    log: Path

    def __enter__(self) -> LiveServer:
        return self

    def __exit__(self, *_: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def answered(url: str, timeout: float = 60) -> tuple[int, bytes]:
    """The status and body of a GET of `url`, an HTTP error's too."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


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
    try:  # a loaded machine takes its time to import and verify
        return LiveServer(serving_url(process, log), process, log)
    except AssertionError:
        process.kill()
        raise


def make(targets: list[str], log: Path, **env: str) -> subprocess.Popen:
    """`make TARGETS` on a free port as from a terminal, its output in `log`: in a process group
    of its own (nothing else gets a signal sent to it), SIGINT at its default even where our
    caller ignores it (a job `&` started)."""
    with log.open("wb") as sink:
        return subprocess.Popen(
            ["make", "--no-print-directory", *targets],
            cwd=ROOT,
            env={**os.environ, "PORT": "0", **env},
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_interruptible,  # noqa: PLW1509 (it only resets one signal's handler)
        )


def _interruptible() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def make_run(tmp: Path, log: Path, assets: str, args: str, workers: str = "1") -> subprocess.Popen:
    """`make run TRAIN_ARGS=args`: `assets` trained on `workers` into `tmp`, no live database,
    served on a free port (it says where)."""
    return make(
        ["run", f"TRAIN_ARGS={args}"],
        log,
        PORT=str(free_port()),
        ASSETS=assets,
        MODEL_DIR=str(tmp / "artifacts"),
        DATABASE_URL=f"sqlite:///{tmp / 'none.db'}",
        TRAIN_WORKERS=workers,
    )


def gone(process: subprocess.Popen, log: Path) -> float:
    """The seconds until make exits, within a minute; then no process of its session left
    within a minute, or what is left said (where each waits: a hang's evidence) and killed."""
    began = time.monotonic()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=60)
    took = time.monotonic() - began
    deadline = time.monotonic() + 60
    while process.returncode is not None and time.monotonic() < deadline:
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return took
        time.sleep(0.1)
    listed = ["ps", "-o", "pid,ppid,stat,wchan:24,args", "-s", str(process.pid)]
    left = subprocess.run(listed, capture_output=True, text=True, check=False).stdout
    os.killpg(process.pid, signal.SIGKILL)
    said = "make did not stop" if process.returncode is None else "left after make stopped"
    raise AssertionError(f"{said}: {log.read_text()}\n{left}")


def wait_for(
    condition: Callable[[], T],
    what: str,
    seconds: float = 60,
    *,
    every: float = 0.1,
    process: subprocess.Popen | None = None,
    log: Path | None = None,
) -> T:
    """Polls `condition` until it gives something true, and returns that; fails naming `what`
    when `seconds` have passed, or at once when `process` has exited (with `log`'s text)."""
    deadline = time.monotonic() + seconds
    while not (found := condition()):
        said = log.read_text() if log else ""
        assert process is None or process.poll() is None, f"{process.args} exited: {said}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {said}"
        time.sleep(every)
    return found


def logged(process: subprocess.Popen, log: Path, pattern: str, seconds: float = 60) -> re.Match:
    """The first match of `pattern` in `log`, once `process` has written it there."""
    return wait_for(
        lambda: re.search(pattern, log.read_text()), pattern, seconds, process=process, log=log
    )


def serving_url(process: subprocess.Popen, log: Path, seconds: float = 60) -> str:
    """The URL of the server `process` runs, once its log says it is serving."""
    return logged(process, log, r"serving on (http://[0-9.]+:[0-9]+) ", seconds).group(1)


def replay(database_url: str, *args: str) -> None:
    """`python -m cryptopredict.collect --replay ...` (`args`) into `database_url`."""
    subprocess.run(
        [sys.executable, "-m", "cryptopredict.collect", "--replay", *args],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        check=True,
        capture_output=True,
    )
