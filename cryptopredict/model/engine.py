"""Where training's tasks run: in this process (`LocalEngine`), or as tasks on a
`dask.distributed` cluster (`cryptopredict.model.cluster.DaskEngine`).

Training code hands an engine functions and their arguments and gets the results back in the
order asked, whatever order they finish in, so results never depend on where they ran.
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

    def run(self, fn: Callable[..., R], *args: object, what: str) -> R:
        """`fn(*args)` as one task."""
        ...


class LocalEngine:
    """Every task in this process, one after the other."""

    def map(self, fn: Callable[[T], R], items: Sequence[T], *, what: str) -> list[R]:
        return [fn(item) for item in items]

    def run(self, fn: Callable[..., R], *args: object, what: str) -> R:
        return fn(*args)
