"""How a training run's progress (`progress.py`) is shown: plain log lines in a pipe, a file or
CI's log (`LineView`), or bars redrawn in place on a terminal (`TerminalView`)."""

from __future__ import annotations

import logging
import os
import sys
from typing import IO, TYPE_CHECKING

from tqdm import tqdm

if TYPE_CHECKING:
    from cryptopredict.artifact.training import State
    from cryptopredict.training.progress import Pair, RunProgress, TimeLeft

log = logging.getLogger("cryptopredict.training.progress")

LINE_SECONDS = 15.0  # a pipe's lines while training runs (bar 2 of issue 47: never 30 s silent)
TALLIED: tuple[State, ...] = ("running", "waiting", "failed")


def sized_terminal(stream: IO[str]) -> bool:
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


def pair_line(pair: Pair, estimate: TimeLeft) -> str:
    """A pair in flight: what it does now (or that it waits), its time left."""
    return f"{pair.slug}: {pair.doing()}, {time_left(estimate.of(pair))}"


def run_line(run: RunProgress, estimate: TimeLeft | None) -> str:
    """The run: its pairs by state; with `estimate`, its time left."""
    said = f"training: {counted(run)}"
    if estimate is None or not any(pair.active for pair in run.pairs.values()):
        return said
    return f"{said}, {time_left(estimate.run)}"


def counted(run: RunProgress) -> str:
    """'1 of 3 pairs done, 1 running, 1 failed (eth-usd)'."""
    pairs = list(run.pairs.values())

    def named(state: State) -> list[str]:
        return [pair.slug for pair in pairs if pair.state == state]

    said = f"{len(named('done'))} of {len(pairs)} pairs done"
    running, waiting, failed = (named(state) for state in TALLIED)
    if running:
        said += f", {len(running)} running"
    if waiting:
        said += f", {len(waiting)} waiting for a worker"
    if failed:
        said += f", {len(failed)} failed ({', '.join(failed)})"
    return said


class View:
    def stepped(self, pair: Pair) -> None: ...
    def served(self, pair: Pair, lines: list[str]) -> None: ...
    def ended(self, pair: Pair) -> None: ...
    def say(self, text: str) -> None: ...
    def tick(self) -> None: ...
    def close(self) -> None: ...


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
        self._write([f"{pair.slug}: {pair.phase}"])

    def served(self, pair: Pair, lines: list[str]) -> None:
        self._write(lines)

    def ended(self, pair: Pair) -> None:
        pass  # the driver says why a pair failed

    def say(self, text: str) -> None:
        sys.stderr.write(text if text.endswith("\n") else f"{text}\n")
        sys.stderr.flush()

    def tick(self) -> None:
        if self.run.clock() - self.last < LINE_SECONDS:
            return
        estimate = self.run.estimate()  # one estimate: the pairs' lines and the run's agree
        active = [pair for pair in self.run.pairs.values() if pair.active]
        self._write([*(pair_line(pair, estimate) for pair in active), run_line(self.run, estimate)])

    def close(self) -> None:
        self._write([run_line(self.run, None)])  # also when the run ended within a tick


class TerminalView(View):
    """Bars redrawn in place: the run's, and one for each pair in flight."""

    def __init__(self, run: RunProgress, stream: IO[str]) -> None:
        self.run = run
        self.stream = stream
        self.top = tqdm(
            total=0, file=stream, dynamic_ncols=True, position=0, leave=True,
            bar_format="{desc} |{bar}| {n}/{total} pairs{postfix}",
        )  # fmt: skip
        self.bars: dict[str, tqdm] = {}
        self.slots: dict[str, int] = {}

    def _bar(self, pair: Pair) -> tqdm:
        if pair.slug not in self.bars:
            slot = min(set(range(1, len(self.slots) + 2)) - set(self.slots.values()))
            self.slots[pair.slug] = slot
            self.bars[pair.slug] = tqdm(
                total=0, file=self.stream, dynamic_ncols=True, position=slot, leave=False,
                bar_format="  {desc}{postfix}",
            )  # fmt: skip
        return self.bars[pair.slug]

    def stepped(self, pair: Pair) -> None:
        self._bar(pair)

    def served(self, pair: Pair, lines: list[str]) -> None:
        for line in lines:
            tqdm.write(line, file=self.stream)
        if not pair.active:
            self.ended(pair)

    def ended(self, pair: Pair) -> None:
        bar = self.bars.pop(pair.slug, None)
        if bar is not None:
            bar.close()
            self.slots.pop(pair.slug)

    def say(self, text: str) -> None:
        tqdm.write(text.rstrip("\n"), file=self.stream)

    def tick(self) -> None:
        estimate = self.run.estimate()
        ended, total = self.run.counts()
        self.top.set_description_str(f"training: {counted(self.run)}")
        self.top.total, self.top.n = total, ended
        self.top.set_postfix_str(time_left(estimate.run), refresh=False)
        self.top.refresh()
        for slug, bar in self.bars.items():
            pair = self.run.pairs[slug]
            bar.set_description_str(f"{slug}: {pair.doing()}")
            bar.set_postfix_str(f", {time_left(estimate.of(pair))}", refresh=False)
            bar.refresh()

    def close(self) -> None:
        for bar in list(self.bars.values()):
            bar.close()
        self.tick()
        self.top.close()
