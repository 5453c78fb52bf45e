"""What `make run`'s piped log says of its pairs every 15 seconds, read back (issue 56, bar 1):
every line about a pair names a step that is moving or says it is waiting for a worker, and the
run's time left is never below a pair's.

A block is the progress display's lines of one moment: a line per pair in flight ("btc-usd:
backtest of the served forecast, about 45 s left", "eth-usd: waiting for a worker (next:
...), ...") and the run's ("training: 0 of 2 pairs done, 1 running, ..., about 2 min left").
A step is one a worker runs (the display names only those) or says the pair waits; a pair that
names the same running step in `STUCK_BLOCKS` blocks in a row (a minute and more: every step of
a pair takes seconds) did not move. Beside the blocks, the display writes a line when a pair
starts a phase ("btc-usd: backtest of the served forecast"): a run shorter than a block's
period (seconds a pair) shows its pairs moving there."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

PROGRESS = re.compile(r"^\S+ INFO +cryptopredict\.training\.progress: (?P<message>.*)$")
PAIR = re.compile(
    r"^(?P<slug>[a-z0-9]+-[a-z0-9]+): (?P<doing>.*?), "
    r"(?P<left>about .+ left|time left not known yet)$"
)
RUN = re.compile(r"^training: .*, (?P<left>about .+ left|time left not known yet)$")
WAITING = "waiting for a worker"
STUCK_BLOCKS = 5
# A pair's phases, in order, as its task tells them (`cryptopredict/training/steps.py`).
PHASES = (
    "reading its history",
    "backtest of the served forecast",
    "final fit, forecast grid and artifact",
)
PHASE = re.compile(
    rf"^(?P<slug>[a-z0-9]+-[a-z0-9]+): (?P<phase>{'|'.join(map(re.escape, PHASES))})$"
)


@dataclass(frozen=True)
class PairLine:
    slug: str
    doing: str
    left: float | None  # minutes, as said


@dataclass
class Reading:
    blocks: int = 0
    pair_lines: int = 0
    waiting_lines: int = 0
    # a running step named in STUCK_BLOCKS blocks in a row
    not_moving: list[str] = field(default_factory=list)
    # the run's time left said below a pair's
    run_below_a_pair: list[str] = field(default_factory=list)
    # each pair's phases as its lines said them, in order
    phases: dict[str, list[str]] = field(default_factory=dict)


def minutes(said: str) -> float | None:
    """'about 45 s left' 0.75, 'about 7 min left' 7, 'about 1.5 h left' 90; None not known."""
    found = re.fullmatch(r"about (?P<n>[0-9.]+) (?P<unit>s|min|h) left", said)
    if found is None:
        return None
    return float(found["n"]) * {"s": 1 / 60, "min": 1, "h": 60}[found["unit"]]


def blocks(messages: Iterable[str]) -> list[tuple[list[PairLine], float | None, str]]:
    """The progress display's blocks: its pair lines, and the run's time left (and line)."""
    found: list[tuple[list[PairLine], float | None, str]] = []
    pairs: list[PairLine] = []
    for message in messages:
        pair = PAIR.match(message)
        if pair is not None:
            pairs.append(PairLine(pair["slug"], pair["doing"], minutes(pair["left"])))
            continue
        run = RUN.match(message)
        if run is not None:
            found.append((pairs, minutes(run["left"]), message))
        pairs = []
    return found


def read(log_lines: Iterable[str]) -> Reading:
    messages = [found["message"] for line in log_lines if (found := PROGRESS.match(line))]
    reading = Reading()
    for message in messages:
        if (phase := PHASE.match(message)) is not None:
            reading.phases.setdefault(phase["slug"], []).append(phase["phase"])
    same: dict[str, tuple[str, int]] = {}  # each pair's step and how many blocks in a row
    for pairs, run_left, run_line in blocks(messages):
        reading.blocks += 1
        for pair in pairs:
            reading.pair_lines += 1
            if pair.doing.startswith(WAITING):
                reading.waiting_lines += 1
                same.pop(pair.slug, None)
                continue
            step, count = same.get(pair.slug, ("", 0))
            count = count + 1 if step == pair.doing else 1
            same[pair.slug] = (pair.doing, count)
            if count == STUCK_BLOCKS:
                reading.not_moving.append(f"{pair.slug}: {pair.doing}")
        known = [pair.left for pair in pairs if pair.left is not None]
        if known and (run_left is None or run_left < max(known)):
            reading.run_below_a_pair.append(run_line)
    return reading
