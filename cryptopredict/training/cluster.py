"""Where training runs: a `LocalCluster` of single-threaded worker processes (`TRAIN_WORKERS`,
one per core unless set; for no more pairs than that, one thread of this process, with no
worker to start), or the scheduler of `DASK_SCHEDULER_ADDRESS` (`tls://` takes its
certificates from Dask's configuration). This process is the client and writes the artifacts
from what comes back, so workers need no shared disk.

Local workers run without Dask's statistical profiler (`WORKER_CONFIG`): its
`sys._current_frames()` every 10 ms can deadlock a worker on Python 3.11 when the garbage
collector runs inside it (CPython gh-106883, dask/distributed #8616); workers started by hand
take `DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False`. Their glibc keeps freed memory for
reuse: Dask's 64 KiB trim sent each numpy temporary through the kernel (20% of `make panel`'s
CPU). They start with SIGINT blocked (`_ctrl_c_held`), so a Ctrl-C is this process's, which
closes the cluster as it stops, dropping the tasks under way (`_drop_tasks`).

The scheduler of `DASK_SCHEDULER_ADDRESS` is reached within a bound, and what went wrong said
without saying where (the address is a secret of the deployment). Dask bounds the connection
(`distributed.comm.timeouts.connect`) but not the scheduler's first answer: a silent listener
held `train.py` 420 s; the handshake gets the same bound here (`connect_scheduler`).
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
import signal
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from multiprocessing import resource_tracker

import dask
from dask.utils import parse_timedelta
from distributed import Client, LocalCluster, Worker
from distributed.comm import parse_address, parse_host_port

from cryptopredict.config import Training

log = logging.getLogger(__name__)

WORKER_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": 2**28,
    "distributed.nanny.pre-spawn-environ.MALLOC_MMAP_THRESHOLD_": 2**25,
}


@contextmanager
def training_client(settings: Training, pairs: int | None = None) -> Iterator[Client]:
    """A client of the configured scheduler, or of a new local cluster, closed on exit: for at
    most as many `pairs` as workers, one thread of this process (no process to start, and the
    pairs' Python shares one lock: a pair at a time serves the first soonest)."""
    if settings.dask_scheduler_address:
        with connect_scheduler(settings.dask_scheduler_address) as client:
            workers = len(client.scheduler_info().get("workers", {}))
            # The scheduler's address is a secret of the deployment: never logged.
            log.info("training on the configured Dask scheduler (%d workers)", workers)
            yield client
        return
    workers = settings.train_workers or os.cpu_count() or 1
    here = pairs is not None and pairs <= workers
    with ExitStack() as stack:
        stack.enter_context(dask.config.set(WORKER_CONFIG))
        with _ctrl_c_held():
            cluster = stack.enter_context(
                LocalCluster(
                    n_workers=1 if here else workers,
                    threads_per_worker=1,
                    processes=not here,
                    protocol="tcp://",  # in this process too: no address of this machine looked up
                    # Loopback and a free port by default: the dashboard has no authentication.
                    dashboard_address=settings.dask_dashboard_address,
                    # Not even distributed's errors: a worker's heartbeat that fails while a
                    # stop closes the scheduler logs one with its traceback; what fails in a
                    # task reaches training as the task's exception.
                    silence_logs=logging.CRITICAL,
                )
            )
        client = stack.enter_context(Client(cluster, set_as_default=False))
        kind = "a thread of this process" if here else f"{workers} worker processes"
        log.info("training on a local Dask cluster of %s", kind)
        # Its dashboard's address printed, when it can draw (with `bokeh`).
        drawn = client.scheduler_info().get("services", {}).get("dashboard") is not None
        if drawn and importlib.util.find_spec("bokeh") is None:
            log.debug("Dask's own dashboard is off: it draws with bokeh, which is not installed")
        elif drawn:
            print(f"Dask dashboard: {client.dashboard_link}", flush=True)
        try:
            yield client
        except KeyboardInterrupt:
            _drop_tasks(cluster)
            raise


def _drop_tasks(cluster: LocalCluster) -> None:
    """Ctrl-C: each worker closed without waiting for the task it runs (a backtest or a fit,
    seconds long); a worker process is killed at once: busy, it never stopped when asked, and
    the 0.4 s Dask waited were most of a Ctrl-C's stop. Dask may give up waiting for the
    killed process to end: TimeoutError, let pass."""
    for worker in list(cluster.workers.values()):
        if isinstance(worker, Worker):
            cluster.sync(worker.close, executor_wait=False)
        else:
            with suppress(TimeoutError):
                cluster.sync(worker.close, timeout=0.01)  # asked to stop, killed 10 ms on


@contextmanager
def _ctrl_c_held() -> Iterator[None]:
    """SIGINT blocked in this thread, whose mask the cluster's threads and processes inherit;
    SIGINT and SIGTERM that come meanwhile held, then handled once the cluster is entered."""
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
    """The workers' `cryptopredict` log records handled here as they are written (but those of
    workers in this process, which log here already: forwarded, they would loop for ever)."""
    if os.getpid() in client.run(os.getpid).values():
        return
    client.forward_logging("cryptopredict", level=level.upper())


HANDSHAKE_GRACE = 5.0  # seconds past the connect timeout before a silent scheduler is given up
PROBE_SECONDS = 2.0
REFUSED = "the connection was refused (nothing listens at that host and port)"
UNENCRYPTED = (  # said where Dask requires encryption (a release's build)
    "a tcp:// scheduler runs what anyone who reaches it sends, beside the exchange keys: give "
    "DASK_SCHEDULER_ADDRESS as tls:// and a client certificate in Dask's TLS settings, or unset it"
)


class SchedulerError(Exception):
    """The configured Dask scheduler cannot be used: why, never where."""


def connect_scheduler(address: str) -> Client:
    """A client of the scheduler at `address`; SchedulerError when none answers in time."""
    if dask.config.get("distributed.comm.require-encryption") and not address.startswith("tls://"):
        raise SchedulerError(UNENCRYPTED)
    timeout = float(parse_timedelta(dask.config.get("distributed.comm.timeouts.connect"), "s"))
    outcome: list[Client | BaseException] = []

    def connect() -> None:
        try:
            outcome.append(Client(address, set_as_default=False, timeout=timeout))
        except BaseException as error:  # handed to the caller, named below
            outcome.append(error)

    attempt = threading.Thread(target=connect, name="dask-scheduler-connect", daemon=True)
    attempt.start()
    attempt.join(timeout + HANDSHAKE_GRACE)
    if not outcome:
        raise SchedulerError(
            f"the Dask scheduler of DASK_SCHEDULER_ADDRESS accepted the connection but did not "
            f"answer within {timeout + HANDSHAKE_GRACE:g} s: is a Dask scheduler (of the same "
            "distributed version) listening there?"
        )
    found = outcome[0]
    if isinstance(found, BaseException):
        why = problem(found, timeout)
        if seen_in(found, TimeoutError, asyncio.TimeoutError, asyncio.CancelledError):
            # Dask's last attempt may be cut by its deadline rather than refused: ask once more.
            why = probe(address) or why
        raise SchedulerError(
            f"cannot reach the Dask scheduler of DASK_SCHEDULER_ADDRESS: {why}"
        ) from None
    return found


def probe(address: str) -> str | None:
    """Why a plain TCP connection to `address` fails at once (refused, unresolved), or None."""
    try:
        scheme, location = parse_address(address)
        if scheme in ("tcp", "tls"):
            socket.create_connection(parse_host_port(location), timeout=PROBE_SECONDS).close()
    except (OSError, ValueError) as error:
        if seen_in(error, ConnectionRefusedError, socket.gaierror):
            return problem(error, PROBE_SECONDS)
    return None


def seen_in(error: BaseException, *wanted: type[BaseException]) -> bool:
    cause: BaseException | None = error
    for _ in range(10):
        if cause is None:
            return False
        if isinstance(cause, wanted):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def problem(error: BaseException, timeout: float) -> str:
    """What went wrong, from the kinds of `error` and its causes (their messages name the
    address)."""
    if seen_in(error, ConnectionRefusedError):
        return REFUSED
    if seen_in(error, socket.gaierror):
        return "its host name does not resolve"
    if seen_in(error, ssl.SSLError) or (seen_in(error, TypeError) and "TLS" in str(error)):
        return (
            "the TLS setup failed: check the certificates in Dask's configuration "
            "(DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT and its siblings)"
        )
    if seen_in(error, TimeoutError, asyncio.TimeoutError, asyncio.CancelledError):
        return (
            f"no connection within {timeout:g} s (a host that is down or does not resolve, or "
            "a firewall dropping the packets)"
        )
    if seen_in(error, ValueError) and not seen_in(error, OSError):
        return "it is not an address Dask can use: give tcp://HOST:PORT or tls://HOST:PORT"
    return f"{type(error).__name__} (the address is left out of this message)"
