"""One display for a training run: every pair, what it is doing now (a task of it running on a
worker, or waiting for one), its Prophet fits (the backtest's refits, then the final fit), and
one estimate of the time left that the pairs and the run agree on.

Each pair is in one state (`cryptopredict.artifact.training.State`): waiting, running, done,
failed (with why) or quick (its quick model served, its backtest not done, with why). What
runs comes from the workers themselves: each task says when it starts and ends
(`tasks.announced`), so a pair whose tasks wait behind another pair's is shown waiting, never
stuck on a step that does not move.

The time left is the work left, queued in the order the cluster runs it: each pair's fits left
at its own cost per fit (the seconds its refits took on a worker), the fits already handed to
the cluster in the order they were handed (Dask runs the earlier first), then those to come,
shared among the workers. A pair's time left is when its last fit should end; the run's is when
the last pair's should, so it is never below a pair's.

On a terminal it is redrawn in place (tqdm: a bar for the run and one for each pair in flight)
and log lines are written above it (`progress_views.py`). Anywhere else (a pipe, a file, CI's
log) it is plain log lines: one when a pair changes step, and every `LINE_SECONDS` while
training runs one for each pair in flight and one for the run, so such a log never goes 30
seconds without a line, and every line about a pair starts with its name. With a model
directory, `training.json` there says the same to the API (`/healthz`, `/assets`, the
dashboard) while the run lasts.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
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
    Served,
    State,
    TrainingStatus,
    clear_status,
    write_status,
)
from cryptopredict.artifact.training import VERSION as STATUS_VERSION
from cryptopredict.training.progress_views import LineView, TerminalView, View, sized_terminal
from cryptopredict.training.tasks import Finished

REDRAW_SECONDS = 1.0
COSTS_KEPT = 20  # a pair's cost per fit: the mean of its last fits on a worker

# A task's step (`steps.py`), as a pair's line says it while the task runs.
RUNNING = {
    "prepare": "reading its history",
    "quick": "making its quick model",
    "damping": "choosing the damping",
    "finish": "final fit, forecast grid and artifact",
    "backtest": "backtest scores",
}
REFIT = "refit"


def progress(total: int, description: str, unit: str, *, position: int = 0) -> tqdm:
    """A plain tqdm bar for a long loop of one process (tools/compare.py's configurations)."""
    terminal = sys.stderr.isatty()
    return tqdm(
        total=total,
        desc=description,
        unit=unit,
        file=sys.stderr,
        mininterval=0.5 if terminal else 30.0,
        leave=position == 0,
        position=position,
        dynamic_ncols=terminal,
    )


@dataclass
class Pair:
    slug: str
    state: State = "waiting"
    phase: str = "reading its history"  # what it is working towards, as the driver said
    why: str | None = None  # failed or quick: why
    done: int = 0
    total: int = 0
    served: Served | None = None
    began: float = 0.0
    running: dict[str, str] = field(default_factory=dict)  # its tasks on a worker: key: step
    batches: deque[list[float]] = field(default_factory=deque)  # fits handed: [when, left]
    costs: deque[float] = field(default_factory=lambda: deque(maxlen=COSTS_KEPT))

    @property
    def active(self) -> bool:
        return self.state in TRAINING

    @property
    def queued(self) -> int:
        """Fits handed to the cluster and not done yet."""
        return int(sum(left for _, left in self.batches))

    def doing(self) -> str:
        """What it does now, in words: its running tasks' steps, or what it waits for."""
        if self.state == "running":
            steps = dict.fromkeys(self.running.values())  # each once, in the order they began
            words = (self.phase if step == REFIT else RUNNING.get(step, step) for step in steps)
            return ", ".join(words)
        if self.state == "waiting":
            return f"waiting for a worker (next: {self.phase})"
        return self.phase if self.why is None else f"{self.state}: {self.why}"


@dataclass(frozen=True)
class Estimate:
    """Seconds left, for the run and for each pair in flight (None: not known yet)."""

    run: float | None
    pairs: dict[str, float]

    def of(self, pair: Pair) -> float | None:
        return self.pairs.get(pair.slug) if self.run is not None else None


class RunProgress:
    """What `graph.py` (and the workers, through it) tell of each pair, shown as it comes
    (thread-safe)."""

    def __init__(
        self,
        slugs: Sequence[str],
        *,
        out: Path | None = None,
        stream: IO[str] | None = None,
        terminal: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pairs = {slug: Pair(slug) for slug in slugs}
        self.out = out
        self.clock = clock
        self.workers = 1  # threads of the cluster, which share the work left
        self.started_at = datetime.now(UTC).replace(microsecond=0)
        self.lock = threading.RLock()
        stream = stream or sys.stderr
        terminal = sized_terminal(stream) if terminal is None else terminal
        self.view: View = TerminalView(self, stream) if terminal else LineView(self)
        self.stopped = threading.Event()
        self.dirty = True
        self.written = -HEARTBEAT_SECONDS
        self.on_written: Callable[[], None] = lambda: None  # after each artifact written
        self.ticker = threading.Thread(target=self._tick, name="training-progress", daemon=True)
        self.ticker.start()

    # What the driver says.

    def step(self, slug: str, text: str) -> None:
        """The pair's phase: what it works towards now (said in a line of its own)."""
        with self.lock:
            pair = self.pairs[slug]
            if not pair.began:
                pair.began = self.clock()
            pair.phase = text
            self.dirty = True
            self.view.stepped(pair)

    def planned(self, slug: str, fits: int) -> None:
        """All the fits the pair needs, as far as known now (refits that turn out not to be
        needed leave the total; none is added later)."""
        with self.lock:
            self.pairs[slug].total = fits
            self.dirty = True

    def queued(self, slug: str, fits: int) -> None:
        """`fits` of the pair's handed to the cluster now, behind those handed before."""
        with self.lock:
            if fits:
                self.pairs[slug].batches.append([self.clock(), fits])
                self.dirty = True

    def fitted(self, slug: str) -> None:
        with self.lock:
            pair = self.pairs[slug]
            pair.done += 1
            _take(pair.batches)
            self.dirty = True

    def started(self, slug: str, key: str, step: str) -> None:
        """A task of the pair started on a worker."""
        with self.lock:
            pair = self.pairs.get(slug)
            if pair is None or not pair.active:
                return
            pair.running[key] = step
            pair.state = "running"
            self.dirty = True

    def ended(self, slug: str, key: str, step: str, seconds: float) -> None:
        """A task of the pair ended on a worker, after `seconds`."""
        with self.lock:
            pair = self.pairs.get(slug)
            if pair is None:
                return
            pair.running.pop(key, None)
            if step == REFIT:
                pair.costs.append(seconds)
            if pair.active:
                pair.state = "running" if pair.running else "waiting"
            self.dirty = True

    def served(self, slug: str, kind: Served, path: Path, finished: Finished) -> None:
        with self.lock:
            pair = self.pairs[slug]
            pair.served = kind
            if kind == "backtested":  # its final model: done (the quick one: still training)
                self._end(pair, "done", None)
                pair.done = pair.total  # the final fit
            self.view.served(pair, _served_lines(pair, path, finished, self.clock()))
        self.on_written()

    def failed(self, slug: str, why: str) -> None:
        with self.lock:
            pair = self.pairs[slug]
            self._end(pair, "failed", why)
            self.view.ended(pair)

    def quick(self, slug: str, why: str) -> None:
        """The run ends for the pair with its quick model served, its backtest not done."""
        with self.lock:
            pair = self.pairs[slug]
            self._end(pair, "quick", why)
            self.view.ended(pair)

    def _end(self, pair: Pair, state: State, why: str | None) -> None:
        pair.state, pair.why = state, why
        pair.running.clear()
        pair.batches.clear()
        self.dirty = True

    def say(self, text: str) -> None:
        """A line of its own (the server's, say), above the display on a terminal."""
        with self.lock:
            self.view.say(text)

    def close(self) -> None:
        self.stopped.set()
        self.ticker.join()
        with self.lock:
            self.view.close()
        if self.out is not None:
            clear_status(self.out)

    @contextmanager
    def shown(self) -> Iterator[RunProgress]:
        """The display for the length of a block (log lines above it on a terminal)."""
        with ExitStack() as stack:
            if isinstance(self.view, TerminalView):
                stack.enter_context(logging_redirect_tqdm())
            try:
                yield self
            finally:
                self.close()

    # What is said of it.

    def estimate(self) -> Estimate:
        """The time left: the work left in the order the cluster runs it (the module's doc)."""
        active = [pair for pair in self.pairs.values() if pair.active]
        measured = [cost for pair in self.pairs.values() for cost in pair.costs]
        totals = [pair.total for pair in self.pairs.values() if pair.total]
        if not measured or not totals:
            return Estimate(None, {})
        typical_total = fmean(totals)
        work: list[tuple[tuple[int, float], str, float]] = []  # (order, pair, worker seconds)
        for place, pair in enumerate(active):
            cost = fmean(pair.costs) if pair.costs else fmean(measured)
            queued = pair.queued
            later = max(pair.total - pair.done - queued, 0) if pair.total else typical_total
            if queued:
                work.append(((0, pair.batches[0][0]), pair.slug, queued * cost))
            if later:
                work.append(((1, place), pair.slug, later * cost))
        elapsed, ends = 0.0, dict.fromkeys((pair.slug for pair in active), 0.0)
        for _, slug, seconds in sorted(work, key=lambda item: item[0]):
            elapsed += seconds / max(self.workers, 1)
            ends[slug] = elapsed
        return Estimate(elapsed, ends)

    def fits(self) -> tuple[int, int]:
        """Fits done and planned, of every pair."""
        pairs = self.pairs.values()
        return sum(pair.done for pair in pairs), sum(pair.total for pair in pairs)

    def status(self) -> TrainingStatus:
        now = datetime.now(UTC).replace(microsecond=0)
        estimate = self.estimate()
        return TrainingStatus(
            version=STATUS_VERSION,
            started_at=self.started_at,
            updated_at=now,
            eta_seconds=estimate.run,
            pairs=tuple(
                PairStatus(
                    asset=pair.slug,
                    state=pair.state,
                    step=pair.doing() if pair.active else pair.phase,
                    why=pair.why,
                    fits_done=pair.done,
                    fits_total=pair.total,
                    served=pair.served,
                    eta_seconds=estimate.of(pair) if pair.active else None,
                )
                for pair in self.pairs.values()
            ),
        )

    def tick(self) -> None:
        """Redraw (or write the lines a pipe is due), and the status file when due."""
        with self.lock:
            self.view.tick()
            now = self.clock()
            due = self.dirty or now - self.written >= HEARTBEAT_SECONDS
            # Into a model directory that exists (training makes it with its first artifact):
            # a run that writes no artifact leaves nothing behind.
            if self.out is not None and due and self.out.is_dir():
                write_status(self.out, self.status())
                self.written, self.dirty = now, False

    def _tick(self) -> None:
        while not self.stopped.wait(REDRAW_SECONDS):
            self.tick()


def _take(batches: deque[list[float]]) -> None:
    """One fit done: off the earliest batch handed (the cluster runs those first)."""
    if batches:
        batches[0][1] -= 1
        if batches[0][1] <= 0:
            batches.popleft()


def _served_lines(pair: Pair, path: Path, finished: Finished, now: float) -> list[str]:
    if pair.served == "quick":
        return [
            f"{pair.slug}: quick model written to {path}: served now (the last close and the "
            "panel's band, not yet backtested) until its backtested model is written"
        ]
    return [
        *(f"{pair.slug}: {line}" for line in finished.report.splitlines()),
        f"{pair.slug}: written to {path} (model {finished.model_version}) "
        f"{now - pair.began:.0f} s after it started",
    ]
