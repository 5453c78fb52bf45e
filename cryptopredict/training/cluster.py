"""Where training runs: a `LocalCluster` of single-threaded worker processes by default
(`TRAIN_WORKERS` of them, one per core unless set), or an existing scheduler when
`DASK_SCHEDULER_ADDRESS` is set (`tls://` addresses take their certificates from Dask's own
security configuration, e.g. `DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT`).

The process that runs `train.py` is the Dask client: it submits each pair's task
(`graph.py`) and writes the artifacts from what comes back, so the workers need no shared
disk (they need the `cryptopredict` package, their own data-source keys, and the data a pair
is read from: the embedded snapshot, or the `--csv` file). A task whose worker is lost is run
again elsewhere.

A local cluster's workers run without Dask's statistical profiler (`WITHOUT_PROFILER`): it calls
`sys._current_frames()` every 10 ms, which on Python 3.11 can deadlock the worker's process
when the garbage collector runs inside it (CPython gh-106883, not fixed in 3.11; dask/distributed
#8616); seen as `make test` hung for good in a task waiting on the GIL. Workers started by hand
for `DASK_SCHEDULER_ADDRESS` take the same setting from their environment
(`DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False`).

A local cluster's worker processes are started with SIGINT blocked (`_ctrl_c_held`): a Ctrl-C
signals the terminal's whole process group, and a worker that took it would end in a
KeyboardInterrupt traceback of its own; the client (this process) takes it, and closes the
cluster as it stops. A signal that comes while the cluster starts is held, not lost: it is
handled once the cluster is up.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from multiprocessing import resource_tracker

import dask
from distributed import Client, LocalCluster

from cryptopredict.config import Training
from cryptopredict.training.scheduler import connect_scheduler

log = logging.getLogger(__name__)

WITHOUT_PROFILER = {"distributed.worker.profile.enabled": False}


def local_workers(settings: Training) -> int:
    """A local cluster's size: TRAIN_WORKERS, or one worker per core of this machine."""
    return settings.train_workers or os.cpu_count() or 1


@contextmanager
def training_client(settings: Training) -> Iterator[Client]:
    """A client of the configured scheduler, or of a new local cluster, closed on exit."""
    if settings.dask_scheduler_address:
        with connect_scheduler(settings.dask_scheduler_address) as client:
            workers = len(client.scheduler_info().get("workers", {}))
            # The scheduler's address is a secret of the deployment: never logged.
            log.info("training on the configured Dask scheduler (%d workers)", workers)
            yield client
        return
    workers = local_workers(settings)
    with ExitStack() as stack:
        stack.enter_context(dask.config.set(WITHOUT_PROFILER))
        with _ctrl_c_held():
            cluster = stack.enter_context(
                LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    # Loopback and a free port by default: the dashboard has no authentication.
                    dashboard_address=settings.dask_dashboard_address,
                    silence_logs=logging.ERROR,
                )
            )
        client = stack.enter_context(Client(cluster, set_as_default=False))
        log.info("training on a local Dask cluster of %d worker processes", workers)
        _announce_dashboard(client)
        yield client


@contextmanager
def _ctrl_c_held() -> Iterator[None]:
    """While the cluster starts: SIGINT blocked in this thread, so the cluster's threads,
    started now, and the worker processes they start inherit the mask; SIGINT and SIGTERM
    that come meanwhile held, then handled as they would have been (once the cluster is
    entered, so that it is closed as the stop unwinds)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    # The first worker's start would start multiprocessing's resource tracker, and CPython
    # unblocks SIGINT in the thread that starts it (`resource_tracker.ensure_running`): the
    # cluster's loop, whose later threads then start workers that take Ctrl-C. Started first.
    resource_tracker.ensure_running()
    came: list[int] = []
    handlers = {
        signum: signal.signal(signum, lambda signum, _: came.append(signum))
        for signum in (signal.SIGINT, signal.SIGTERM)
    }
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # a SIGINT held comes now
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
        if came:
            signal.raise_signal(came[0])


def forward_logs(client: Client, level: str) -> None:
    """The workers' `cryptopredict` log records, handled in this process as they are written
    (`Client.forward_logging`). Workers in this process (a cluster of threads) log here already:
    forwarding their records would send each one round again, for ever."""
    if os.getpid() in client.run(os.getpid).values():
        return
    client.forward_logging("cryptopredict", level=level.upper())


def _announce_dashboard(client: Client) -> None:
    """Print the local cluster's dashboard address, when it serves one that can draw (its pages
    need `bokeh`). A configured scheduler's is not printed: it would name the scheduler's host."""
    if client.scheduler_info().get("services", {}).get("dashboard") is None:
        return
    if importlib.util.find_spec("bokeh") is None:
        # Nothing to do about it: the progress lines show the run; said at DEBUG for those who
        # look for the dashboard.
        log.debug("Dask's own dashboard is off: it draws with bokeh, which is not installed")
        return
    print(f"Dask dashboard: {client.dashboard_link}", flush=True)
