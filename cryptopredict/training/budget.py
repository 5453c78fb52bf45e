"""A training run's budget (`train.py --budget`, `TRAIN_BUDGET`) and the order the backtests
take, so that the budget buys the most.

Every pair is served first: its history read and its quick model written (the last close and
the panel's band, one Prophet fit). Then the backtests, one pair after another as the cluster
has room: the `--must-train` pairs (started as soon as their history is read, and never
stopped by the budget: they must be backtested), then the pairs whose refits are cached (the
fewest refits left first: a pair a run before left half done goes on), then the cold ones by
volume rank (the order the run was given them). When the budget ends, no backtest starts or
goes on, the artifacts being written are finished, and the pairs not backtested keep their
quick model, with why (`DEFERRED`); every refit done so far is already in the fit cache, so
the next run goes on from there.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from distributed import Client, Future, as_completed

from cryptopredict.artifact.run import DEFERRED
from cryptopredict.training.fitcache import FitCache
from cryptopredict.training.tasks import Needs

__all__ = ["DEFERRED", "Budget", "backtest_order"]


class Budget:
    """The time a run may spend on backtests, from when it is made."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = float(seconds)
        self.clock = clock
        self.ends = clock() + seconds

    def left(self) -> float:
        return max(0.0, self.ends - self.clock())

    @property
    def over(self) -> bool:
        return self.left() <= 0

    def end(self) -> None:
        """End it now: the driver stops the backtests when its current step is done."""
        self.ends = min(self.ends, self.clock())

    @contextmanager
    def alarm(self, client: Client, followed: as_completed) -> Iterator[Callable[[Future], bool]]:
        """For the length of a block: when the budget ends, a finished future joins `followed`,
        so the driver wakes then, whatever its tasks are doing; yields the test of a future
        being that one."""
        rung: list[Future] = []

        def ring() -> None:
            rung.append(client.scatter(DEFERRED, hash=False))  # finished as soon as it is made
            followed.add(rung[0])

        timer = threading.Timer(self.left(), ring)
        timer.daemon = True
        timer.start()
        try:
            yield lambda future: bool(rung) and future.key == rung[0].key
        finally:
            timer.cancel()
            timer.join()


def backtest_order(needs: Needs, cache: FitCache, rank: int) -> tuple[int, int, int, int]:
    """Where a pair's backtest goes among the others (lowest first): the pairs with refits in
    the cache, those with the fewest validation refits left first, then the fewest refits in
    all; then the cold ones (nothing cached) by `rank`, the pair's place in the run's order."""
    damping = sum(1 for _, key in needs.damping if cache.has(key))
    every = sum(1 for _, key in needs.every if cache.has(key))
    if needs.backtest and damping + every == 0:
        return (1, 0, 0, rank)
    return (0, len(needs.damping) - damping, len(needs.every) - every, rank)
