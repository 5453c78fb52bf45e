"""`<model_dir>/training.json`: how far a running training has got, for the API; rewritten while
it runs, removed at its end (one older than `STALE_SECONDS` is a killed run's)."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Literal

import msgspec

from cryptopredict.atomic import write_file

FILE = "training.json"
VERSION = 3
STALE_SECONDS = 120.0

# A pair's task waits for a worker, runs (`step` names its phase), is done (its model written)
# or failed (`why`; an earlier model stays served).
State = Literal["waiting", "running", "done", "failed"]
TRAINING: tuple[State, ...] = ("waiting", "running")


class PairStatus(msgspec.Struct, frozen=True, kw_only=True):
    asset: str
    state: State
    step: str  # running: what runs now; waiting: what comes next; in words
    why: str | None = None  # failed: why, in words
    eta_seconds: float | None  # None until a pair has ended to estimate it from


class TrainingStatus(msgspec.Struct, frozen=True, kw_only=True):
    version: int
    started_at: datetime
    updated_at: datetime
    eta_seconds: float | None  # never below a pair's
    pairs: tuple[PairStatus, ...]

    def unfinished(self) -> tuple[PairStatus, ...]:
        return tuple(pair for pair in self.pairs if pair.state in TRAINING)

    def ended(self, state: State) -> tuple[PairStatus, ...]:
        return tuple(pair for pair in self.pairs if pair.state == state)


def time_left(seconds: float | None) -> str:
    """In words; nothing where it is not known."""
    if seconds is None:
        return ""
    if seconds < 90:  # the words follow the clock
        return f"about {max(5, round(seconds / 5) * 5)} s left"
    if seconds < 90 * 60:
        return f"about {round(seconds / 60)} min left"
    return f"about {seconds / 3600:.1f} h left"


def write_status(model_dir: Path, status: TrainingStatus) -> None:
    write_file(Path(model_dir) / FILE, msgspec.json.encode(status))


def clear_status(model_dir: Path) -> None:
    (Path(model_dir) / FILE).unlink(missing_ok=True)


def read_status(model_dir: Path) -> TrainingStatus | None:
    """None unless a run is training (no file, a stale one or an unreadable one)."""
    try:
        data = (Path(model_dir) / FILE).read_bytes()
        status = msgspec.json.decode(data, type=TrainingStatus)
    except (OSError, msgspec.DecodeError):
        return None
    if status.version != VERSION or time.time() - status.updated_at.timestamp() > STALE_SECONDS:
        return None
    return status
