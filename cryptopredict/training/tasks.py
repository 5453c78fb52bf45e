"""What crosses between the training client and its workers: a pair's job (only the settings
its tasks need, never a data-source key), each task's outcome with the log lines it wrote, and
`run`, the one function every task calls.

This module is light on purpose: the client imports it, not the training stack (pandas,
Prophet), which only the workers load (`steps.py`).
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from cryptopredict.assets import Asset
from cryptopredict.config import Settings
from cryptopredict.model.gate import GateRules

STEPS = "cryptopredict.training.steps"
REFITS_LOG = "backtest: Prophet refitted at %d origins %s: %d from the cache, %d to fit"
DAMPING_PURPOSE = "(the validation refits, to choose the damping)"


def every_refit_purpose(tau: float | None) -> str:
    return (
        "(every refit origin: the damping chosen, "
        f"{'none' if tau is None else f'tau {tau:g} h'}, keeps some of Prophet's move)"
    )


@dataclass(frozen=True)
class FetchSettings:
    """The settings fetching and validating a history needs. The data sources' keys are not
    among them: a worker reads those from its own environment."""

    cache_dir: Path
    require_fresh_hours: float | None
    http_connect_timeout: float
    http_read_timeout: float
    http_attempts: int
    fetch_timeout: float
    max_bar_jump: float
    min_rows: int

    @classmethod
    def of(cls, settings: Settings) -> FetchSettings:
        return cls(**{spec.name: getattr(settings, spec.name) for spec in fields(cls)})

    def settings(self) -> Settings:
        """The worker's own settings (its environment: the keys) with these in force."""
        mine = {spec.name: getattr(self, spec.name) for spec in fields(self)}
        return replace(Settings.from_env(), **mine)


@dataclass(frozen=True)
class PairJob:
    """Everything a pair's tasks need to train it."""

    asset: Asset
    interval: str | None  # None: the `csv` file's, read from its timestamps; else the pair's
    since: str  # ISO 8601, UTC unless it says otherwise
    until: str | None  # ISO 8601: train on the bars closed by then only (None: every bar)
    source: str
    csv: Path | None
    fetch: FetchSettings
    backtest: bool
    horizon_days: float
    price: str
    gate: GateRules
    model_version: str
    git_sha: str | None
    log_level: str


@dataclass(frozen=True)
class Needs:
    """What the client needs to know of a fetched pair to drive it: the refit origins (epoch
    seconds) with their fit cache keys, those the damping is chosen on and all of them."""

    damping: tuple[tuple[int, str], ...]
    every: tuple[tuple[int, str], ...]
    steps: int  # each refit's length
    backtest: bool


@dataclass(frozen=True)
class Finished:
    """A trained pair: its artifact's files, encoded, and its report."""

    files: dict[str, bytes]
    report: str
    model_version: str


@dataclass(frozen=True)
class Failed:
    """A task's own verdict on its pair (bad data, too short a history, the gate): returned,
    not raised, so that Dask neither retries the task nor logs it as a worker's error."""

    message: str


@dataclass(frozen=True)
class Done:
    """A task's result (or Failed) and the log records it wrote."""

    value: Any
    records: tuple[logging.LogRecord, ...] = ()


def run(step: str, level: str, *args: Any) -> Done:
    """The task: `cryptopredict.training.steps.<step>(*args)`, the `Done` results of earlier
    tasks among `args` (also inside dicts and lists) replaced by their values; the `cryptopredict`
    log records it writes at `level` and above are kept for the client."""
    failed: list[Failed] = []
    values = [_value(arg, failed) for arg in args]
    if failed:
        return Done(failed[0])
    steps = importlib.import_module(STEPS)
    with _captured(level) as records:
        try:
            value = getattr(steps, step)(*values)
        except steps.FINAL as error:
            value = Failed(str(error))
    return Done(value, tuple(records))


def needs(prepared: Done) -> Done:
    """The task after `prepare`: its small part (the client reads it), with its log."""
    if isinstance(prepared.value, Failed):
        return prepared
    return Done(prepared.value.needs, prepared.records)


def kept(values: dict[int, Any]) -> Done:
    """The task holding fits the client read from its cache (the scheduler keeps its inputs,
    so it can run again wherever)."""
    return Done(values)


def _value(arg: Any, failed: list[Failed]) -> Any:
    if isinstance(arg, Done):
        if isinstance(arg.value, Failed):
            failed.append(arg.value)
        return arg.value
    if isinstance(arg, dict):
        return {key: _value(value, failed) for key, value in arg.items()}
    if isinstance(arg, list):
        return [_value(value, failed) for value in arg]
    return arg


@contextmanager
def _captured(level: str) -> Iterator[list[logging.LogRecord]]:
    records: list[logging.LogRecord] = []
    thread = threading.get_ident()

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.thread == thread:
                record.msg, record.args = record.getMessage(), None
                if record.exc_info:
                    record.exc_text = logging.Formatter().formatException(record.exc_info)
                    record.exc_info = None
                records.append(record)

    logger = logging.getLogger("cryptopredict")
    handler = Keep(level)
    if logger.getEffectiveLevel() > handler.level:
        logger.setLevel(handler.level)
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)


def replay(records: tuple[logging.LogRecord, ...]) -> None:
    """Log a task's records here, as if they had been written here."""
    for record in records:
        logger = logging.getLogger(record.name)
        if logger.isEnabledFor(record.levelno):
            logger.handle(record)
