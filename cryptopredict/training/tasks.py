"""What crosses between the training client and its workers: a pair's job (never a data-source
key), a task's own verdict on its pair (`Failed`), and `run`, which every task calls: it names
the pair on the task's log records and tells the client the task's start, phases and end
(`TASK_EVENTS`). Light on purpose: the client imports it, the training stack only the workers.
"""

from __future__ import annotations

import functools
import importlib
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from distributed import get_worker

from cryptopredict.assets import Asset
from cryptopredict.config import (
    Gate,
    HistoryFetch,
    HistorySettings,
    Jumps,
    Source,
    TrainingSettings,
    WorkerSettings,
)

if TYPE_CHECKING:  # the training stack: the workers import it, the client need not
    from cryptopredict.artifact.schema import BandSpec, ModelConfig
    from cryptopredict.data.history import History
    from cryptopredict.model.backtest import BacktestResult
    from cryptopredict.model.plan import Plan

STEPS = "cryptopredict.training.steps"
TRAIN = "train"  # the step a pair's task runs (`steps.train`), and its phases:
READING = "reading its history"
BACKTEST = "backtest of the served forecast"
FINAL_STEP = "final fit, forecast grid and artifact"
# A task's start and phases ({"pair", "key", "step"}, with the share "done" of a phase) and its
# end (with its "seconds").
TASK_EVENTS = "cryptopredict-tasks"


@dataclass(frozen=True, kw_only=True)
class FetchSettings(Source, HistoryFetch, Jumps):
    """The client's settings a history's fetch reads (a worker reads the keys from its own)."""

    @classmethod
    def of(cls, settings: TrainingSettings) -> FetchSettings:
        return cls(**{spec.name: getattr(settings, spec.name) for spec in fields(cls)})

    def settings(self) -> HistorySettings:
        """These, with the worker's own keys."""
        return HistorySettings(**asdict(self), **asdict(WorkerSettings.from_env()))


@dataclass(frozen=True)
class Fetch:
    interval: str | None  # None: the `csv` file's, read from its timestamps; else the pair's
    since: str  # ISO 8601, UTC unless it says otherwise
    source: str
    csv: Path | None
    settings: FetchSettings
    until: str | None = None  # ISO 8601: train on the bars closed by then only (None: every bar)


@dataclass(frozen=True)
class PairJob:
    """Everything a pair's tasks need; the notebook, tools and tests may also give validated
    bars, another configuration, plan or band (None: the product's)."""

    asset: Asset
    bars: Fetch | History
    gate: Gate  # the training settings' (they are a Gate)
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
    """A trained pair: its artifact's files, its report (and its backtest, when kept; where
    installed, by `graph.train_pair`)."""

    files: dict[str, bytes]
    report: str
    model_version: str
    backtest: BacktestResult | None = None
    path: Path | None = None


@dataclass(frozen=True)
class Failed:
    """A task's own verdict on its pair (bad data, the gate): returned, not raised, so that Dask
    neither retries the task nor logs a worker's error."""

    message: str


def run(step: str, pair: str, level: str, *args: Any) -> Any:
    """`steps.<step>(*args)`, its `cryptopredict` log records from `level` up naming `pair`."""
    steps = importlib.import_module(STEPS)
    with naming(pair, level, step):
        try:
            return getattr(steps, step)(*args)
        except steps.FINAL as error:
            return Failed(str(error))


def phase(step: str, **told: float) -> None:
    """The running task's next phase told to the client, or the share of it `done`, or (its
    `seconds`) its end; nothing outside a worker's task."""
    try:
        worker = get_worker()
    except ValueError:
        return
    pair = getattr(_working_on, "pair", None)
    key = worker.get_current_task()
    if pair is not None and key is not None:
        worker.log_event(TASK_EVENTS, {"pair": pair, "key": str(key), "step": step, **told})


# The pair a worker thread's task trains: its log records carry it (`record.pair`).
_working_on = threading.local()


@contextmanager
def naming(pair: str, level: str, step: str) -> Iterator[None]:
    """`pair` named on this thread's log records meanwhile, and the task's start (`step`) and
    end told to the client."""
    _name_records()
    logging.getLogger("cryptopredict").setLevel(level.upper())
    previous = getattr(_working_on, "pair", None)
    _working_on.pair = pair
    began = time.monotonic()
    phase(step)
    try:
        yield
    finally:
        phase(step, seconds=time.monotonic() - began)
        _working_on.pair = previous


@functools.cache
def _name_records() -> None:
    make = logging.getLogRecordFactory()

    def named(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        pair = getattr(_working_on, "pair", None)
        if pair is not None:
            record.pair = pair
        return record

    logging.setLogRecordFactory(named)
