"""What `/healthz`, `/assets` and the dashboard say of a training run still writing into the
model directory (`train.py --serve`): the pairs whose final model is not served yet, each with
its step and its Prophet fits done of those planned, and the time left, estimated."""

from __future__ import annotations

from pathlib import Path

from cryptopredict.api.serving.utc import iso_utc
from cryptopredict.api.types.training import Training, TrainingPair
from cryptopredict.artifact.training import PairStatus, read_status


def training(model_dir: Path | None) -> Training | None:
    """None when no run is training into `model_dir` (or every pair's final model is served)."""
    status = read_status(model_dir) if model_dir is not None else None
    pending = status.unfinished() if status is not None else ()
    if status is None or not pending:
        return None
    return Training(
        updated_at=iso_utc(int(status.updated_at.timestamp())),
        eta_seconds=_seconds(status.eta_seconds),
        pairs=[_pair(pair) for pair in pending],
    )


def _pair(pair: PairStatus) -> TrainingPair:
    total = pair.fits_total
    return TrainingPair(
        asset=pair.asset,
        step=pair.step,
        fits_done=pair.fits_done,
        fits_total=total,
        percent=round(100 * pair.fits_done / total) if total else 0,
        served=pair.served,
        eta_seconds=_seconds(pair.eta_seconds),
    )


def _seconds(value: float | None) -> int | None:
    return None if value is None else round(value)
