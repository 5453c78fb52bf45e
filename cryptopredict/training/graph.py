"""The client's side of training: each pair's task graph submitted to the cluster, the fit
cache read and written by key, and the artifacts written from the bytes the workers send back.

A pair's graph (its steps: `steps.py`):

    prepare --> needs                          (the client reads the refit origins and keys)
       |------> refit at each origin not cached (the history sliced where it is)
       |------> damping <- the validation refits (the client reads tau)
       '------> finish  <- the damping, the refits the served path needs

(fits from the cache go out once, in one `cached_fits` task per phase), so a pair without
refits is three tasks. Only small values come back to the client: the keys,
tau, the new fits (for the cache) and the artifact's files. The pairs in flight follow the
cluster's threads, read from the scheduler as workers join and leave.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from distributed import Client, Future

from cryptopredict.artifact.write import install_artifact
from cryptopredict.training.cluster import Slots
from cryptopredict.training.fitcache import FitCache
from cryptopredict.training.tasks import (
    DAMPING_PURPOSE,
    REFITS_LOG,
    Done,
    Failed,
    Needs,
    PairJob,
    every_refit_purpose,
    kept,
    needs,
    replay,
    run,
)

log = logging.getLogger(__name__)

RETRIES = 2  # a task that raised is run this many more times before its pair fails


class PairError(Exception):
    """A pair's own failure, as its task said it (bad data, too short a history, the gate)."""


def train_pairs(
    client: Client,
    jobs: Sequence[PairJob],
    *,
    cache: FitCache,
    out: Path,
    say: Callable[[str], None],
    done: Callable[[], None],
) -> list[str]:
    """Train every pair, a few more in flight than the cluster has threads; the slugs that
    failed. `say` gets each pair's report as it finishes; `done` is called once per pair."""
    slots = Slots(client)
    failed: list[str] = []
    threads = []

    def one(job: PairJob) -> None:
        try:
            started = time.monotonic()
            path, finished_report, version = train_pair(client, job, cache=cache, out=out)
            seconds = time.monotonic() - started
            say(f"{finished_report}\nartifact: {path} ({version}) in {seconds:.0f} s")
        except Exception as error:
            slug = job.asset.slug
            log.error("%s: %s", slug, error)
            log.error(
                "nothing was written for %s; any previous artifact in %s is unchanged",
                slug,
                out / slug,
            )
            failed.append(slug)
        finally:
            slots.release()
            done()

    for job in jobs:
        slots.acquire()
        thread = threading.Thread(target=one, args=(job,), name=f"pair-{job.asset.slug}")
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    return sorted(failed, key=[job.asset.slug for job in jobs].index)


def train_pair(
    client: Client, job: PairJob, *, cache: FitCache, out: Path
) -> tuple[Path, str, str]:
    """One pair's graph; its artifact's path, its report and its model version."""
    graph = PairGraph(client, job)
    prepared = graph.submit("prepare", job)
    plan: Needs = graph.result(graph.task(needs, "needs", prepared))
    chosen: Future | None = None
    paths: dict[int, Any] = {}
    if plan.backtest:
        graph.refits(
            prepared, plan.damping, steps=plan.steps, paths=paths, cache=cache,
            purpose=DAMPING_PURPOSE,
        )  # fmt: skip
        chosen = graph.submit("damping", prepared, paths, list(graph.stores))
        tau = graph.result(chosen)[1]
        if tau != 0:
            graph.refits(
                prepared, plan.every, steps=plan.steps, paths=paths, cache=cache,
                purpose=every_refit_purpose(tau),
            )  # fmt: skip
    finishing = graph.submit("finish", prepared, chosen, paths, graph.stores)
    graph.cache_new_fits(cache)
    finished = graph.result(finishing)
    path = install_artifact(out, job.asset.slug, finished.files)
    return path, finished.report, finished.model_version


class PairGraph:
    """One pair's tasks on the cluster, named after it there (the dashboard groups them)."""

    def __init__(self, client: Client, job: PairJob) -> None:
        self.client = client
        self.job = job
        self.new: dict[str, Future] = {}  # fits not in the cache, by key
        self.stores: list[Future] = []  # fits from the cache, by origin
        self.cached: set[int] = set()

    def submit(self, step: str, *args: Any, key: str | None = None) -> Future:
        return self.task(run, step, step, self.job.log_level, *args, key=key)

    def task(
        self, fn: Callable[..., Done], name: str, *args: Any, key: str | None = None
    ) -> Future:
        return self.client.submit(
            fn,
            *args,
            key=key or f"{name}-{self.job.asset.slug}-{uuid.uuid4().hex}",
            pure=False,
            retries=RETRIES,
        )

    def result(self, future: Future) -> Any:
        """A task's value, its log lines logged here; PairError with its own verdict."""
        done: Done = future.result()
        replay(done.records)
        if isinstance(done.value, Failed):
            raise PairError(done.value.message)
        return done.value

    def refits(
        self,
        prepared: Future,
        origins: tuple[tuple[int, str], ...],
        *,
        steps: int,
        paths: dict[int, Any],
        cache: FitCache,
        purpose: str,
    ) -> None:
        """Into `paths`, by origin, the task fitting each fit not cached; those cached go to
        the workers once, in a task of `self.stores`."""
        if not origins:
            return
        ready, cached = [], []
        for origin, key in origins:
            if origin in paths or origin in self.cached:
                ready.append(origin)
                continue
            value = cache.get(key)
            if value is not None and value.shape == (steps,):
                cached.append((origin, value))
                self.cached.add(origin)
            else:
                paths[origin] = self.new[key] = self.submit(
                    "refit", prepared, origin, key=f"refit-{self.job.asset.slug}-{key[:20]}"
                )
        if cached:
            # One task holds them: the scheduler can run it again if its worker is lost.
            self.stores.append(self.task(kept, "cached_fits", dict(cached)))
        reused = len(ready) + len(cached)
        log.info(REFITS_LOG, len(origins), purpose, reused, len(origins) - reused)

    def cache_new_fits(self, cache: FitCache) -> None:
        if cache.directory is None:
            return
        for key, future in self.new.items():
            done: Done = future.result()
            if not isinstance(done.value, Failed):
                cache.put(key, done.value)
