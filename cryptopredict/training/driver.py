"""`train.py`'s pairs, every one through its graph (`graph.py`) at once, one loop following
every task as it ends (`distributed.as_completed`). A few more pairs are in flight than the
cluster has threads, read from the scheduler as each pair ends, so workers that join are used.

Without a budget each pair is backtested as soon as its history is read (its quick model
first, when serving while training). With one (`budget.py`), every pair is read and served
its quick model first; its history is then let go on the cluster, and the backtests follow in
`budget.backtest_order`, until the budget ends.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from dask.typing import Key
from distributed import Client, Future, as_completed

from cryptopredict.duration import Duration
from cryptopredict.training.budget import DEFERRED, Budget, backtest_order
from cryptopredict.training.fitcache import FitCache
from cryptopredict.training.graph import PairError, PairRun, Progress, told
from cryptopredict.training.tasks import TASK_EVENTS, PairJob

log = logging.getLogger(__name__)

PER_THREAD = 2  # pairs in flight per thread of the cluster: a worker always has a next task
# With a budget, the must-train pairs' backtests before any other's, and each other pair's
# before the next one's: the pair that started first finishes first (its last tasks do not wait
# behind the next pairs' refits), so the budget ends on as few half-done pairs as it can.
MUST_PRIORITY = 5  # below the quick models' (graph.QUICK_PRIORITY)


@dataclass(frozen=True)
class Outcome:
    """How a run's pairs ended, but those backtested: each with why, in the order of the jobs."""

    failed: dict[str, str] = field(default_factory=dict)  # not served (its quick model stays)
    deferred: dict[str, str] = field(default_factory=dict)  # served its quick model only


def train_pairs(
    client: Client,
    jobs: Sequence[PairJob],
    *,
    cache: FitCache,
    out: Path,
    progress: Progress,
    quick: bool = False,
    budget: Budget | None = None,
    must: frozenset[str] = frozenset(),
) -> Outcome:
    """Train every pair. With `quick`, each pair without an artifact in `out` gets its quick
    model written first (`steps.quick`). With a `budget`, every pair gets its quick model
    first, then the backtests go in order until it ends; the `must` pairs' go on to the end."""
    driver = Driver(client, jobs, cache=cache, out=out, progress=progress)
    driver.quick, driver.budget, driver.must = quick, budget, must
    return driver.run()


class Driver:
    def __init__(
        self,
        client: Client,
        jobs: Sequence[PairJob],
        *,
        cache: FitCache,
        out: Path,
        progress: Progress,
    ) -> None:
        self.client = client
        self.jobs = jobs
        self.cache, self.out, self.progress = cache, out, progress
        self.quick = False  # each pair's quick model first, where `out` has no model of it
        self.budget: Budget | None = None
        self.must: frozenset[str] = frozenset()  # backtested whatever the budget
        self.waiting = deque(jobs)
        self.ranks = {job.asset.slug: rank for rank, job in enumerate(jobs)}
        self.runs: dict[Key, PairRun] = {}  # by the key of each future followed
        self.followed = as_completed(loop=client.loop)
        self.flying: set[PairRun] = set()  # the pairs with tasks on the cluster
        self.parked: list[PairRun] = []  # served their quick model, their backtest to come
        self.ordered = False  # the parked pairs, once every pair is read
        self.resumed = 0  # backtests started in order
        self.ended = False  # the budget
        self.failed: dict[str, str] = {}
        self.deferred: dict[str, str] = {}

    def run(self) -> Outcome:
        alarm = self.budget.alarm(self.client, self.followed) if self.budget else nullcontext()
        self.client.subscribe_topic(TASK_EVENTS, lambda event: told(self.progress, event[1]))
        try:
            with alarm as rung:
                self.start_more()
                for future in self.followed:
                    if rung is None or not rung(future):  # the alarm only wakes the loop
                        self.advance(self.runs.pop(future.key), future)
                    if self.budget is not None and self.budget.over and not self.ended:
                        self.end_budget()
        finally:
            self.client.unsubscribe_topic(TASK_EVENTS)
        slugs = [job.asset.slug for job in self.jobs]
        return Outcome(
            failed={slug: self.failed[slug] for slug in slugs if slug in self.failed},
            deferred={slug: self.deferred[slug] for slug in slugs if slug in self.deferred},
        )

    def advance(self, pair: PairRun, future: Future) -> None:
        if pair.over:
            return  # a task of a pair that failed already, or was deferred
        try:
            self.follow(pair, pair.advance(future))
        except Exception as error:  # the pair fails, never the run
            self.failed[pair.slug] = pair.fail(error)
        if not (pair.over or pair.waits):
            return
        self.flying.discard(pair)
        if pair.waits:  # read and served: its backtest waits its turn
            pair.park()
            if self.ended:
                self.give_up(pair)
            else:
                self.parked.append(pair)
        self.start_more()

    def follow(self, pair: PairRun, futures: list[Future]) -> None:
        for future in futures:
            self.runs[future.key] = pair
            self.followed.add(future)

    def start_more(self) -> None:
        room = pairs_in_flight(self.client) - len(self.flying)
        while room > 0:
            if self.waiting:
                pair = PairRun(
                    self.client, self.waiting.popleft(), cache=self.cache, out=self.out,
                    progress=self.progress,
                )  # fmt: skip
                # With a budget, every pair's quick model (on this run's bars) comes first.
                first = self.budget is not None or (self.quick and not pair.written)
                straight = self.budget is None or pair.slug in self.must
                if self.budget is not None and straight:
                    pair.priority = MUST_PRIORITY
                self.follow(pair, pair.start(quick=first, straight=straight))
            elif self.parked and not self.ended and all(each.backtesting for each in self.flying):
                self.follow(pair := self.next_backtest(), pair.resume())
            else:
                return
            self.flying.add(pair)
            room -= 1

    def next_backtest(self) -> PairRun:
        if not self.ordered:  # every pair is read: their backtests in order
            self.parked.sort(
                key=lambda pair: backtest_order(pair.needs_read, self.cache, self.ranks[pair.slug])
            )
            self.ordered = True
            log.info(
                "every pair is served; the backtests, in this order: %s",
                ", ".join(pair.slug for pair in self.parked),
            )
        pair = self.parked.pop(0)
        pair.priority = -self.resumed
        self.resumed += 1
        return pair

    def end_budget(self) -> None:
        """No backtest starts or goes on but the `must` pairs'; the pairs still being read go
        on to their quick model."""
        assert self.budget is not None
        self.ended = True
        log.info(
            "the training budget (%s) has ended: no more backtests but those that must train",
            Duration(self.budget.seconds),
        )
        backtesting = [pair for pair in self.flying if pair.backtesting and not pair.straight]
        for pair in [*self.parked, *backtesting]:
            self.give_up(pair)
        self.parked.clear()

    def give_up(self, pair: PairRun) -> None:
        """The budget has ended: `pair` stays served its quick model."""
        self.flying.discard(pair)
        if pair.quick_written:
            self.deferred[pair.slug] = pair.defer(DEFERRED)
        else:
            self.failed[pair.slug] = pair.fail(PairError(f"{DEFERRED}, and {pair.no_quick}"))


def pairs_in_flight(client: Client) -> int:
    """How many pairs may be in flight: PER_THREAD for each thread the workers have now."""
    threads = sum(client.nthreads().values())
    if threads == 0:
        log.info("no Dask worker is connected yet: waiting for one")
        client.wait_for_workers(1)
        threads = sum(client.nthreads().values())
    return PER_THREAD * max(threads, 1)
