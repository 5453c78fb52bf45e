"""One display for a training run: each pair's state and what it does now (its task's phase,
as the workers tell it), and one time left the pairs and the run agree on, from the first
second: the workers' start, then the pairs left shared among the workers (`/bitcoin`'s first,
then the cheapest), each at its measured cost at this run's pace; a running pair's, its phases
left at its own pace once told (near or past its end a share of the time since: never 0 nor
frozen). A line when a pair starts a phase; below, on a terminal, a bar (tqdm's) of the time
spent and left; elsewhere, every `LINE_SECONDS`, a line per pair in flight and one for the run.
`training.json` for the API, from the start (into a model directory that exists), then each second.
"""

from __future__ import annotations

import heapq
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from statistics import fmean
from typing import NamedTuple

from tqdm import tqdm

from cryptopredict.artifact.training import (
    TRAINING,
    PairStatus,
    State,
    TrainingStatus,
    clear_status,
    time_left,
    write_status,
)
from cryptopredict.artifact.training import VERSION as STATUS_VERSION
from cryptopredict.assets import BITCOIN
from cryptopredict.training.tasks import BACKTEST, FINAL_STEP, READING, TRAIN, Finished

log = logging.getLogger(__name__)

REDRAW_SECONDS = 1.0
REPORT = "training-report.md"  # in the model directory: each pair's report, this run's
LINE_SECONDS = 15.0  # a pipe's lines while training runs (bar 2 of issue 47: never 30 s silent)
# Measured on two cores (make bench-first-run): a pair's seconds on a worker in each phase by
# its interval (another's: an hour's), and from the run's start to its first task.
PHASE_SECONDS = {
    "1h": {READING: 1.2, BACKTEST: 8.2, FINAL_STEP: 1.9},
    "1d": {READING: 0.2, BACKTEST: 2.5, FINAL_STEP: 0.4},
}
START_SECONDS = 6.0
OVERDUE = 0.2


@dataclass
class Pair:
    slug: str
    interval: str = ""  # its bars': its pace is like that of pairs of the same interval
    measured: float | None = None  # its seconds on a worker when it last trained, if known
    state: State = "waiting"
    phase: str = READING  # what it does now, or does first once a worker takes it
    why: str | None = None  # failed: why
    began: float | None = None  # when its first phase began on a worker
    phase_began: float = 0.0  # when its phase began,
    done: float = 0.0  # the share of it its task last told done,
    told: float | None = None  # and when (None: nothing told yet)
    pace: float | None = None  # its seconds to those measured, in the phases it has done
    seconds: float | None = None  # its task's time on a worker, once ended
    keys: set[str] = field(default_factory=set)  # its tasks running on a worker

    @property
    def active(self) -> bool:
        return self.state in TRAINING

    def phases(self) -> dict[str, float]:
        """Its seconds in each phase as measured: a pair's of its interval, to its own total."""
        phases = PHASE_SECONDS.get(self.interval, PHASE_SECONDS["1h"])
        scale = (self.measured or sum(phases.values())) / sum(phases.values())
        return {phase: seconds * scale for phase, seconds in phases.items()}

    def cost(self) -> float:
        """Its seconds on a worker as measured: its own, else a pair's of its interval."""
        return sum(self.phases().values())

    def paced(self, done: float, now: float) -> None:
        """Its own pace, from the share `done` of its phase (a history's fetch goes at the
        network's: not told)."""
        if self.phase != READING:
            self.pace = (now - self.phase_began) / (done * self.phases()[self.phase])

    def doing(self) -> str:
        if self.state == "running":
            return self.phase
        if self.state == "waiting":
            return f"waiting for a worker (next: {self.phase})"
        return self.phase if self.why is None else f"{self.state}: {self.why}"


class TimeLeft(NamedTuple):
    run: float | None  # seconds left, of the run (None: nothing in flight) and each pair in it
    pairs: dict[str, float]


class RunProgress:
    """What `graph.py` tells of each pair, shown as it comes (thread-safe)."""

    def __init__(
        self,
        intervals: Mapping[str, str],  # each pair's bars' ("": unknown), by slug
        *,
        measured: Mapping[str, float] | None = None,
        out: Path,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        measured = measured or {}
        pairs = [Pair(slug, every, measured.get(slug)) for slug, every in intervals.items()]
        # The run's order: /bitcoin's pair, then the cheapest first.
        first = sorted(pairs, key=lambda pair: (pair.slug != BITCOIN, pair.cost()))
        self.pairs = {pair.slug: pair for pair in first}
        self.out = out
        self.clock = clock
        self.began = clock()
        cores = os.cpu_count() or 1  # the cluster's threads share the work left: as it starts,
        self.workers = 1 if len(pairs) <= cores else cores  # one for a few pairs (cluster.py)
        self.started_at = datetime.now(UTC).replace(microsecond=0)
        self.lock = threading.RLock()
        self.said = clock()  # when its last lines on every pair were written
        self.stopped = threading.Event()
        self.report: Path | None = None  # each pair's report, once one is written
        (out / REPORT).unlink(missing_ok=True)  # the last run's
        self._write_status()  # `make run` starts the API once it is written
        # On a terminal, below the log's lines (each clears its row: `logs.configure`).
        self.bar = tqdm(desc="training:", bar_format="{desc} |{bar}|", leave=False, disable=None)
        self.ticker = threading.Thread(target=self._tick, name="training-progress", daemon=True)
        self.ticker.start()

    def started(self, slug: str, key: str, step: str, done: float = 0.0) -> None:
        """A task of the pair started on a worker, or its next phase (`step`), or told the share
        of that phase `done`."""
        with self.lock:
            pair = self.pairs.get(slug)
            if pair is None or not pair.active:
                return
            pair.keys.add(key)
            pair.state = "running"
            if step == TRAIN:  # the task's own name: its first phase follows
                return
            now = self.clock()
            if step != pair.phase or pair.told is None:
                if pair.told is not None:
                    pair.paced(1.0, now)  # the phase it ends
                pair.phase, pair.phase_began = step, now
                pair.began = now if pair.began is None else pair.began
                log.info("%s: %s", slug, step)
            elif done:
                pair.paced(done, now)
            pair.done, pair.told = done, now

    def ended(self, slug: str, key: str, step: str, seconds: float) -> None:
        with self.lock:
            pair = self.pairs.get(slug)
            if pair is None:
                return
            pair.keys.discard(key)
            pair.seconds = (pair.seconds or 0.0) + seconds
            if pair.active and not pair.keys:
                pair.state = "waiting"  # retried elsewhere, say: its task waits again
                pair.told = None

    def served(self, slug: str, path: Path, finished: Finished) -> None:
        with self.lock:
            pair = self.pairs[slug]
            self._end(pair, "done", None)
            began = pair.began
            took = "" if began is None else f" {self.clock() - began:.0f} s after it started"
            said = f"{slug}: written to {path} (model {finished.model_version}){took}"
            self.report = self.out / REPORT  # its tables in a file, not the terminal
            with self.report.open("a") as file:
                file.write(f"# {slug}\n\n{finished.report.rstrip()}\n\n")
            log.info("%s; its report: %s", said, self.report)
            self._write_status()  # the pairs still training, as the API reads them

    def failed(self, slug: str, why: str) -> None:
        with self.lock:
            self._end(self.pairs[slug], "failed", why)  # the driver says why

    def _end(self, pair: Pair, state: State, why: str | None) -> None:
        pair.state, pair.why = state, why
        pair.keys.clear()

    def close(self) -> None:
        self.stopped.set()
        self.ticker.join()
        self.bar.close()
        with self.lock:
            log.info("%s", _line(self.counted()))  # also when the run ended within a tick
        clear_status(self.out)

    def estimate(self) -> TimeLeft:
        now = self.clock()
        pace = self._pace()  # of this run's pairs done: the waiting ones' seconds at it
        active = [pair for pair in self.pairs.values() if pair.active]
        ends = {pair.slug: self._running(pair, now) for pair in active if pair.state == "running"}
        started = any(pair.state != "waiting" for pair in self.pairs.values())
        workers = max(self.workers, 1)
        start = 0.0 if started else _left(START_SECONDS, now - self.began)
        free = sorted([*ends.values(), *[start] * (workers - len(ends))])[:workers]  # a heap
        for pair in active:  # the run's order: the order they were submitted in
            if pair.state == "waiting":
                ends[pair.slug] = heapq.heappop(free) + pair.cost() * pace
                heapq.heappush(free, ends[pair.slug])
        return TimeLeft(max(ends.values(), default=None), ends)  # none in flight: nothing left

    def _running(self, pair: Pair, now: float) -> float:
        """What is left of a running pair: of its phase since its task last told it, then its
        phases after, at its own pace once known (before its first phase: none spent)."""
        phases, pace = pair.phases(), pair.pace or self._pace()
        after = sum(list(phases.values())[list(phases).index(pair.phase) + 1 :])
        current = phases[pair.phase] * (1 - pair.done)
        return _left(current * pace, now - (pair.told or now)) + after * pace

    def _pace(self) -> float:
        paces = [seconds / self.pairs[slug].cost() for slug, seconds in self.measured().items()]
        return fmean(paces) if paces else 1.0

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
            updated_at=datetime.now(UTC),  # to the microsecond: the API counts down from it
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
        """The bar, or the lines when due; and the status file."""
        with self.lock:
            if not self.bar.disable:
                left, spent = self.estimate().run, self.clock() - self.began
                self.bar.total, self.bar.n = spent + (left or 0.0), spent
                self.bar.set_description_str(_line(self.counted(), left))
            elif self.clock() - self.said >= LINE_SECONDS:
                self.said = self.clock()
                estimate = self.estimate()  # one: the pairs' lines and the run's agree
                for pair in self.pairs.values():
                    if pair.active:
                        said = f"{pair.slug}: {pair.doing()}"
                        log.info("%s", _line(said, estimate.pairs.get(pair.slug)))
                log.info("%s", _line(self.counted(), estimate.run))
            self._write_status()  # each second: the API counts down from it meanwhile

    def counted(self) -> str:
        """'training: 1 of 3 pairs done, 1 running, 1 failed (eth-usd)'."""

        def named(state: State) -> list[str]:
            return [pair.slug for pair in self.pairs.values() if pair.state == state]

        said = f"training: {len(named('done'))} of {len(self.pairs)} pairs done"
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
        if self.out.is_dir():
            write_status(self.out, self.status())

    def _tick(self) -> None:
        while not self.stopped.wait(REDRAW_SECONDS):
            self.tick()


def _line(said: str, seconds: float | None = None) -> str:
    """`said`, with the time left (`seconds`) where there is one to say."""
    left = time_left(seconds)
    return f"{said}, {left}" if left else said


def _left(cost: float, spent: float) -> float:
    """What is left of `cost` after `spent`; near or past its end, a share of `spent`."""
    return max(cost - spent, OVERDUE * spent)
