"""One display for a training run: every pair, and inside each its step and its Prophet fits
(the backtest's refits, then the final fit), with the time left estimated from the run's pace.

On a terminal it is redrawn in place (tqdm: a bar for the run and one for each pair in flight)
and log lines are written above it. Anywhere else (a pipe, a file, CI's log) it is plain log
lines: one when a pair changes step, and every `LINE_SECONDS` while training runs one for each
pair in flight and one for the run, so such a log never goes 30 seconds without a line, and
every line about a pair starts with its name. With a model directory, `training.json` there
says the same to the API (`/healthz`, `/assets`, the dashboard) while the run lasts.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from cryptopredict.artifact.training import (
    HEARTBEAT_SECONDS,
    PairStatus,
    Served,
    State,
    TrainingStatus,
    clear_status,
    write_status,
)
from cryptopredict.artifact.training import VERSION as STATUS_VERSION
from cryptopredict.training.tasks import Finished

log = logging.getLogger(__name__)

LINE_SECONDS = 15.0  # a pipe's lines while training runs (bar 2 of issue 47: never 30 s silent)
REDRAW_SECONDS = 1.0
PACE_SECONDS = 600.0  # the pace is the fits of the last ten minutes


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
    step: str = "waiting for a worker"
    done: int = 0
    total: int = 0
    served: Served | None = None
    began: float = 0.0
    why: str | None = None  # why it ended on its quick model (`budget.DEFERRED`)

    @property
    def active(self) -> bool:
        return self.state == "training"


class RunProgress:
    """What `graph.py` tells of each pair, shown as it comes (thread-safe)."""

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
        self.started_at = datetime.now(UTC).replace(microsecond=0)
        self.fit_times: deque[float] = deque()
        self.lock = threading.RLock()
        stream = stream or sys.stderr
        terminal = _sized_terminal(stream) if terminal is None else terminal
        self.view: View = TerminalView(self, stream) if terminal else LineView(self)
        self.stopped = threading.Event()
        self.dirty = True
        self.written = -HEARTBEAT_SECONDS
        self.on_written: Callable[[], None] = lambda: None  # after each artifact written
        self.ticker = threading.Thread(target=self._tick, name="training-progress", daemon=True)
        self.ticker.start()

    # What the driver says.

    def step(self, slug: str, text: str) -> None:
        with self.lock:
            pair = self.pairs[slug]
            if pair.state == "waiting":
                pair.state = "training"
                pair.began = self.clock()
            pair.step = text
            self.dirty = True
            self.view.stepped(pair)

    def planned(self, slug: str, fits: int) -> None:
        with self.lock:
            self.pairs[slug].total += fits
            self.dirty = True

    def fitted(self, slug: str) -> None:
        with self.lock:
            self.pairs[slug].done += 1
            self.fit_times.append(self.clock())
            self.dirty = True

    def served(self, slug: str, kind: Served, path: Path, finished: Finished) -> None:
        with self.lock:
            pair = self.pairs[slug]
            pair.served = kind
            if kind == "backtested":  # its final model: done (the quick one: still training)
                pair.state = "served"
                pair.done = pair.total  # the final fit
                self.fit_times.append(self.clock())
            self.dirty = True
            self.view.served(pair, _served_lines(pair, path, finished, self.clock()))
        self.on_written()

    def waiting(self, slug: str, text: str) -> None:
        """The pair waits its turn (its backtest, after every pair's quick model)."""
        with self.lock:
            pair = self.pairs[slug]
            pair.state, pair.step = "waiting", text
            self.dirty = True
            self.view.stepped(pair)

    def deferred(self, slug: str, why: str) -> None:
        """The run ends with the pair served its quick model, not backtested."""
        with self.lock:
            pair = self.pairs[slug]
            pair.state, pair.step, pair.why = "served", f"quick model served: {why}", why
            self.dirty = True
            self.view.stepped(pair)
            self.view.ended(pair)

    def failed(self, slug: str, why: str) -> None:
        with self.lock:
            pair = self.pairs[slug]
            pair.state = "failed"
            pair.step = f"failed: {why}"
            self.dirty = True
            self.view.ended(pair)

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

    # Estimates.

    def pace(self) -> float | None:
        """Fits per second over the last PACE_SECONDS; None before two fits."""
        now = self.clock()
        while self.fit_times and now - self.fit_times[0] > PACE_SECONDS:
            self.fit_times.popleft()
        if len(self.fit_times) < 2:
            return None
        span = max(now - self.fit_times[0], 1e-9)
        return (len(self.fit_times) - 1) / span

    def remaining(self) -> float | None:
        """Fits left in all: those planned, and for each pair not planned yet the mean of those
        planned; None while no pair is planned."""
        planned = [pair for pair in self.pairs.values() if pair.total]
        if not planned:
            return None
        mean = sum(pair.total for pair in planned) / len(planned)
        left = 0.0
        for pair in self.pairs.values():
            if pair.state in ("waiting", "training"):
                left += pair.total - pair.done if pair.total else mean
        return left

    def eta(self) -> float | None:
        pace, left = self.pace(), self.remaining()
        return None if pace is None or left is None else left / pace

    def pair_eta(self, pair: Pair) -> float | None:
        """The pair's fits left at its share of the pace (pairs in flight share the workers)."""
        pace = self.pace()
        if pace is None or not pair.total:
            return None
        sharing = max(1, sum(1 for each in self.pairs.values() if each.active))
        return (pair.total - pair.done) / (pace / sharing)

    def counts(self) -> tuple[int, int, int]:
        """Pairs with their final model (backtested), fits done and planned."""
        final = sum(1 for pair in self.pairs.values() if pair.state == "served" and not pair.why)
        done = sum(pair.done for pair in self.pairs.values())
        return final, done, sum(pair.total for pair in self.pairs.values())

    def status(self) -> TrainingStatus:
        now = datetime.now(UTC).replace(microsecond=0)
        return TrainingStatus(
            version=STATUS_VERSION,
            started_at=self.started_at,
            updated_at=now,
            eta_seconds=self.eta(),
            pairs=tuple(
                PairStatus(
                    asset=pair.slug,
                    state=pair.state,
                    step=pair.step,
                    fits_done=pair.done,
                    fits_total=pair.total,
                    served=pair.served,
                    eta_seconds=self.pair_eta(pair) if pair.active else None,
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


def _sized_terminal(stream: IO[str]) -> bool:
    """A terminal that says how wide it is (a bare pseudo-terminal, as some CI runners give,
    says 0: bars cannot be drawn there, lines are written instead)."""
    try:
        return stream.isatty() and os.get_terminal_size(stream.fileno()).columns > 0
    except (OSError, ValueError):
        return False


def time_left(seconds: float | None) -> str:
    if seconds is None:
        return "time left not known yet"
    if seconds < 90:
        return "about a minute left"
    if seconds < 90 * 60:
        return f"about {round(seconds / 60)} min left"
    return f"about {seconds / 3600:.1f} h left"


class View:
    def stepped(self, pair: Pair) -> None: ...
    def served(self, pair: Pair, lines: list[str]) -> None: ...
    def ended(self, pair: Pair) -> None: ...
    def say(self, text: str) -> None: ...
    def tick(self) -> None: ...
    def close(self) -> None: ...


def _pair_line(run: RunProgress, pair: Pair) -> str:
    fits = (
        f": {pair.done} of {pair.total} fits, {time_left(run.pair_eta(pair))}" if pair.total else ""
    )
    return f"{pair.slug}: {pair.step}{fits}"


def _run_line(run: RunProgress) -> str:
    final, done, total = run.counts()
    quick = [p.slug for p in run.pairs.values() if p.active and p.served == "quick"]
    meanwhile = f" ({', '.join(quick)}: the quick model meanwhile)" if quick else ""
    said = f"training: {final} of {len(run.pairs)} pairs done{meanwhile}"
    if not total:
        return f"{said}; reading the histories"
    return f"{said}; {done} of {total} fits planned so far, {time_left(run.eta())}"


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


def _quick(run: RunProgress) -> str:
    """The pairs that end the run on their quick model, counted by why."""
    whys: dict[str, int] = {}
    for pair in run.pairs.values():
        if pair.why:
            whys[pair.why] = whys.get(pair.why, 0) + 1
    said = "; ".join(f"{count} served their quick model ({why})" for why, count in whys.items())
    return f"; {said}" if said else ""


class LineView(View):
    """Plain lines, for a pipe, a file or CI's log."""

    def __init__(self, run: RunProgress) -> None:
        self.run = run
        self.last = run.clock()

    def _write(self, lines: list[str]) -> None:
        for line in lines:
            log.info("%s", line)
        self.last = self.run.clock()

    def stepped(self, pair: Pair) -> None:
        self._write([f"{pair.slug}: {pair.step}"])

    def served(self, pair: Pair, lines: list[str]) -> None:
        self._write(lines)

    def ended(self, pair: Pair) -> None:
        pass  # the driver logs why, naming the pair

    def say(self, text: str) -> None:
        sys.stderr.write(text if text.endswith("\n") else f"{text}\n")
        sys.stderr.flush()

    def tick(self) -> None:
        if self.run.clock() - self.last < LINE_SECONDS:
            return
        active = [pair for pair in self.run.pairs.values() if pair.active]
        self._write([*(_pair_line(self.run, pair) for pair in active), _run_line(self.run)])

    def close(self) -> None:
        final, _, _ = self.run.counts()  # the run's count, also when it ended within a tick
        self._write([f"training: {final} of {len(self.run.pairs)} pairs done{_quick(self.run)}"])


class TerminalView(View):
    """Bars redrawn in place: the run's, and one for each pair in flight."""

    def __init__(self, run: RunProgress, stream: IO[str]) -> None:
        self.run = run
        self.stream = stream
        self.top = tqdm(
            total=0, file=stream, dynamic_ncols=True, position=0, leave=True,
            bar_format="{desc} |{bar}| {n}/{total} fits{postfix}",
        )  # fmt: skip
        self.bars: dict[str, tqdm] = {}
        self.slots: dict[str, int] = {}

    def _bar(self, pair: Pair) -> tqdm:
        if pair.slug not in self.bars:
            slot = min(set(range(1, len(self.slots) + 2)) - set(self.slots.values()))
            self.slots[pair.slug] = slot
            self.bars[pair.slug] = tqdm(
                total=0, file=self.stream, dynamic_ncols=True, position=slot, leave=False,
                bar_format="  {desc} |{bar}| {n}/{total} fits{postfix}",
            )  # fmt: skip
        return self.bars[pair.slug]

    def stepped(self, pair: Pair) -> None:
        if pair.state == "waiting":  # no bar while it waits its turn
            self.ended(pair)
        else:
            self._bar(pair)

    def served(self, pair: Pair, lines: list[str]) -> None:
        for line in lines:
            tqdm.write(line, file=self.stream)
        if pair.served != "quick":
            self.ended(pair)

    def ended(self, pair: Pair) -> None:
        bar = self.bars.pop(pair.slug, None)
        if bar is not None:
            bar.close()
            self.slots.pop(pair.slug)

    def say(self, text: str) -> None:
        tqdm.write(text.rstrip("\n"), file=self.stream)

    def tick(self) -> None:
        final, done, total = self.run.counts()
        self.top.set_description_str(f"training: {final}/{len(self.run.pairs)} pairs done")
        self.top.total, self.top.n = total, done
        self.top.set_postfix_str(time_left(self.run.eta()), refresh=False)
        self.top.refresh()
        for slug, bar in self.bars.items():
            pair = self.run.pairs[slug]
            bar.set_description_str(f"{slug}: {pair.step}")
            bar.total, bar.n = pair.total, pair.done
            bar.set_postfix_str(time_left(self.run.pair_eta(pair)), refresh=False)
            bar.refresh()

    def close(self) -> None:
        for bar in list(self.bars.values()):
            bar.close()
        self.tick()
        self.top.close()
