"""`cached`: `functools.cached_property` without its lock.

Until Python 3.12, `cached_property` computes under one lock per property shared by every
instance of the class: while one artifact's grid or backtest is read, or one asset's artifact
opened, the same property of every other instance waits (issue 41: one slow artifact held up
every asset). Python 3.12 dropped that lock; this is the same descriptor without it. Two
threads may both compute a value the first time; the first to finish is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")


class cached(Generic[T]):  # noqa: N801 (named as the decorator it stands in for)
    def __init__(self, compute: Callable[[Any], T]) -> None:
        self.compute = compute
        self.name = compute.__name__
        self.__doc__ = compute.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> cached[T]: ...
    @overload
    def __get__(self, instance: object, owner: type | None = None) -> T: ...

    def __get__(self, instance: object | None, owner: type | None = None) -> T | cached[T]:
        if instance is None:
            return self
        values = instance.__dict__
        if self.name not in values:
            values.setdefault(self.name, self.compute(instance))
        return values[self.name]
