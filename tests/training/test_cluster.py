"""Training on Dask: the same grids on any number of workers, on a local cluster or on a
scheduler and workers started by hand from the installed package, a lost worker costs a retry,
not the run, the pairs in flight follow the cluster, and no task carries a data-source key.

Three daily pairs of the benchmark's data set (Binance perpetual futures, bench/data/: a
different instrument from the spot pairs the product serves; here only the training is tested).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import cloudpickle
import numpy as np
import pytest
from distributed import Client, LocalCluster, SchedulerPlugin

from cryptopredict.artifact.read import load_artifact
from cryptopredict.config import HistorySettings, TrainingSettings
from cryptopredict.training.cli import main
from cryptopredict.training.cluster import training_client
from tests.installed import install
from tests.live_server import wait_for
from tests.local_cluster import in_process_client

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]
PERPETUALS = ROOT / "bench" / "data" / "binance-perp-206pairs-1d.csv.gz"
PAIRS = ("btc-usdt", "sol-usdt", "doge-usdt")
TRAIN = ["--all", "--csv", str(PERPETUALS), "--interval", "1d", "--since", "2024-06-01"]
# Environment a run must not inherit: it would change where or how training runs.
CLEARED = ("DASK_SCHEDULER_ADDRESS", "TRAIN_WORKERS", "ASSETS")


def train_locally(out: Path, workers: int, monkeypatch) -> None:
    monkeypatch.setenv("ASSETS", ",".join(PAIRS))
    monkeypatch.setenv("TRAIN_WORKERS", str(workers))
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


def test_a_few_pairs_train_in_this_process_to_the_same_grids(on_two_workers, tmp_path, monkeypatch):
    """Issue 106, item 1: `make run`'s two pairs waited 24 s for two worker processes to start
    and import the training stack; no more pairs than workers train on a thread of this process."""
    monkeypatch.setenv("TRAIN_WORKERS", "3")
    with training_client(TrainingSettings.from_env(), len(PAIRS)) as client:
        assert list(client.run(os.getpid).values()) == [os.getpid()]
    train_locally(tmp_path, 3, monkeypatch)
    assert_same_grids(tmp_path / "artifacts", on_two_workers)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A virtual environment with this checkout installed for training (`pip install .[train]`),
    and so its `dask` command."""
    return install(tmp_path_factory.mktemp("installed"), "[train]")


def test_pip_install_installs_every_file_of_the_package(installed):
    packages = next((installed / "lib").glob("python*/site-packages"))
    ours = {
        path.relative_to(ROOT)
        for path in (ROOT / "cryptopredict").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    missing = [str(path) for path in sorted(ours) if not (packages / path).is_file()]
    assert not missing, missing


def _start(command: str, log: Path, venv: Path, cwd: Path) -> subprocess.Popen:
    """A Dask process of its own, started as the docs say, from the installed package: not
    in the checkout, no PYTHONPATH."""
    environment = {k: v for k, v in os.environ.items() if k not in (*CLEARED, "PYTHONPATH")}
    environment["PATH"] = f"{venv / 'bin'}:{environment['PATH']}"
    environment["DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED"] = "False"  # as docs/model.md says
    return subprocess.Popen(
        command,
        shell=True,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        cwd=cwd,
        env=environment,
        start_new_session=True,
    )


@pytest.mark.e2e
def test_a_scheduler_started_by_hand_trains_the_same_and_survives_a_lost_worker(
    on_two_workers, installed, tmp_path
):
    scheduler_file = tmp_path / "scheduler.json"
    environment = {k: v for k, v in os.environ.items() if k not in CLEARED}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # The docs' commands (docs/model.md), on free ports of this machine.
    # The scheduler and workers do not have this checkout: this module's functions go by value.
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    processes = [
        _start(
            "dask scheduler --host 127.0.0.1 --port 0 --no-dashboard "
            f"--scheduler-file {scheduler_file}",
            tmp_path / "scheduler.log", installed, elsewhere,
        )
    ]  # fmt: skip
    try:
        wait_for(scheduler_file.exists, "the scheduler", 60)
        address = json.loads(scheduler_file.read_text())["address"]
        workers = [
            _start(
                f"dask worker {address} --nthreads 1 --no-dashboard --name worker-{n} "
                f"--local-directory {tmp_path / f'w{n}'}",
                tmp_path / f"worker-{n}.log", installed, elsewhere,
            )
            for n in (1, 2)
        ]  # fmt: skip
        processes += workers
        with Client(address, timeout=60) as client:
            wait_for(lambda: len(client.scheduler_info()["workers"]) == 2, "two workers", 60)
            where = client.run(_imported_from)
            assert all(str(installed) in path for path in where.values()), where
            log = tmp_path / "train.log"
            training = subprocess.Popen(
                [sys.executable, "train.py", *TRAIN, "--out", str(tmp_path / "artifacts")],
                cwd=ROOT,
                env={
                    **environment,
                    "DASK_SCHEDULER_ADDRESS": address,
                    "ASSETS": ",".join(PAIRS),
                },
                stdout=log.open("w"),
                stderr=subprocess.STDOUT,
            )

            # Once work is under way, the first worker dies without a word in the middle of a task.
            def computing_on_the_first_worker() -> bool:
                if training.poll() is not None:
                    raise AssertionError(f"training ended early:\n{log.read_text()}")
                return client.run_on_scheduler(_computing_on, "worker-1") > 0

            wait_for(computing_on_the_first_worker, "a task on worker-1", 900, every=0.05)
            os.killpg(workers[0].pid, signal.SIGKILL)
            training.wait(timeout=1200)
            output = log.read_text()
            assert training.returncode == 0, output
            assert "training on the configured Dask scheduler (2 workers)" in output
            assert address not in output, "the scheduler's address is a secret"
            assert output.count(": written to ") == len(PAIRS)
            assert "large graph" not in output
            # One display for the run: every line of it counts the same pairs.
            totals = re.findall(r"training: \d+ of (\d+) pairs done", output)
            assert totals, output
            assert set(totals) == {str(len(PAIRS))}, totals
            computed = client.run_on_scheduler(_computed_by_prefix)
        # Every pair's task ran on the workers: its history read, its backtest and its fit.
        assert computed.get("train", 0) > 0, f"no training on the workers: {computed}"
        assert_same_grids(tmp_path / "artifacts", on_two_workers)
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=30)


def _imported_from() -> str:
    return __import__("cryptopredict").__file__


# A cluster in this process, on this machine's loopback: its workers are threads.
IN_PROCESS = {
    "n_workers": 1,
    "threads_per_worker": 1,
    "processes": False,
    "protocol": "tcp",
    "host": "127.0.0.1",
    "dashboard_address": None,
}


class TaskSpecs(SchedulerPlugin):
    """Every task the scheduler is given, its function and arguments pickled."""

    def __init__(self) -> None:
        self.pickled: dict[str, bytes] = {}

    def update_graph(self, scheduler, *, tasks, **kwargs) -> None:
        for key in tasks:
            state = scheduler.tasks.get(key)
            if state is not None and state.run_spec is not None:
                self.pickled[str(key)] = cloudpickle.dumps(state.run_spec)


def test_no_task_carries_a_data_source_key(tmp_path, monkeypatch):
    secret = "PKTESTKEY-must-stay-on-the-client-7f3a9c"
    monkeypatch.setenv("ALPACA_API_KEY", secret)
    monkeypatch.setenv("ALPACA_SECRET_KEY", secret + "-secret")
    # What the check looks for is what the old fetch task carried: the settings, keys inside.
    assert secret.encode() in cloudpickle.dumps(HistorySettings.from_env())
    specs = TaskSpecs()
    with LocalCluster(**IN_PROCESS) as cluster:
        cluster.scheduler.add_plugin(specs)
        monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", cluster.scheduler_address)
        monkeypatch.setenv("ASSETS", "sol-usdt")
        assert main([*TRAIN, "--out", str(tmp_path / "artifacts")]) == 0
    kinds = {key.split("-", 1)[0] for key in specs.pickled}
    assert "train" in kinds, kinds
    for key, pickled in specs.pickled.items():
        assert secret.encode() not in pickled, key


def _computing_on(name: str, dask_scheduler) -> int:
    """Tasks the worker of that name is computing now."""
    return sum(len(w.processing) for w in dask_scheduler.workers.values() if w.name == name)


def _computed_by_prefix(dask_scheduler) -> dict[str, float]:
    """Seconds of computing each kind of task did on the workers, by the scheduler's record."""
    computed: dict[str, float] = {}
    for name, prefix in dask_scheduler.task_prefixes.items():
        kind = name.split("-", 1)[0]  # `train-btc-usdt` -> `train`
        computed[kind] = computed.get(kind, 0.0) + prefix.all_durations.get("compute", 0.0)
    return computed


def _profiling(dask_worker) -> bool:
    return "profile" in dask_worker.periodic_callbacks


def _malloc() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if name.startswith("MALLOC_")}


def test_no_worker_runs_dask_s_profiler(monkeypatch):
    """Its sys._current_frames() every 10 ms can deadlock a worker on Python 3.11 (CPython
    gh-106883): the product's local cluster and the tests' in-process one both go without.
    The product's workers keep freed memory for reuse (256 MiB, arrays below 32 MiB from the
    heap), not Dask's 64 KiB trim that put a fifth of `make panel`'s CPU time in the kernel."""
    monkeypatch.setenv("TRAIN_WORKERS", "1")
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    with training_client(TrainingSettings.from_env()) as client:
        assert list(client.run(_profiling).values()) == [False]
        limits = {"MALLOC_TRIM_THRESHOLD_": str(2**28), "MALLOC_MMAP_THRESHOLD_": str(2**25)}
        assert list(client.run(_malloc).values()) == [limits]
    with in_process_client() as client:
        assert list(client.run(_profiling).values()) == [False]


def _blocks_ctrl_c() -> bool:
    return signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, [])


def test_the_local_cluster_s_workers_block_ctrl_c(monkeypatch):
    """Ctrl-C signals the terminal's whole process group: the workers block it (this process
    takes it and closes the cluster), else each ends in a traceback of its own (issue 84). The
    first worker's start used to start multiprocessing's resource tracker, which unblocked it
    in the cluster's loop, and so in every worker started from there."""
    monkeypatch.setenv("TRAIN_WORKERS", "2")
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    with training_client(TrainingSettings.from_env()) as client:
        assert list(client.run(_blocks_ctrl_c).values()) == [True, True]
