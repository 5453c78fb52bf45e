"""The client's side of training: each pair's task graph submitted to the cluster and followed
as its tasks finish (`distributed.as_completed`, one loop for every pair), the fit cache read
and written by key, and the artifacts written from the bytes the workers send back.

A pair's graph (its steps: `steps.py`):

    prepare --> needs                          (the client reads the refit origins and keys)
       |------> quick                          (with `quick`: served until the backtest ends)
       |------> refit at each origin not cached (the history sliced where it is)
       |------> damping <- the validation refits (the client reads tau)
       '------> finish  <- the damping, the refits the served path needs
                (or backtest, for the tools: the backtest alone, sent back whole)

(fits from the cache go out once, in one `cached_fits` task per phase), so a pair without
refits is three tasks. Only small values come back to the client: the keys, tau, the new fits
(each as soon as it is fitted, for the cache) and the artifact's files. The workers' log records
come to this process as they are written (`Client.forward_logging`), each naming its pair
(`tasks.naming`), and each task's start and end on its worker (`tasks.TASK_EVENTS`,
`Client.subscribe_topic`), so the progress says which pairs run and which wait for a worker;
every refit that ends moves the pair's progress.

`driver.py` drives every pair of `train.py` through this graph at once (with a budget, its
history and quick model first, its backtest in its turn: `start`, `park`, `resume`, `defer`);
`train_pair` (one pair, its backtest kept on request: the notebook, the tests) and
`backtest_pair` (the backtest alone: `make compare`, `make panel`) run it one pair at a time.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from dask.typing import Key
from distributed import Client, Future, as_completed

from cryptopredict.artifact.training import Served
from cryptopredict.artifact.write import install_artifact
from cryptopredict.training.fitcache import FitCache
from cryptopredict.training.tasks import (
    DAMPING_PURPOSE,
    REFITS_LOG,
    Failed,
    Finished,
    Needs,
    PairJob,
    every_refit_purpose,
    kept,
    needs,
    run,
)

if TYPE_CHECKING:  # the workers send it back; the client need not import the training stack
    from cryptopredict.model.backtest import Backtest

log = logging.getLogger(__name__)

RETRIES = 2  # a task that raised is run this many more times before its pair fails
QUICK_PRIORITY = 10  # the quick models before any refit: every pair is served soonest
FINAL_STEP = "final fit, forecast grid and artifact"


class PairError(Exception):
    """A pair's own failure, as its task said it (bad data, too short a history, the gate)."""


def run_step(client: Client, step: str, level: str, *args: Any) -> Any:
    """One step that is no pair's (`market`, say) run on a worker; its value (its log lines
    come here, named after it); PairError with the step's own verdict."""
    key = f"{step}-{uuid.uuid4().hex}"
    value = client.submit(run, step, step, level, *args, key=key, pure=False, retries=RETRIES)
    done = value.result()
    if isinstance(done, Failed):
        raise PairError(done.message)
    return done


class Progress(Protocol):
    """What the driver tells of each pair (`progress.py` shows it)."""

    def step(self, slug: str, text: str) -> None: ...
    def planned(self, slug: str, fits: int) -> None: ...
    def queued(self, slug: str, fits: int) -> None: ...
    def fitted(self, slug: str) -> None: ...
    def started(self, slug: str, key: str, step: str) -> None: ...
    def ended(self, slug: str, key: str, step: str, seconds: float) -> None: ...
    def served(self, slug: str, kind: Served, path: Path, finished: Finished) -> None: ...
    def failed(self, slug: str, why: str) -> None: ...
    def quick(self, slug: str, why: str) -> None: ...


def told(progress: Progress, said: dict[str, Any]) -> None:
    """A task's start or end on its worker (`tasks.announced`), told to the progress."""
    if "seconds" in said:
        progress.ended(said["pair"], said["key"], said["step"], said["seconds"])
    else:
        progress.started(said["pair"], said["key"], said["step"])


@dataclass(frozen=True)
class Trained:
    """A pair trained: where its artifact is, its report, and its backtest if it was kept."""

    path: Path
    report: str
    model_version: str
    backtest: Backtest | None = None


class Kept:
    """The progress of one pair driven alone: nothing shown, its artifact kept."""

    trained: Trained | None = None

    def step(self, slug: str, text: str) -> None:
        pass

    def planned(self, slug: str, fits: int) -> None:
        pass

    def queued(self, slug: str, fits: int) -> None:
        pass

    def fitted(self, slug: str) -> None:
        pass

    def started(self, slug: str, key: str, step: str) -> None:
        pass

    def ended(self, slug: str, key: str, step: str, seconds: float) -> None:
        pass

    def served(self, slug: str, kind: Served, path: Path, finished: Finished) -> None:
        self.trained = Trained(path, finished.report, finished.model_version, finished.backtest)

    def failed(self, slug: str, why: str) -> None:
        pass

    def quick(self, slug: str, why: str) -> None:
        pass


def train_pair(
    client: Client, job: PairJob, *, cache: FitCache, out: Path, keep_backtest: bool = False
) -> Trained:
    """One pair's graph, to its artifact under `out`; with `keep_backtest`, its backtest
    (refits, choices, scores) comes back too, for the notebook. Raises PairError."""
    kept = Kept()
    one_pair(PairRun(client, job, cache=cache, out=out, progress=kept, keep=keep_backtest))
    assert kept.trained is not None
    return kept.trained


def backtest_pair(client: Client, job: PairJob, *, cache: FitCache) -> Backtest:
    """One pair's backtest alone (no final fit, no artifact), for the tools. Raises PairError."""
    pair = PairRun(client, job, cache=cache, out=Path(), progress=Kept(), last="backtest")
    one_pair(pair)
    assert pair.backtest is not None
    return pair.backtest


def one_pair(pair: PairRun) -> None:
    """`pair`'s graph followed to its end, as `train_pairs` follows each."""
    followed = as_completed(pair.start(quick=False), loop=pair.client.loop)
    for future in followed:
        try:
            followed.update(pair.advance(future))
        except Exception as error:
            pair.fail(error)  # what is left of its graph cancelled, the failure logged
            raise
        if pair.over:
            return


class PairRun:
    """One pair's graph, advanced as each of its tasks ends."""

    def __init__(
        self,
        client: Client,
        job: PairJob,
        *,
        cache: FitCache,
        out: Path,
        progress: Progress,
        keep: bool = False,  # the backtest sent back with the artifact's files
        last: str = "finish",  # or "backtest": the backtest alone, no artifact
    ) -> None:
        self.client = client
        self.keep = keep
        self.last = last
        self.backtest: Backtest | None = None
        self.job = job
        self.slug = job.asset.slug
        self.cache = cache
        self.out = out
        self.progress = progress
        self.over = False
        self.straight = True  # backtested as soon as its history is read (else: it waits)
        # Dask's priority of its tasks: the cluster runs the higher first (a run with a budget
        # orders the pairs' backtests: `driver.py`).
        self.priority = 0
        self.backtesting = True
        self.final_written = False
        self.quick_written = False
        self.fit_keys: dict[Key, str] = {}  # the fit cache's key of each refit's task
        self.stores: list[Future] = []  # fits from the cache, by origin
        self.cached: set[int] = set()
        self.paths: dict[int, Any] = {}
        self.plan: Needs | None = None
        self.prepared: Future | None = None  # the history, read where it stays
        self.needs: Future | None = None
        self.validation_fits = 0  # the refits the damping is chosen on, not cached
        self.refitting = 0  # refits handed to the cluster and not ended
        self.quick_failed: str | None = None  # why, until the pair is known to go on
        self.quick: Future | None = None
        self.chosen: Future | None = None
        self.finishing: Future | None = None
        self.submitted: list[Future] = []

    @property
    def written(self) -> bool:
        """Whether `out` holds a model of the pair already (from a run before)."""
        return (self.out / self.slug / "manifest.json").exists()

    def start(self, *, quick: bool, straight: bool = True) -> list[Future]:
        """The pair's first tasks: its history read (first of all when a quick model is asked
        for, and that model next); `straight`: its backtest follows, else it waits (`waits`)
        until `resume`."""
        self.straight = self.backtesting = straight
        self.progress.step(self.slug, "reading its history, planning its backtest")
        first = QUICK_PRIORITY if quick else self.priority
        self.prepared = self.submit("prepare", self.job, priority=first)
        self.needs = self.task(needs, "needs", self.prepared, priority=first)
        started = [self.needs]
        if quick:
            self.quick = self.submit("quick", self.prepared, priority=QUICK_PRIORITY)
            started.append(self.quick)
        return started

    @property
    def waits(self) -> bool:
        """Read and served its quick model, its backtest not started: it waits its turn."""
        return not (self.over or self.backtesting or self.plan is None) and (
            self.quick is None or self.quick.done()
        )

    @property
    def needs_read(self) -> Needs:
        assert self.plan is not None, "the pair's history is not read yet"
        return self.plan

    @property
    def no_quick(self) -> str:
        """Why the pair has no quick model served, in words."""
        if self.quick_failed is not None:
            return f"its quick model failed ({self.quick_failed})"
        return "it has no quick model"

    def park(self) -> None:
        """Its history let go on the cluster until `resume` (a run of many pairs would keep
        them all in the workers' memory)."""
        self.submitted.clear()
        self.prepared = self.needs = self.quick = None
        served = "quick model served; " if self.quick_written else ""
        self.progress.step(self.slug, f"{served}its backtest waits its turn")

    def resume(self) -> list[Future]:
        """Its backtest, from its history read again (a second or two: it is cached)."""
        self.backtesting = True
        self.progress.step(self.slug, "reading its history again, for its backtest")
        self.prepared = self.submit("prepare", self.job)
        self.needs = self.task(needs, "needs", self.prepared)
        return [self.needs]

    def defer(self, why: str) -> str:
        """The budget has ended: what is left of its graph cancelled, its quick model served;
        `why` returned."""
        self.over = True
        self.client.cancel(self.submitted)
        log.info(
            "%s: %s; its quick model stays served, and the refits done so far are in the fit "
            "cache for the next run",
            self.slug,
            why,
        )
        self.progress.quick(self.slug, why)
        return why

    def advance(self, future: Future) -> list[Future]:
        """What follows `future`'s end: the tasks to follow next."""
        if future.key in self.fit_keys:
            self.refitting -= 1
            if future.status == "finished":
                self.progress.fitted(self.slug)
                self.keep_fit(future)
            if not self.refitting and self.finishing is not None:
                self.progress.step(self.slug, FINAL_STEP)  # the refits done: the final fit next
            return []  # an error shows in the task that needs the fit
        if future is self.quick:
            self._quick(future)
            return []
        value = self.result(future)
        if future is self.needs:
            self.plan = value
            return self._planned(value) if self.backtesting else []
        if future is self.chosen:
            return self._chosen(value[1])
        if self.last == "backtest":
            self.backtest = value
        else:
            self._write(value, "backtested")
        self.over = True
        return []

    def fail(self, error: Exception) -> str:
        """The pair given up, what is left of its graph cancelled; why, in words."""
        self.over = True
        self.client.cancel(self.submitted)  # what is left of its graph
        why = str(error) if isinstance(error, PairError) else f"{type(error).__name__}: {error}"
        log.error("%s: %s", self.slug, why)
        if self.quick_written:
            log.error("%s: nothing more was written; its quick model stays served", self.slug)
        else:
            log.error(
                "%s: nothing was written; any previous artifact in %s is unchanged",
                self.slug,
                self.out / self.slug,
            )
        self.progress.failed(self.slug, why)
        return why

    def _quick(self, future: Future) -> None:
        """The quick model written, unless it failed: why is said once the pair is known to
        go on (a pair whose history cannot be read fails, and its failure says why)."""
        try:
            self._write(self.result(future), "quick")
        except Exception as error:  # the backtested model may still be written
            self.quick_failed = str(error)
            if self.plan is not None:
                self._no_quick_model()

    def _no_quick_model(self) -> None:
        log.info(
            "%s: no quick model (%s): nothing is served of it until its backtested model is "
            "written",
            self.slug,
            self.quick_failed,
        )

    def _planned(self, plan: Needs) -> list[Future]:
        self.plan = plan
        if self.quick_failed is not None:
            self._no_quick_model()
        if not plan.backtest:
            self.progress.planned(self.slug, 1)
            return self._finish()
        self.progress.step(self.slug, "backtest: validation refits, to choose the damping")
        refits = self.refits(plan.damping, DAMPING_PURPOSE)
        self.validation_fits = len(refits)
        # Every fit it may need, and the final fit: refits found not needed leave the total.
        self.progress.planned(self.slug, len(refits) + self.uncached(plan.every) + 1)
        self.chosen = self.submit("damping", self.prepared, self.paths, list(self.stores))
        return [*refits, self.chosen]

    def _chosen(self, tau: float | None) -> list[Future]:
        assert self.plan is not None
        refits: list[Future] = []
        if tau != 0:
            self.progress.step(self.slug, "backtest: refits at every origin, the damping chosen")
            refits = self.refits(self.plan.every, every_refit_purpose(tau))
        self.progress.planned(self.slug, self.validation_fits + len(refits) + 1)
        return [*refits, *self._finish(after=len(refits))]

    def _finish(self, *, after: int = 0) -> list[Future]:
        """The last task; with `after` refits handed before it, its step is said when they end."""
        if not after:
            self.progress.step(self.slug, FINAL_STEP)
        self.progress.queued(self.slug, 1)
        args = (self.prepared, self.chosen, self.paths, self.stores)
        if self.last == "backtest":
            self.finishing = self.submit("backtest", *args)
        else:
            self.finishing = self.submit("finish", *args, self.keep)
        return [self.finishing]

    def _write(self, finished: Finished, kind: Served) -> None:
        if kind == "quick" and self.final_written:
            return  # the backtested model came first: it stays
        if kind == "backtested":
            self.final_written = True
        path = install_artifact(self.out, self.slug, finished.files)
        self.quick_written = self.quick_written or kind == "quick"
        self.progress.served(self.slug, kind, path, finished)

    def submit(
        self, step: str, *args: Any, key: str | None = None, priority: int | None = None
    ) -> Future:
        return self.task(
            run, step, step, self.slug, self.job.log_level, *args, key=key, priority=priority
        )

    def task(
        self,
        fn: Callable[..., Any],
        name: str,
        *args: Any,
        key: str | None = None,
        priority: int | None = None,
    ) -> Future:
        """A task named after its step and its pair (the Dask dashboard groups them), at the
        pair's priority unless told."""
        future = self.client.submit(
            fn,
            *args,
            key=key or f"{name}-{self.slug}-{uuid.uuid4().hex}",
            pure=False,
            retries=RETRIES,
            priority=self.priority if priority is None else priority,
        )
        self.submitted.append(future)
        return future

    def result(self, future: Future) -> Any:
        """A task's value; PairError with the pair's own verdict."""
        value = future.result()
        if isinstance(value, Failed):
            raise PairError(value.message)
        return value

    def refits(self, origins: tuple[tuple[int, str], ...], purpose: str) -> list[Future]:
        """Into `self.paths`, by origin, the task fitting each fit not cached (returned, to
        follow); those cached go to the workers once, in a task of `self.stores`."""
        if not origins:
            return []
        fitting, cached, reused = [], [], 0
        steps = self.plan.steps if self.plan else 0
        for origin, key in origins:
            if origin in self.paths or origin in self.cached:
                reused += 1
                continue
            value = self.cache.get(key)
            if value is not None and value.shape == (steps,):
                cached.append((origin, value))
                self.cached.add(origin)
            else:
                future = self.submit(
                    "refit", self.prepared, origin, key=f"refit-{self.slug}-{key[:20]}"
                )
                self.paths[origin] = future
                self.fit_keys[future.key] = key
                fitting.append(future)
        self.refitting += len(fitting)
        self.progress.queued(self.slug, len(fitting))
        if cached:
            # One task holds them: the scheduler can run it again if its worker is lost.
            self.stores.append(self.task(kept, "cached_fits", dict(cached)))
        log.info(
            REFITS_LOG,
            len(origins),
            purpose,
            reused + len(cached),
            len(fitting),
            extra={"pair": self.slug},  # named at the head of the line (`cryptopredict.logs`)
        )
        return fitting

    def uncached(self, origins: tuple[tuple[int, str], ...]) -> int:
        """The refits at `origins` that neither ran nor are in the cache."""
        return sum(
            1
            for origin, key in origins
            if origin not in self.paths and origin not in self.cached and not self.cache.has(key)
        )

    def keep_fit(self, future: Future) -> None:
        """A refit into the fit cache as soon as it is fitted: a run that ends before the
        pair's backtest does (its budget, a failure) keeps it for the next."""
        if self.cache.directory is None:
            return
        value = future.result()
        if not isinstance(value, Failed):
            self.cache.put(self.fit_keys[future.key], value)
