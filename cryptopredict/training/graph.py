"""The client's side of training: every pair one task on the cluster (`steps.train`), all
submitted at once in the run's order and followed as they end (`distributed.as_completed`),
each artifact written from the bytes its worker sends back as soon as they come. Dask runs the
tasks in the order they were submitted as workers free up, and a task holds its pair's history
only while it runs, so a run of hundreds of pairs needs no more memory than one pair per worker.

The workers' log records come to this process as they are written (`Client.forward_logging`),
each naming its pair (`tasks.naming`), and each task's start, phases and end on its worker
(`tasks.TASK_EVENTS`, `Client.subscribe_topic`), so the progress says which pairs run, what
they do, and which wait for a worker.

`train_pairs` drives `train.py`'s pairs; `train_pair` (one pair, its backtest kept on request:
the notebook, the tests) and `backtest_pair` (the backtest alone: `make compare`) one pair.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from distributed import Client, Future, as_completed

from cryptopredict.artifact.write import install_artifact
from cryptopredict.training.tasks import TASK_EVENTS, TRAIN, Failed, Finished, PairJob, run

if TYPE_CHECKING:  # the workers send it back; the client need not import the training stack
    from cryptopredict.model.backtest import BacktestResult
    from cryptopredict.training.record import RecordKeeper

log = logging.getLogger(__name__)

RETRIES = 2  # a task that raised is run this many more times before its pair fails


class PairError(Exception):
    """A pair's own failure, as its task said it (bad data, too short a history, the gate)."""


class Progress(Protocol):
    """What the driver tells of each pair (`progress.py` shows it)."""

    def started(self, slug: str, key: str, step: str) -> None: ...
    def ended(self, slug: str, key: str, step: str, seconds: float) -> None: ...
    def served(self, slug: str, path: Path, finished: Finished) -> None: ...
    def failed(self, slug: str, why: str) -> None: ...


def told(progress: Progress, said: dict[str, Any]) -> None:
    """A task's start, phase or end on its worker (`tasks.announced`, `tasks.phase`), told to
    the progress."""
    if "seconds" in said:
        progress.ended(said["pair"], said["key"], said["step"], said["seconds"])
    else:
        progress.started(said["pair"], said["key"], said["step"])


def run_step(client: Client, step: str, level: str, *args: Any) -> Any:
    """One step that is no pair's (`market`, say) run on a worker; its value (its log lines
    come here, named after it); PairError with the step's own verdict."""
    return _value(_submit(client, step, step, level, *args))


def train_pairs(
    client: Client,
    jobs: Sequence[PairJob],
    *,
    out: Path,
    progress: Progress,
    keeper: RecordKeeper | None = None,
) -> dict[str, str]:
    """Every pair trained, each artifact written under `out` as soon as it comes (and its
    track record, with `keeper`); the pairs that failed, with why, in the order of the jobs (a
    failed pair's previous artifact, if any, is left as it was)."""
    failed: dict[str, str] = {}
    # Before the tasks: the scheduler forwards a task's events only once it knows the topic.
    client.subscribe_topic(TASK_EVENTS, lambda event: told(progress, event[1]))
    try:
        futures = {_submit(client, TRAIN, job.asset.slug, job.log_level, job): job for job in jobs}
        for future in as_completed(futures, loop=client.loop):
            slug = futures.pop(future).asset.slug
            try:
                finished: Finished = _value(future)
            except Exception as error:  # the pair fails, never the run
                failed[slug] = _failure(slug, error, out)
                progress.failed(slug, failed[slug])
                continue
            path = install_artifact(out, slug, finished.files)
            if keeper is not None:
                keeper.issued(slug, path)
            progress.served(slug, path, finished)
    finally:
        client.unsubscribe_topic(TASK_EVENTS)
    order = [job.asset.slug for job in jobs]
    return {slug: failed[slug] for slug in order if slug in failed}


@dataclass(frozen=True)
class Trained:
    """A pair trained: where its artifact is, its report, and its backtest if it was kept."""

    path: Path
    report: str
    model_version: str
    backtest: BacktestResult | None = None


def train_pair(client: Client, job: PairJob, *, out: Path, keep_backtest: bool = False) -> Trained:
    """One pair, to its artifact under `out`; with `keep_backtest`, its backtest (the band's
    choice, the scores) comes back too, for the notebook. Raises PairError."""
    future = _submit(client, TRAIN, job.asset.slug, job.log_level, job, keep_backtest)
    try:
        finished: Finished = _value(future)
    except Exception as error:
        _failure(job.asset.slug, error, out)
        raise
    path = install_artifact(out, job.asset.slug, finished.files)
    return Trained(path, finished.report, finished.model_version, finished.backtest)


def backtest_pair(client: Client, job: PairJob) -> BacktestResult:
    """One pair's backtest alone (no final fit, no artifact), for the tools. Raises PairError."""
    backtest: BacktestResult = _value(
        _submit(client, "backtest", job.asset.slug, job.log_level, job)
    )
    return backtest


def _submit(client: Client, step: str, pair: str, level: str, *args: Any) -> Future:
    """A task named after its step and its pair (the Dask dashboard groups them)."""
    return client.submit(
        run,
        step,
        pair,
        level,
        *args,
        key=f"{step}-{pair}-{uuid.uuid4().hex}",
        pure=False,
        retries=RETRIES,
    )


def _value(future: Future) -> Any:
    """A task's value; PairError with the pair's own verdict."""
    value = future.result()
    if isinstance(value, Failed):
        raise PairError(value.message)
    return value


def _failure(slug: str, error: Exception, out: Path) -> str:
    """Why the pair failed, in words, logged with what was left as it was."""
    why = str(error) if isinstance(error, PairError) else f"{type(error).__name__}: {error}"
    log.error("%s: %s", slug, why)
    log.error("%s: nothing was written; any previous artifact in %s is unchanged", slug, out / slug)
    return why
