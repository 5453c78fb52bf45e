"""The client's side of training: every pair one task (`steps.train`), all submitted at once in
the run's order and followed as they end, each artifact written from the bytes its worker sends
back; a task holds its pair's history only while it runs, so hundreds of pairs need no more
memory than one per worker. The workers' log records and their tasks' events (`TASK_EVENTS`)
come here as they are written, for the progress.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from distributed import Client, Future, as_completed

from cryptopredict.artifact.write import install_artifact
from cryptopredict.training.progress import RunProgress
from cryptopredict.training.tasks import TASK_EVENTS, TRAIN, Failed, Finished, PairJob, run

if TYPE_CHECKING:  # the client need not import the training stack
    from cryptopredict.training.record import RecordKeeper

log = logging.getLogger(__name__)

RETRIES = 2  # a task that raised is run this many more times before its pair fails


class PairError(Exception):
    """A pair's own failure, as its task said it."""


def told(progress: RunProgress, said: dict[str, Any]) -> None:
    if "seconds" in said:
        progress.ended(said["pair"], said["key"], said["step"], said["seconds"])
    else:
        progress.started(said["pair"], said["key"], said["step"], said.get("done", 0.0))


def run_step(client: Client, step: str, level: str, *args: Any) -> Any:
    """The value of a step that is no pair's (`market`) run on a worker; PairError."""
    return _value(_submit(client, step, step, level, *args))


def train_pairs(
    client: Client,
    jobs: Sequence[PairJob],
    *,
    out: Path,
    progress: RunProgress,
    keeper: RecordKeeper | None = None,
) -> dict[str, str]:
    """Every pair trained, each artifact (and track record) written under `out` as it comes,
    the progress timing the pairs left by the client's workers; the pairs that failed, with why,
    in the jobs' order (their previous artifacts left, their track records carried forward)."""
    progress.workers = sum(client.nthreads().values())
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
    failed = {slug: failed[slug] for slug in order if slug in failed}
    if keeper is not None:
        keeper.carry(failed)
    return failed


def train_pair(client: Client, job: PairJob, *, out: Path) -> Finished:
    """One pair, to its artifact under `out` (its `path`), its backtest kept; PairError."""
    future = _submit(client, TRAIN, job.asset.slug, job.log_level, job, True)
    try:
        finished: Finished = _value(future)
    except Exception as error:
        _failure(job.asset.slug, error, out)
        raise
    return replace(finished, path=install_artifact(out, job.asset.slug, finished.files))


def _submit(client: Client, step: str, pair: str, level: str, *args: Any) -> Future:
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
    value = future.result()
    if isinstance(value, Failed):
        raise PairError(value.message)
    return value


def _failure(slug: str, error: Exception, out: Path) -> str:
    why = str(error) if isinstance(error, PairError) else f"{type(error).__name__}: {error}"
    log.error("%s: %s", slug, why)
    log.error("%s: nothing was written; any previous artifact in %s is unchanged", slug, out / slug)
    return why
