"""Where the refits of an in-process backtest (`run_backtest`, `train`) run: in this process
(`LocalEngine`), or as tasks on a `dask.distributed` cluster
(`cryptopredict.training.cluster.DaskEngine`, e.g. from the notebook). `train.py` itself runs
every step of a pair as a task (`graph.py`).

An engine gets a function and items and gives the results back in the order asked, whatever
order they finish in, so results never depend on where they ran.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Engine(Protocol):
    def map(self, fn: Callable[[T], R], items: Sequence[T], *, what: str) -> list[R]:
        """`fn` of each item, in order; `what` names the tasks for progress and logs."""
        ...


class LocalEngine:
    """Every task in this process, one after the other."""

    def map(self, fn: Callable[[T], R], items: Sequence[T], *, what: str) -> list[R]:
        return [fn(item) for item in items]
