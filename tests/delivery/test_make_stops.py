"""`make run`, `make serve` and `make live` stop on a SIGINT or SIGTERM sent to make alone
(issue 56, bar 4), not only on Ctrl-C, which signals every process of the terminal's group (and
stops `make run` within 2 s while it trains, issue 111): make, and every process it started,
are gone soon after, the server having drained.

GNU make passes SIGTERM on to its children (`make run`'s recipe to training and the API, its
siblings) but waits for them after a SIGINT (`cryptopredict/following_make.py`). Each make runs
in a session of its own, started as a terminal starts it (SIGINT not ignored), and is signalled
by its pid alone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from tests.live_server import gone, logged, make, make_run
from tests.paths import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.e2e]  # `make run`, `make live`: in `make e2e`


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """BTC/USD trained on its last embedded month, without a backtest: a model to serve."""
    out = tmp_path_factory.mktemp("stops") / "artifacts"
    trained = subprocess.run(
        [sys.executable, "train.py", "--source", "snapshot", "--no-backtest", "--since",
         "2026-06-01", "--out", str(out)],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "TRAIN_WORKERS": "1"},
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    return out


def _stops(process: subprocess.Popen, log: Path, signum: int, group: bool = False) -> None:
    """Signal make alone (`group`: its whole process group, as Ctrl-C at a terminal, and then
    make exits within 2 s): it exits, and no process of its session is left."""
    (os.killpg if group else os.kill)(process.pid, signum)
    took = gone(process, log)
    assert process.returncode == -signum, log.read_text()
    assert took < 2 or not group, f"{took:.1f} s: {log.read_text()}"


SIGNALS = [signal.SIGINT, signal.SIGTERM]


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_make_serve_stops_on_a_signal_to_make_alone(model_dir, tmp_path, signum):
    log = tmp_path / "serve.log"
    process = make(["serve"], log, MODEL_DIR=str(model_dir))
    logged(process, log, r"serving on http", 600)
    # The image's command (`python api.py`): HAProxy in front of the server (issue 83 bar 4).
    started = psutil.Process(process.pid).children(recursive=True)
    assert [each.name() for each in started if each.name() == "haproxy"] == ["haproxy"]
    _stops(process, log, signum)
    assert log.read_text().rstrip().endswith("api: stopped")  # drained


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_make_live_stops_with_its_replay_on_a_signal_to_make_alone(model_dir, tmp_path, signum):
    log = tmp_path / "live.log"
    process = make(["live", f"LIVE_DB={tmp_path / 'live.db'}"], log, MODEL_DIR=str(model_dir))
    logged(process, log, r"serving on http", 600)
    _stops(process, log, signum)
    assert "api: stopped" in log.read_text()


@pytest.mark.parametrize(
    ("signum", "group", "workers"),
    [(signal.SIGINT, False, "1"), (signal.SIGTERM, False, "1"), (signal.SIGINT, True, "2"),
     (signal.SIGINT, True, "1")],
    ids=["SIGINT-to-make", "SIGTERM-to-make", "ctrl-c-thread", "ctrl-c-worker"],
)  # fmt: skip
def test_make_run_stops_while_training(tmp_path, signum, group, workers):
    """While BTC/USD's backtest runs (trained first), in a thread of train.py (make run's cluster
    on two cores) or on one worker process: a signal to make alone stops it, and Ctrl-C within
    2 s, saying so, the task dropped (issue 111: the stop waited for it, 13.6 s)."""
    log = tmp_path / "run.log"
    process = make_run(tmp_path, log, "eth-usd,btc-usd", "--source snapshot", workers)
    logged(process, log, r"serving on http", 600)
    logged(process, log, r"btc-usd: backtest of the served forecast", 600)
    _stops(process, log, signum, group)
    assert "api: stopped" in log.read_text()
    assert log.read_text().count("train: interrupted: stopped") == 1
