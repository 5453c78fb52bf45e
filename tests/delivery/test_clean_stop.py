"""Ctrl-C and SIGTERM end `make run` cleanly wherever they meet it (issue 84, bar 2): at 20 points
from its start to serving (installing nothing, starting Python, the Dask cluster, training, the
server and its proxy starting, serving while the last pair trains, serving after training), no
traceback in the log and nothing of the run left; status 0 once training is over, 0 or 130 while
it was cut short (make says `Error 130`). Ctrl-C is SIGINT to the whole process group, as a
terminal sends it; SIGTERM goes to make alone, as `kill` sends it (make passes it on). The API
under load: tests/api/test_edge.py."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.paths import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

POINTS = 20
ARGS = "TRAIN_ARGS=--source snapshot --no-backtest --since 2026-06-01"


def _make_run(tmp_path: Path, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "ASSETS": "btc-usd,eth-usd",
        "MODEL_DIR": str(tmp_path / "artifacts"),
        "PORT": "0",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'none.db'}",
        "TRAIN_WORKERS": "1",
    }
    with log.open("wb") as sink:
        return subprocess.Popen(
            ["make", "--no-print-directory", "run", ARGS],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group, as a terminal's foreground job
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509
        )


def _gone(process: subprocess.Popen, log: Path) -> None:
    """make exits, and no process of its group is left, within a minute."""
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raise AssertionError(f"make run did not stop: {log.read_text()}") from None
    deadline = time.monotonic() + 60
    while True:
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return
        if time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGKILL)
            raise AssertionError(f"left running after make stopped: {log.read_text()}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def to_serving(tmp_path_factory) -> float:
    """Seconds from `make run` to its server's first line saying where it serves."""
    scratch = tmp_path_factory.mktemp("measured")
    log = scratch / "run.log"
    started = time.monotonic()
    process = _make_run(scratch, log)
    try:
        while "serving on http" not in log.read_text():
            assert process.poll() is None, log.read_text()
            assert time.monotonic() - started < 600, log.read_text()
            time.sleep(0.1)
        return time.monotonic() - started
    finally:
        os.killpg(process.pid, signal.SIGINT)
        _gone(process, log)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
@pytest.mark.parametrize("point", range(POINTS))
def test_make_run_stops_cleanly_wherever_the_signal_meets_it(tmp_path, to_serving, point, signum):
    log = tmp_path / "run.log"
    process = _make_run(tmp_path, log)
    # From its start to a little past serving: the last points meet the server serving while
    # the second pair trains, and after training.
    time.sleep(to_serving * 1.3 * point / (POINTS - 1))
    before = log.read_text()
    if signum == signal.SIGINT:
        os.killpg(process.pid, signal.SIGINT)
    else:
        os.kill(process.pid, signal.SIGTERM)
    _gone(process, log)
    output = log.read_text()
    assert "Traceback" not in output, output
    assert not re.search(r"Error (?!130)\d+", output), output  # make names a failed command
    if "training is over; serving until Ctrl-C" in before:
        assert "Error 130" not in output, output  # once serving: status 0
    if "serving on http" in before:
        assert "api: stopped" in output, output  # the server drained, then stopped
