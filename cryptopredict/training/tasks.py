"""What crosses between the training client and its workers: a pair's job (only the settings
its tasks need, never a data-source key), a task's own verdict on its pair (`Failed`), and
`run`, the one function every task calls, which names the pair on every log record the task
writes and tells the client when the task starts, which phase of it runs (`phase`) and when it
ends on its worker (`TASK_EVENTS`).

This module is light on purpose: the client imports it, not the training stack (pandas,
Prophet), which only the workers load (`steps.py`).
"""

from __future__ import annotations

import functools
import importlib
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from distributed import get_worker

from cryptopredict.assets import Asset
from cryptopredict.config import (
    HistoryFetch,
    HistorySettings,
    Jumps,
    Source,
    TrainingSettings,
    WorkerSettings,
)
from cryptopredict.model.gate import GateRules

if TYPE_CHECKING:  # the training stack: the workers import it, the client need not
    from cryptopredict.artifact.schema import BandSpec
    from cryptopredict.data.history import History
    from cryptopredict.model.backtest import BacktestResult
    from cryptopredict.model.config import ModelConfig
    from cryptopredict.model.plan import Plan

STEPS = "cryptopredict.training.steps"
TRAIN = "train"  # the step a pair's task runs (`steps.train`); its phases follow (`phase`)
# Its phases, in order, as the progress names them.
READING = "reading its history"
BACKTEST = "backtest of the served forecast"
FINAL_STEP = "final fit, forecast grid and artifact"
PHASES = (READING, BACKTEST, FINAL_STEP)
# The workers' events the client follows (`Client.subscribe_topic`): each task of a pair, when
# it starts on a worker and each phase it starts ({"pair", "key", "step"}), and when it ends
# (with its "seconds").
TASK_EVENTS = "cryptopredict-tasks"


@dataclass(frozen=True, kw_only=True)
class FetchSettings(Source, HistoryFetch, Jumps):
    """The client's settings fetching and validating a history reads. The data sources' keys
    are not among them: a worker reads those from its own environment, and nothing else."""

    @classmethod
    def of(cls, settings: TrainingSettings) -> FetchSettings:
        return cls(**_values(settings, cls))

    def settings(self) -> HistorySettings:
        """These, with the worker's own keys (WorkerSettings: all it parses)."""
        return HistorySettings(**_values(self, FetchSettings), **_values(WorkerSettings.from_env()))


def _values(settings: Any, of: type | None = None) -> dict[str, Any]:
    """The fields of `settings` that `of` (or `settings` itself) has."""
    return {spec.name: getattr(settings, spec.name) for spec in fields(of or settings)}


@dataclass(frozen=True)
class Fetch:
    """A pair's bars as a worker fetches and validates them."""

    interval: str | None  # None: the `csv` file's, read from its timestamps; else the pair's
    since: str  # ISO 8601, UTC unless it says otherwise
    source: str
    csv: Path | None
    settings: FetchSettings
    until: str | None = None  # ISO 8601: train on the bars closed by then only (None: every bar)


@dataclass(frozen=True)
class PairJob:
    """Everything a pair's tasks need to train it. `train.py` sets what the product trains
    with; the notebook, the tools and the tests also give bars already validated (nothing is
    fetched), another configuration, backtest plan or band (None: the product's)."""

    asset: Asset
    bars: Fetch | History
    gate: GateRules
    horizon_days: float
    backtest: bool = True
    price: str = "close"
    model_version: str = "dev"
    git_sha: str | None = None
    log_level: str = "INFO"
    config: ModelConfig | None = None  # None: the served configuration (the panel's damping)
    plan: Plan | None = None  # None: the product's plan, Plan()
    band: BandSpec | None = None  # None: the panel's band for the pair's interval


@dataclass(frozen=True)
class Finished:
    """A trained pair: its artifact's files, encoded, and its report (and its backtest, when
    the client asked to keep it)."""

    files: dict[str, bytes]
    report: str
    model_version: str
    backtest: BacktestResult | None = None


@dataclass(frozen=True)
class Failed:
    """A task's own verdict on its pair (bad data, too short a history, the gate): returned,
    not raised, so that Dask neither retries the task nor logs it as a worker's error."""

    message: str


def run(step: str, pair: str, level: str, *args: Any) -> Any:
    """The task: `cryptopredict.training.steps.<step>(*args)`, or the first `Failed` among `args`
    (also inside dicts and lists). Every `cryptopredict` log record it writes at `level` and
    above names `pair` (the client gets them as they are written: `Client.forward_logging`)."""
    failed = _failed(args)
    if failed is not None:
        return failed
    steps = importlib.import_module(STEPS)
    with naming(pair, level), announced(step, pair):
        try:
            return getattr(steps, step)(*args)
        except steps.FINAL as error:
            return Failed(str(error))


@contextmanager
def announced(step: str, pair: str) -> Iterator[None]:
    """The task's start and end, told to the client as `TASK_EVENTS` (nothing outside a
    worker: a step called directly)."""
    try:
        worker = get_worker()
    except ValueError:
        yield
        return
    said = {"pair": pair, "key": str(worker.get_current_task()), "step": step}
    began = time.monotonic()
    worker.log_event(TASK_EVENTS, said)
    try:
        yield
    finally:
        worker.log_event(TASK_EVENTS, {**said, "seconds": time.monotonic() - began})


def phase(step: str) -> None:
    """The running task's next phase (`step`, in words), told to the client as `TASK_EVENTS`
    (nothing outside a worker's task)."""
    try:
        worker = get_worker()
    except ValueError:
        return
    pair = getattr(_working_on, "pair", None)
    key = worker.get_current_task()
    if pair is not None and key is not None:
        worker.log_event(TASK_EVENTS, {"pair": pair, "key": str(key), "step": step})


def _failed(value: Any) -> Failed | None:
    if isinstance(value, Failed):
        return value
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list | tuple):
        return next((found for item in value if (found := _failed(item)) is not None), None)
    return None


# The pair a worker thread's task trains: every log record written meanwhile carries it
# (`record.pair`), and `cryptopredict.logs` puts it at the head of the line.
_working_on = threading.local()


@contextmanager
def naming(pair: str, level: str) -> Iterator[None]:
    _name_records()
    logger = logging.getLogger("cryptopredict")
    logger.setLevel(level.upper())
    previous = getattr(_working_on, "pair", None)
    _working_on.pair = pair
    try:
        yield
    finally:
        _working_on.pair = previous


@functools.cache
def _name_records() -> None:
    """Once per process: records made while a task names its pair carry it."""
    make = logging.getLogRecordFactory()

    def named(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        pair = getattr(_working_on, "pair", None)
        if pair is not None:
            record.pair = pair
        return record

    logging.setLogRecordFactory(named)
