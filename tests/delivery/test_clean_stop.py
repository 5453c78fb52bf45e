"""Ctrl-C and SIGTERM end `make run` cleanly wherever they meet it (issue 84, bar 2): at 18 points
from its start to serving, each the moment `make run` says a step began or half a second into it
(installing nothing, the track record read, the Dask cluster, reading a pair's history, its fit, its
artifact written and the server starting, the last pair's end, the server and its proxy serving,
serving after training), no traceback in the log and nothing of the run left; status 0 once
training is over, 0 or 130 while it was cut short (make says `Error 130`). Ctrl-C is SIGINT to the
whole process group, as a terminal sends it; SIGTERM goes to make alone, as `kill` sends it (make
passes it on). Each step meets both: one at its start, the other half a second in, the two
swapping from one step to the next, so each signal also meets both moments. The runs go AT_ONCE
at a time: each point is where its own run is, however busy the machine. The API under load:
tests/api/test_edge.py."""

from __future__ import annotations

import os
import re
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.live_server import gone, make_run

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

# Each step by the line that says it began (None: make's start).
STEPS = (
    None,
    "track record:",
    "serving on http",
    "training on a local Dask cluster",
    "reading its history",
    "final fit, forecast grid and artifact",
    "written to",
    "pairs done",
    "serving until Ctrl-C",
)
SIGNALS = (signal.SIGINT, signal.SIGTERM)
# (step, seconds into it, signal): per step, one signal at its start and the other 0.5 s in.
POINTS = [
    (step, into, SIGNALS[(number + half) % 2])
    for number, step in enumerate(STEPS)
    for half, into in enumerate((0.0, 0.5))
]
AT_ONCE = 4  # runs under way at a time
ARGS = "--source snapshot --no-backtest --since 2026-06-01"


@dataclass(frozen=True)
class Stop:
    """What `make run` had said when the signal came, and all it said by its end."""

    before: str
    output: str


def _stopped(tmp_path: Path, step: str | None, into: float, signum: int) -> Stop:
    log = tmp_path / "run.log"
    process = make_run(tmp_path, log, "btc-usd,eth-usd", ARGS)
    deadline = time.monotonic() + 300
    while step is not None and step not in log.read_text():
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.02)
    time.sleep(into)
    before = log.read_text()
    if signum == signal.SIGINT:
        os.killpg(process.pid, signal.SIGINT)
    else:
        os.kill(process.pid, signal.SIGTERM)
    gone(process, log)
    return Stop(before, log.read_text())


@pytest.fixture(scope="module")
def stops(tmp_path_factory) -> dict[int, Stop]:
    """Each point's run, AT_ONCE runs at a time."""
    with ThreadPoolExecutor(AT_ONCE) as pool:
        cases = {
            point: pool.submit(_stopped, tmp_path_factory.mktemp("stop"), *POINTS[point])
            for point in reversed(range(len(POINTS)))  # the longest first
        }
        return {case: future.result() for case, future in cases.items()}


def test_every_step_meets_both_signals_and_each_signal_both_moments():
    assert {(step, signum) for step, _, signum in POINTS} == {
        (step, signum) for step in STEPS for signum in SIGNALS
    }
    assert {(into, signum) for _, into, signum in POINTS} == {
        (into, signum) for into in (0.0, 0.5) for signum in SIGNALS
    }


@pytest.mark.parametrize(
    "point", range(len(POINTS)), ids=lambda point: f"{point}-{POINTS[point][2].name}"
)
def test_make_run_stops_cleanly_wherever_the_signal_meets_it(stops, point):
    before, output = stops[point].before, stops[point].output
    assert "Traceback" not in output, output
    assert not re.search(r"Error (?!130)\d+", output), output  # make names a failed command
    if "serving until Ctrl-C" in before:
        assert "Error 130" not in output, output  # once serving: status 0
    if "serving on http" in before:
        assert "api: stopped" in output, output  # the server drained, then stopped
