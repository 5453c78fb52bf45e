"""Training on Dask: the same grids on any number of workers, on a local cluster or on a
scheduler and workers started by hand, and a lost worker costs a retry, not the run.

Three daily pairs of the benchmark's data set (Binance perpetual futures, bench/data/: a
different instrument from the spot pairs the product serves; here only the training is tested).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from distributed import Client

from cryptopredict.artifact import load_artifact
from cryptopredict.model.cli import main

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]
PERPETUALS = ROOT / "bench" / "data" / "binance-perp-206pairs-1d.csv.gz"
PAIRS = ("btc-usdt", "sol-usdt", "doge-usdt")
TRAIN = ["--all", "--csv", str(PERPETUALS), "--interval", "1d", "--since", "2024-06-01"]
# Environment a run must not inherit: it would change where or how training runs.
CLEARED = ("DASK_SCHEDULER_ADDRESS", "TRAIN_WORKERS", "FIT_CACHE", "ASSETS")


def train_locally(out: Path, workers: int, monkeypatch) -> None:
    monkeypatch.setenv("ASSETS", ",".join(PAIRS))
    monkeypatch.setenv("TRAIN_WORKERS", str(workers))
    monkeypatch.setenv("FIT_CACHE", str(out / "fits"))  # empty: every refit is fitted
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    assert main([*TRAIN, "--out", str(out / "artifacts")]) == 0


@pytest.fixture(scope="module")
def on_two_workers(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("two-workers")
    with pytest.MonkeyPatch.context() as monkeypatch:
        train_locally(out, 2, monkeypatch)
    return out / "artifacts"


def assert_same_grids(first: Path, second: Path) -> None:
    for pair in PAIRS:
        a, b = load_artifact(first / pair), load_artifact(second / pair)
        for name in a.grid.names():
            np.testing.assert_array_equal(a.grid[name], b.grid[name], err_msg=f"{pair} {name}")
        assert a.backtest.to_builtins() == b.backtest.to_builtins(), pair


def test_the_grids_do_not_depend_on_the_number_of_workers(on_two_workers, tmp_path, monkeypatch):
    train_locally(tmp_path, 1, monkeypatch)
    assert_same_grids(tmp_path / "artifacts", on_two_workers)
    manifest = load_artifact(on_two_workers / "sol-usdt").manifest
    assert manifest.data.source == f"csv:{PERPETUALS.name}"  # never the local path
    assert manifest.metrics is not None
    assert manifest.metrics.origins > 100


def _start(command: list[str], log: Path) -> subprocess.Popen:
    """A Dask process of its own, importing this checkout's code (workers need the package)."""
    environment = {k: v for k, v in os.environ.items() if k not in CLEARED}
    return subprocess.Popen(
        command,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        cwd=ROOT,
        env={**environment, "PYTHONPATH": str(ROOT)},
        start_new_session=True,
    )


def _wait_for(condition, what: str, timeout: float, every: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(every)


def test_a_scheduler_started_by_hand_trains_the_same_and_survives_a_lost_worker(
    on_two_workers, tmp_path
):
    dask = str(Path(sys.executable).with_name("dask"))
    scheduler_file = tmp_path / "scheduler.json"
    environment = {k: v for k, v in os.environ.items() if k not in CLEARED}
    processes = [
        _start(
            [dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--scheduler-file", str(scheduler_file)],
            tmp_path / "scheduler.log",
        )
    ]  # fmt: skip
    try:
        _wait_for(scheduler_file.exists, "the scheduler", 60)
        address = json.loads(scheduler_file.read_text())["address"]
        workers = [
            _start(
                [dask, "worker", address, "--nthreads", "1", "--nworkers", "1", "--no-dashboard",
                 "--name", f"worker-{n}", "--local-directory", str(tmp_path / f"w{n}")],
                tmp_path / f"worker-{n}.log",
            )
            for n in (1, 2)
        ]  # fmt: skip
        processes += workers
        with Client(address, timeout=60) as client:
            _wait_for(lambda: len(client.scheduler_info()["workers"]) == 2, "two workers", 60)
            fits, log = tmp_path / "fits", tmp_path / "train.log"
            training = subprocess.Popen(
                [sys.executable, "train.py", *TRAIN, "--out", str(tmp_path / "artifacts")],
                cwd=ROOT,
                env={
                    **environment,
                    "DASK_SCHEDULER_ADDRESS": address,
                    "ASSETS": ",".join(PAIRS),
                    "FIT_CACHE": str(fits),
                },
                stdout=log.open("w"),
                stderr=subprocess.STDOUT,
            )

            # Once work is under way, the first worker dies without a word in the middle of a task.
            def computing_on_the_first_worker() -> bool:
                if training.poll() is not None:
                    raise AssertionError(f"training ended early:\n{log.read_text()}")
                return client.run_on_scheduler(_computing_on, "worker-1") > 0

            _wait_for(computing_on_the_first_worker, "a task on worker-1", 900, every=0.05)
            os.killpg(workers[0].pid, signal.SIGKILL)
            training.wait(timeout=1200)
            output = log.read_text()
            assert training.returncode == 0, output
            assert "training on the configured Dask scheduler (2 workers)" in output
            assert address not in output, "the scheduler's address is a secret"
            assert output.count("artifact: ") == len(PAIRS)
            computed = client.run_on_scheduler(_computed_by_prefix)
        # These pairs' two years leave no Prophet refit before the validation outcomes end (the
        # backtest serves tau 0), so the Prophet fitting is each pair's final fit.
        assert computed.get("final_fit", 0) > 0, f"the workers did no fitting: {computed}"
        assert_same_grids(tmp_path / "artifacts", on_two_workers)
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=30)


def _computing_on(name: str, dask_scheduler) -> int:
    """Tasks the worker of that name is computing now."""
    return sum(len(w.processing) for w in dask_scheduler.workers.values() if w.name == name)


def _computed_by_prefix(dask_scheduler) -> dict[str, float]:
    """Seconds of computing each kind of task did on the workers, by the scheduler's record."""
    computed: dict[str, float] = {}
    for name, prefix in dask_scheduler.task_prefixes.items():
        kind = name.split("-", 1)[0]  # `refit-btc-usdt` -> `refit`
        computed[kind] = computed.get(kind, 0.0) + prefix.all_durations.get("compute", 0.0)
    return computed
