"""How far a training run into a model directory has got: `<model_dir>/training.json`, written by
the process that drives training while it runs and removed when it ends, read by the API
(`/healthz`, `/assets`, the dashboard), which serves each pair as soon as its model is written.

A file that has not been rewritten for `STALE_SECONDS` is the trace of a run that was killed:
it is not reported as training.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Literal

import msgspec

from cryptopredict.atomic import replacing

FILE = "training.json"
VERSION = 2
# The driver rewrites the file at least every few seconds while training (HEARTBEAT_SECONDS);
# one this old is left by a run that was killed.
HEARTBEAT_SECONDS = 5.0
STALE_SECONDS = 120.0

# What a pair of the run is doing now:
# - "waiting": none of its tasks runs on a worker now: its next one waits for a worker (the
#   other pairs' tasks run first), or it has not started;
# - "running": a task of it runs on a worker now (`step` names it);
# - "done": its backtested model is written;
# - "failed": this run cannot train it (`why`); a quick model written before stays served;
# - "quick": this run ends with its quick model served, its backtest not done (`why`).
State = Literal["waiting", "running", "done", "failed", "quick"]
TRAINING: tuple[State, ...] = ("waiting", "running")
# What the API serves of the pair now: nothing yet; its quick model (the last close and the
# panel's band, written first so the pair is served in a minute); or its backtested model.
Served = Literal["quick", "backtested"]


class PairStatus(msgspec.Struct, frozen=True, kw_only=True):
    asset: str
    state: State
    step: str  # running: what runs now; waiting: what comes next; in words
    why: str | None = None  # failed or quick: why, in words
    fits_done: int  # Prophet fits done (the backtest's refits, the final fit)
    fits_total: int  # those planned; 0 until the pair's history is read
    served: Served | None
    eta_seconds: float | None  # None until the run has fits to estimate it from


class TrainingStatus(msgspec.Struct, frozen=True, kw_only=True):
    version: int
    started_at: datetime
    updated_at: datetime
    eta_seconds: float | None  # never below a pair's
    pairs: tuple[PairStatus, ...]

    def unfinished(self) -> tuple[PairStatus, ...]:
        """The pairs still training (waiting or running)."""
        return tuple(pair for pair in self.pairs if pair.state in TRAINING)

    def ended(self, state: State) -> tuple[PairStatus, ...]:
        """The pairs this run ended in `state` ("failed", "quick", "done")."""
        return tuple(pair for pair in self.pairs if pair.state == state)


def write_status(model_dir: Path, status: TrainingStatus) -> None:
    with replacing(Path(model_dir) / FILE) as temporary:
        temporary.write_bytes(msgspec.json.encode(status))
        temporary.chmod(0o644)  # the server may run as another user


def clear_status(model_dir: Path) -> None:
    (Path(model_dir) / FILE).unlink(missing_ok=True)


def read_status(model_dir: Path, *, now: float | None = None) -> TrainingStatus | None:
    """The status of a run training into `model_dir`; None when none is (no file, a stale one,
    or one that cannot be read: the API answers all the same)."""
    try:
        data = (Path(model_dir) / FILE).read_bytes()
        status = msgspec.json.decode(data, type=TrainingStatus)
    except (OSError, msgspec.DecodeError):
        return None
    now = time.time() if now is None else now
    if status.version != VERSION or now - status.updated_at.timestamp() > STALE_SECONDS:
        return None
    return status
