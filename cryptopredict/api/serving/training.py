"""A training run still writing into the model directory, as the API reports it."""

from __future__ import annotations

import math
from pathlib import Path

from cryptopredict.api.types.training import FailedPair, TrainingPair, TrainingProgress
from cryptopredict.artifact.training import PairStatus, TrainingStatus, read_status
from cryptopredict.utc import iso_utc


def training(model_dir: Path | None) -> TrainingProgress | None:
    status = read_status(model_dir) if model_dir is not None else None
    if status is None or all(pair.state == "done" for pair in status.pairs):
        return None
    return described(status)


def described(status: TrainingStatus) -> TrainingProgress:
    return TrainingProgress(
        updated_at=iso_utc(int(status.updated_at.timestamp())),
        eta_seconds=_seconds(status.eta_seconds),
        pairs=[_pair(pair) for pair in status.unfinished()],
        failed=[FailedPair(asset=pair.asset, reason=_why(pair)) for pair in status.ended("failed")],
    )


def _pair(pair: PairStatus) -> TrainingPair:
    return TrainingPair(
        asset=pair.asset,
        state="running" if pair.state == "running" else "waiting",
        step=pair.step,
        eta_seconds=_seconds(pair.eta_seconds),
    )


def _why(pair: PairStatus) -> str:
    return pair.why or "not said"


def _seconds(value: float | None) -> int | None:
    # rounded up: a pair still training is never said to be due in 0 s
    return None if value is None else math.ceil(value)
