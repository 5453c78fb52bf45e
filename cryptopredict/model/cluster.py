"""Training's tasks on `dask.distributed`: a `LocalCluster` of single-threaded worker processes
by default (`TRAIN_WORKERS` of them, one per core unless set), or an existing scheduler when
`DASK_SCHEDULER_ADDRESS` is set (`tls://` addresses take their certificates from Dask's own
security configuration, e.g. `DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT`).

The process that runs `train.py` is the Dask client: it decides which refits are needed, reads
and writes the fit cache and writes the artifacts, so the workers need no shared disk (they need
the `cryptopredict` package, and the data a pair is read from: the embedded snapshot, or the
`--csv` file). Results come back in the order asked, whatever order they finish in, and a task
whose worker is lost is run again elsewhere (`RETRIES` more times when it fails itself).
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from distributed import Client, Future, LocalCluster
from tqdm import tqdm

from cryptopredict.config import Settings
from cryptopredict.model.progress import progress

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")
RETRIES = 2  # a task that raised is run this many more times before its pair fails


def worker_count(settings: Settings) -> int:
    return settings.train_workers or os.cpu_count() or 1


@contextmanager
def training_client(settings: Settings) -> Iterator[Client]:
    """A client of the configured scheduler, or of a new local cluster, closed on exit."""
    if settings.dask_scheduler_address:
        with Client(settings.dask_scheduler_address, set_as_default=False) as client:
            workers = len(client.scheduler_info().get("workers", {}))
            # The scheduler's address is a secret of the deployment: never logged.
            log.info("training on the configured Dask scheduler (%d workers)", workers)
            yield client
        return
    workers = worker_count(settings)
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            # Loopback and a free port by default: the dashboard has no authentication.
            dashboard_address=settings.dask_dashboard_address,
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        log.info("training on a local Dask cluster of %d worker processes", workers)
        _announce_dashboard(client)
        yield client


def _announce_dashboard(client: Client) -> None:
    """Print the local cluster's dashboard address, when it serves one that can draw (its pages
    need `bokeh`). A configured scheduler's is not printed: it would name the scheduler's host."""
    if client.scheduler_info().get("services", {}).get("dashboard") is None:
        return
    if importlib.util.find_spec("bokeh") is None:
        log.info("no Dask dashboard: it needs bokeh (pip install bokeh)")
        return
    print(f"Dask dashboard: {client.dashboard_link}", flush=True)


@contextmanager
def dask_engine(
    settings: Settings, pair: str, final: tuple[type[Exception], ...] = ()
) -> Iterator[DaskEngine]:
    """An engine on the configured cluster for one pair's training, e.g. from a notebook."""
    with training_client(settings) as client:
        tracker = TaskProgress()
        try:
            yield DaskEngine(client, tracker, pair, final)
        finally:
            tracker.close()


class TaskProgress:
    """One progress bar over every task of the run: its total grows as pairs submit tasks, and
    tqdm estimates the time left from the rate they finish at."""

    def __init__(self) -> None:
        self.bar: tqdm = progress(0, "training", "task")
        self.lock = threading.Lock()

    def track(self, futures: Sequence[Future]) -> None:
        with self.lock:
            self.bar.total += len(futures)
            self.bar.refresh()
        for future in futures:
            future.add_done_callback(self._done)

    def _done(self, _: Future) -> None:
        with self.lock:
            self.bar.update(1)

    def write(self, text: str) -> None:
        """Print `text` above the bar."""
        with self.lock:
            self.bar.write(text)

    def close(self) -> None:
        self.bar.close()


@dataclass(frozen=True)
class Raised:
    """A task's own failure (bad data, too short a history): returned, not raised, so that
    Dask neither retries the task nor logs it as a worker's error; raised again here."""

    error: Exception


def settled(fn: Callable[..., R], final: tuple[type[Exception], ...], *args: object) -> R | Raised:
    try:
        return fn(*args)
    except final as error:
        return Raised(error)


class DaskEngine:
    """An engine whose tasks run on the cluster behind `client`, named after `pair` there.
    Exceptions of the `final` kinds are the task's own verdict: raised here at once, never
    retried; any other is retried `RETRIES` times."""

    def __init__(
        self,
        client: Client,
        tracker: TaskProgress,
        pair: str,
        final: tuple[type[Exception], ...] = (),
    ) -> None:
        self.client = client
        self.tracker = tracker
        self.pair = pair
        self.final = final

    def map(self, fn: Callable[[T], R], items: Sequence[T], *, what: str) -> list[R]:
        if not items:
            return []
        task = functools.partial(settled, fn, self.final)
        futures = self.client.map(
            task, items, key=[self._key(what) for _ in items], pure=False, retries=RETRIES
        )
        self.tracker.track(futures)
        return [_unwrap(result) for result in self.client.gather(futures)]

    def run(self, fn: Callable[..., R], *args: object, what: str) -> R:
        future = self.client.submit(
            settled, fn, self.final, *args, key=self._key(what), pure=False, retries=RETRIES
        )
        self.tracker.track([future])
        return _unwrap(future.result())

    def _key(self, what: str) -> str:
        # Dask groups tasks by the key's prefix: the dashboard shows refits, band choices...
        return f"{what.replace(' ', '_')}-{self.pair}-{uuid.uuid4().hex}"


def _unwrap(result: R | Raised) -> R:
    if isinstance(result, Raised):
        raise result.error
    return result
