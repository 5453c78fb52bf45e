"""One display for a training run: each pair's state and what it does now (its task's phase on a
worker, as the workers tell it), and one time left the pairs and the run agree on: the pairs
left in the cluster's order, each at its measured pace (`run.json`), else at the mean of this
run's pairs of its interval, shared among the workers; a running pair without one (or past it),
its phases left at the pace of its own phases ended, in the proportions of this run's pairs
done; else unknown (not 0 s), and for whatever waits behind it.

On a terminal, tqdm's bars (the run's and each running pair's) with log lines above; elsewhere
log lines: one when a pair starts a phase, and every `LINE_SECONDS` one per pair in flight and
one for the run. With a model directory, `training.json` says the same to the API.
"""

from __future__ import annotations

import heapq
import logging
import math
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from statistics import fmean
from typing import IO

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from cryptopredict.artifact.training import (
    HEARTBEAT_SECONDS,
    TRAINING,
    PairStatus,
    State,
    TrainingStatus,
    clear_status,
    time_left,
    write_status,
)
from cryptopredict.artifact.training import VERSION as STATUS_VERSION
from cryptopredict.training.tasks import READING, TRAIN, Finished

log = logging.getLogger(__name__)

REDRAW_SECONDS = 1.0
REPORT = "training-report.md"  # in the model directory: each pair's report, this run's
LINE_SECONDS = 15.0  # a pipe's lines while training runs (bar 2 of issue 47: never 30 s silent)


@dataclass
class Pair:
    slug: str
    interval: str = ""  # its bars': its pace is like that of pairs of the same interval
    measured: float | None = None  # its seconds on a worker when it last trained, if known
    state: State = "waiting"
    phase: str = READING  # what it does now, or does first once a worker takes it
    why: str | None = None  # failed: why
    steps: dict[str, float] = field(default_factory=dict)  # when each phase began on a worker
    spans: dict[str, float] = field(default_factory=dict)  # done: each phase's seconds
    seconds: float | None = None  # its task's time on a worker, once ended
    keys: set[str] = field(default_factory=set)  # its tasks running on a worker

    @property
    def active(self) -> bool:
        return self.state in TRAINING

    def doing(self) -> str:
        if self.state == "running":
            return self.phase
        if self.state == "waiting":
            return f"waiting for a worker (next: {self.phase})"
        return self.phase if self.why is None else f"{self.state}: {self.why}"


@dataclass(frozen=True)
class TimeLeft:
    """Seconds left, of the run and of each pair in flight (None, or absent: not known)."""

    run: float | None
    pairs: dict[str, float]


class RunProgress:
    """What `graph.py` tells of each pair, shown as it comes (thread-safe)."""

    def __init__(
        self,
        slugs: Sequence[str],
        *,
        intervals: Mapping[str, str] | None = None,
        measured: Mapping[str, float] | None = None,
        out: Path | None = None,
        stream: IO[str] | None = None,
        terminal: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        intervals, measured = intervals or {}, measured or {}
        self.pairs = {
            slug: Pair(slug, intervals.get(slug, ""), measured.get(slug)) for slug in slugs
        }
        self.out = out
        self.clock = clock
        self.workers = 1  # threads of the cluster, which share the work left
        self.started_at = datetime.now(UTC).replace(microsecond=0)
        self.lock = threading.RLock()
        self.stream = stream or sys.stderr
        self.terminal = sized_terminal(self.stream) if terminal is None else terminal
        # On a terminal, bars: the run's, and one for each pair in flight (no-ops elsewhere).
        self.top = tqdm(
            total=len(slugs), file=self.stream, dynamic_ncols=True, position=0, leave=True,
            bar_format="{desc} |{bar}| {n}/{total} pairs{postfix}", disable=not self.terminal,
        )  # fmt: skip
        self.bars: dict[str, tqdm] = {}
        self.said = clock()  # in a pipe: when its last lines on every pair were written
        self.stopped = threading.Event()
        self.dirty = True
        self.written = -HEARTBEAT_SECONDS
        self.report: Path | None = None  # each pair's report, once one is written
        if out is not None:
            (out / REPORT).unlink(missing_ok=True)  # the last run's
        self.ticker = threading.Thread(target=self._tick, name="training-progress", daemon=True)
        self.ticker.start()

    def started(self, slug: str, key: str, step: str) -> None:
        """A task of the pair started on a worker, or its next phase (`step`)."""
        with self.lock:
            pair = self.pairs.get(slug)
            if pair is None or not pair.active:
                return
            pair.keys.add(key)
            pair.state = "running"
            if step != TRAIN:  # the task's own name: its first phase follows
                pair.phase = step
                pair.steps.setdefault(step, self.clock())
                if not self.terminal:
                    self._write([f"{slug}: {step}"])
                elif slug not in self.bars:
                    self.bars[slug] = tqdm(
                        file=self.stream, dynamic_ncols=True, leave=False, bar_format="  {desc}"
                    )
            self.dirty = True

    def ended(self, slug: str, key: str, step: str, seconds: float) -> None:
        with self.lock:
            pair = self.pairs.get(slug)
            if pair is None:
                return
            pair.keys.discard(key)
            pair.seconds = (pair.seconds or 0.0) + seconds
            if pair.active and not pair.keys:
                pair.state = "waiting"  # retried elsewhere, say: its task waits again
            self.dirty = True

    def served(self, slug: str, path: Path, finished: Finished) -> None:
        with self.lock:
            pair = self.pairs[slug]
            self._end(pair, "done", None)
            ends = [*pair.steps.values(), self.clock()]
            pair.spans = {step: ends[n + 1] - ends[n] for n, step in enumerate(pair.steps)}
            began = next(iter(pair.steps.values()), None)
            took = "" if began is None else f" {self.clock() - began:.0f} s after it started"
            said = f"{slug}: written to {path} (model {finished.model_version}){took}"
            if self.out is None:
                self._write([*(f"{slug}: {line}" for line in finished.report.splitlines()), said])
            else:  # the report's tables in a file, not the terminal
                self.report = self.out / REPORT
                with self.report.open("a") as file:
                    file.write(f"# {slug}\n\n{finished.report.rstrip()}\n\n")
                self._write([f"{said}; its report: {self.report}"])
            self._close_bar(slug)
            self._write_status()  # the pairs still training, as the API reads them

    def failed(self, slug: str, why: str) -> None:
        with self.lock:
            self._end(self.pairs[slug], "failed", why)
            self._close_bar(slug)  # the driver says why

    def _end(self, pair: Pair, state: State, why: str | None) -> None:
        pair.state, pair.why = state, why
        pair.keys.clear()
        self.dirty = True

    def say(self, text: str) -> None:
        """A line of its own (the server's), above the display on a terminal."""
        with self.lock:
            tqdm.write(text.rstrip("\n"), file=self.stream)

    def _write(self, lines: list[str]) -> None:
        """Lines above the bars on a terminal, log lines elsewhere."""
        for line in lines:
            if self.terminal:
                tqdm.write(line, file=self.stream)
            else:
                log.info("%s", line)

    def _close_bar(self, slug: str) -> None:
        if (bar := self.bars.pop(slug, None)) is not None:
            bar.close()

    def close(self) -> None:
        self.stopped.set()
        self.ticker.join()
        with self.lock:
            if self.terminal:
                for slug in list(self.bars):
                    self._close_bar(slug)
                self._draw()
                self.top.close()
            else:
                self._write([self._run_line(None)])  # also when the run ended within a tick
        if self.out is not None:
            clear_status(self.out)

    @contextmanager
    def shown(self) -> Iterator[RunProgress]:
        # Every logger's lines above the bars: the root's, and those with handlers of their own
        # (Dask's, Tornado's), which wrote into the bar being drawn.
        loggers = [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)]
        own = [logger for logger in loggers if logger.handlers and not logger.propagate]
        with logging_redirect_tqdm([logging.root, *own]) if self.terminal else nullcontext():
            try:
                yield self
            finally:
                self.close()

    def estimate(self) -> TimeLeft:
        now = self.clock()
        active = [pair for pair in self.pairs.values() if pair.active]
        ends = {  # math.inf: not known
            pair.slug: self._running_left(pair, now) for pair in active if pair.state == "running"
        }
        workers = max(self.workers, 1)
        free = sorted([*ends.values(), *[0.0] * (workers - len(ends))])[:workers]  # a heap
        for pair in active:  # the run's order: the order they were submitted in
            if pair.state == "waiting":
                cost = self._cost(pair)
                ends[pair.slug] = heapq.heappop(free) + (math.inf if cost is None else cost)
                heapq.heappush(free, ends[pair.slug])
        run = max(ends.values(), default=math.inf)  # none in flight: nothing left to time
        known = {slug: end for slug, end in ends.items() if end < math.inf}
        return TimeLeft(run if run < math.inf else None, known)

    def _running_left(self, pair: Pair, now: float) -> float:
        """At its pace (`_cost`); else its phases left at the pace of those it ended, in the
        proportions of the pairs done that ended those too; math.inf: not known."""
        left = _left(self._cost(pair), now - next(iter(pair.steps.values()), now))
        *ended, current = pair.steps or {"": now}
        alike = [done.spans for done in self.pairs.values() if set(ended) <= done.spans.keys()]
        before = sum(spans[step] for spans in alike for step in ended)
        after = sum(sum(spans.values()) for spans in alike) - before
        if left < math.inf or not before:
            return left
        spent = pair.steps[current] - pair.steps[ended[0]]
        return _left(after / before * spent, now - pair.steps[current])

    def _cost(self, pair: Pair) -> float | None:
        """Its seconds on a worker: its own measure, else its interval's in this run."""
        if pair.measured is not None:
            return pair.measured
        alike = [
            done.seconds
            for done in self.pairs.values()
            if done.state == "done" and done.interval == pair.interval and done.seconds
        ]
        return fmean(alike) if alike else None

    def measured(self) -> dict[str, float]:
        """The seconds on a worker of each pair done in this run."""
        return {
            pair.slug: round(pair.seconds, 1)
            for pair in self.pairs.values()
            if pair.state == "done" and pair.seconds is not None
        }

    def status(self) -> TrainingStatus:
        estimate = self.estimate()
        return TrainingStatus(
            version=STATUS_VERSION,
            started_at=self.started_at,
            updated_at=datetime.now(UTC).replace(microsecond=0),
            eta_seconds=estimate.run,
            pairs=tuple(
                PairStatus(
                    asset=pair.slug,
                    state=pair.state,
                    step=pair.doing() if pair.active else pair.phase,
                    why=pair.why,
                    eta_seconds=estimate.pairs.get(pair.slug) if pair.active else None,
                )
                for pair in self.pairs.values()
            ),
        )

    def tick(self) -> None:
        """Redraw (or a pipe's lines), and the status file, when due."""
        with self.lock:
            if self.terminal:
                self._draw()
            elif self.clock() - self.said >= LINE_SECONDS:
                self.said = self.clock()
                estimate = self.estimate()  # one: the pairs' lines and the run's agree
                active = [self._line(pair, estimate) for pair in self.pairs.values() if pair.active]
                self._write([*active, self._run_line(estimate)])
            if self.dirty or self.clock() - self.written >= HEARTBEAT_SECONDS:
                self._write_status()

    def _draw(self) -> None:
        estimate = self.estimate()
        self.top.set_description_str(f"training: {self.counted()}", refresh=False)
        self.top.total = len(self.pairs)
        self.top.n = sum(1 for pair in self.pairs.values() if not pair.active)
        self.top.set_postfix_str(time_left(estimate.run), refresh=False)
        self.top.refresh()
        for slug, bar in self.bars.items():
            bar.set_description_str(self._line(self.pairs[slug], estimate))

    @staticmethod
    def _line(pair: Pair, estimate: TimeLeft) -> str:
        return _joined(f"{pair.slug}: {pair.doing()}", time_left(estimate.pairs.get(pair.slug)))

    def _run_line(self, estimate: TimeLeft | None) -> str:
        """The run: its pairs by state; with `estimate`, its time left."""
        return _joined(f"training: {self.counted()}", time_left(estimate.run if estimate else None))

    def counted(self) -> str:
        """'1 of 3 pairs done, 1 running, 1 failed (eth-usd)'."""

        def named(state: State) -> list[str]:
            return [pair.slug for pair in self.pairs.values() if pair.state == state]

        said = f"{len(named('done'))} of {len(self.pairs)} pairs done"
        if running := named("running"):
            said += f", {len(running)} running"
        if waiting := named("waiting"):
            said += f", {len(waiting)} waiting for a worker"
        if failed := named("failed"):
            said += f", {len(failed)} failed ({', '.join(failed)})"
        return said

    def _write_status(self) -> None:
        # Into a model directory that exists (training makes it with its first artifact): a
        # run that writes no artifact leaves nothing behind.
        if self.out is not None and self.out.is_dir():
            write_status(self.out, self.status())
            self.written, self.dirty = self.clock(), False

    def _tick(self) -> None:
        while not self.stopped.wait(REDRAW_SECONDS):
            self.tick()


def sized_terminal(stream: IO[str]) -> bool:
    """A terminal that says how wide it is (a bare pseudo-terminal of some CI runners says 0)."""
    try:
        return stream.isatty() and os.get_terminal_size(stream.fileno()).columns > 0
    except (OSError, ValueError):
        return False


def _joined(said: str, left: str) -> str:
    return f"{said}, {left}" if left else said


def _left(cost: float | None, spent: float) -> float:
    """What is left of `cost` after `spent`; math.inf when not known, or spent past it."""
    left = math.inf if cost is None else cost - spent
    return left if left > 0 else math.inf
