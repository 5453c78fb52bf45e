"""What `make run`'s piped log says of its pairs every 15 seconds, read back (issue 56, bar 1):
every line about a pair names a step that is moving or says it is waiting for a worker, and the
run's time left is never below a pair's.

A block is the progress display's lines of one moment: a line per pair in flight
("btc-usd (quick model served): backtest: validation refits, ...; 40 of 234 fits, about 9 min
left", "eth-usd: waiting for a worker (next: ...); ...") and the run's ("training: 0 of 2 pairs
done, 1 running, ...; 156 of 459 fits, about 10 min left"). A refit step named twice in a row
with the same fits done did not move in between; any other step named is one a worker runs
(the display names only those) or says the pair waits."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

PROGRESS = re.compile(r"^\S+ INFO +cryptopredict\.training\.progress: (?P<message>.*)$")
PAIR = re.compile(
    r"^(?P<slug>[a-z0-9]+-[a-z0-9]+)(?P<quick> \(quick model served\))?: (?P<doing>.*?)"
    r"(?:; (?P<done>\d+) of (?P<total>\d+) fits)?, (?P<left>about .+ left|time left not known yet)$"
)
RUN = re.compile(r"^training: .*, (?P<left>about .+ left|time left not known yet)$")
WAITING = "waiting for a worker"
REFITS = "refits"


@dataclass(frozen=True)
class PairLine:
    slug: str
    doing: str
    done: int | None
    left: float | None  # minutes, as said


@dataclass
class Reading:
    blocks: int = 0
    pair_lines: int = 0
    waiting_lines: int = 0
    # a refit step named again with the same fits done
    not_moving: list[str] = field(default_factory=list)
    # the run's time left said below a pair's
    run_below_a_pair: list[str] = field(default_factory=list)


def minutes(said: str) -> float | None:
    """'about a minute left' 1, 'about 7 min left' 7, 'about 1.5 h left' 90; None not known."""
    if said == "about a minute left":
        return 1.0
    found = re.fullmatch(r"about (?P<n>[0-9.]+) (?P<unit>min|h) left", said)
    if found is None:
        return None
    return float(found["n"]) * (60 if found["unit"] == "h" else 1)


def blocks(messages: Iterable[str]) -> list[tuple[list[PairLine], float | None, str]]:
    """The progress display's blocks: its pair lines, and the run's time left (and line)."""
    found: list[tuple[list[PairLine], float | None, str]] = []
    pairs: list[PairLine] = []
    for message in messages:
        pair = PAIR.match(message)
        if pair is not None:
            done = pair["done"]
            pairs.append(
                PairLine(pair["slug"], pair["doing"], done and int(done), minutes(pair["left"]))
            )
            continue
        run = RUN.match(message)
        if run is not None:
            found.append((pairs, minutes(run["left"]), message))
        pairs = []
    return found


def read(log_lines: Iterable[str]) -> Reading:
    messages = [found["message"] for line in log_lines if (found := PROGRESS.match(line))]
    reading = Reading()
    last: dict[str, PairLine] = {}
    for pairs, run_left, run_line in blocks(messages):
        reading.blocks += 1
        for pair in pairs:
            reading.pair_lines += 1
            if pair.doing.startswith(WAITING):
                reading.waiting_lines += 1
            before = last.get(pair.slug)
            if (
                REFITS in pair.doing
                and not pair.doing.startswith(WAITING)
                and before is not None
                and before.doing == pair.doing
                and before.done == pair.done
            ):
                reading.not_moving.append(f"{pair.slug}: {pair.doing}; {pair.done} fits")
            last[pair.slug] = pair
        known = [pair.left for pair in pairs if pair.left is not None]
        if known and (run_left is None or run_left < max(known)):
            reading.run_below_a_pair.append(run_line)
    return reading
