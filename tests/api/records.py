"""For the track record's tests: a copy of the fixture models with a baked record of BTC/USD,
its issue made as a release makes it, scored on the hourly closes given."""

from __future__ import annotations

import shutil
from pathlib import Path

from flask.testing import FlaskClient

from cryptopredict.api import create_app
from cryptopredict.api.serving.catalog import Catalog
from cryptopredict.api.serving.issued import issue_of
from cryptopredict.artifact.record import RECORD_VERSION, PairRecord, RecordNote, write_record
from cryptopredict.artifact.store import open_artifacts
from cryptopredict.config import ApiSettings
from cryptopredict.training.record import scored
from cryptopredict.utc import iso_utc

HOUR = 3600
STARTED = RecordNote(1_700_000_000, "the test's first release")


def baked(artifact_dir: Path, out: Path, closes: dict[int, float], asset: str = "btc-usd") -> Path:
    """A copy of `artifact_dir` at `out` whose `asset` has a record of its one issue, scored
    on `closes` (by the instant each hourly bar ends) up to the last of them."""
    shutil.copytree(artifact_dir, out)
    settings = ApiSettings(model_dir=out)
    entry = Catalog(open_artifacts(out), max_horizon_days=settings.max_horizon_days)[asset]
    issue = scored(issue_of(entry, 1_785_090_000), closes)
    record = PairRecord(
        record_version=RECORD_VERSION,
        asset=asset,
        symbol=entry.symbol,
        started=STARTED,
        scored_until=max(closes, default=entry.data_until),
        issues=[issue],
    )
    write_record(out, record, None)
    return out


def client_of(model_dir: Path) -> FlaskClient:
    return create_app(open_artifacts(model_dir), ApiSettings(model_dir=model_dir)).test_client()


def point_at(client: FlaskClient, asset: str, at: int, level: int = 80) -> dict:
    answer = client.get(f"/forecast/{asset}?date={iso_utc(at)}&level={level}")
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()
