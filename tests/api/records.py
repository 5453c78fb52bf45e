"""For the track record's tests: a copy of the fixture models with a baked record of BTC/USD,
its issue made as a release makes it, scored on the hourly closes given."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from flask.testing import FlaskClient

from cryptopredict.api.app import create_app
from cryptopredict.artifact.read import open_artifact
from cryptopredict.artifact.record import read_record, write_record
from cryptopredict.artifact.record_rows import (
    BAND_STEP,
    OUTCOME_STEPS,
    PairRecord,
    RecordNote,
    widening,
)
from cryptopredict.artifact.store import open_artifacts
from cryptopredict.config import ApiSettings
from cryptopredict.training.record import issue_of
from cryptopredict.utc import iso_utc

HOUR = 3600
STARTED = RecordNote(1_700_000_000, "the test's first release")


def baked(artifact_dir: Path, out: Path, closes: dict[int, float], asset: str = "btc-usd") -> Path:
    """A copy of `artifact_dir` at `out` whose `asset` has a record of its one issue, scored
    on `closes` (by the instant each hourly bar ends) up to the last of them."""
    shutil.copytree(artifact_dir, out)
    artifact = open_artifact(out / asset)
    issue = issue_of(artifact, 1_785_090_000, max_horizon_days=ApiSettings().max_horizon_days)
    record = PairRecord(
        asset, artifact.manifest.symbol, STARTED, max(closes, default=issue.data_until)
    )
    write_record(out, record.issued(issue).scored_on(closes), None)
    return out


def exact_within(model_dir: Path, lead: int, asset: str = "btc-usd") -> float:
    return exact_within_of(read_record(model_dir, asset), lead)


def exact_within_of(record: PairRecord, lead: int) -> float:
    """How near the exact one a value (or a mean) the record keeps at `lead` is
    (`artifact/record_rows.py`): half the widest outcome's step, and half the issued band's
    step as much as an interval score weighs a bound (2 / 0.05 outside the 95% band, and once
    in its width)."""
    lead_unit = float(record.unit(np.array([lead]))[0, 0])
    widest = lead_unit * float(widening(np.array([lead]))[0, 0]) * OUTCOME_STEPS.max()
    return widest / 2 + lead_unit * BAND_STEP / 2 * 42


def client_of(model_dir: Path) -> FlaskClient:
    return create_app(open_artifacts(model_dir), ApiSettings(model_dir=model_dir)).test_client()


def point_at(client: FlaskClient, asset: str, at: int, level: int = 80) -> dict:
    answer = client.get(f"/forecast/{asset}?date={iso_utc(at)}&level={level}")
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()
