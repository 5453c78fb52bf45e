"""The forecasts as a table (issue 106, item 7), on the real model and a third pair trained
beside it: `cryptopredict.forecasts` and `python -m cryptopredict export` give what
`/forecast/{asset}` answers for the same date, to the cent; a bad pair, lead or level is
refused, saying what is allowed, and nothing is written."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import cryptopredict
from cryptopredict.api.app import create_app
from cryptopredict.artifact.store import open_artifacts
from cryptopredict.config import ApiSettings
from tests.e2e.training import ROOT

PAIRS = ["btc-usd", "eth-usd", "sol-usdt"]
LEADS = ["1h", "1d", "7d"]


@pytest.fixture(scope="module")
def model_dir(model_dir, tmp_path_factory) -> Path:
    """The real model's two pairs, and SOL/USDT trained beside them as `train.py` trains it."""
    out = shutil.copytree(model_dir, tmp_path_factory.mktemp("table") / "artifacts")
    command = [sys.executable, "train.py", "--asset", "sol-usdt", "--source", "snapshot"]
    subprocess.run([*command, "--out", str(out)], cwd=ROOT, check=True, capture_output=True)
    return out


def _export(model_dir: Path, *arguments: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "cryptopredict", "export", *arguments]
    environment = {**os.environ, "MODEL_DIR": str(model_dir)}
    return subprocess.run(
        command, cwd=ROOT, env=environment, capture_output=True, text=True, check=False
    )


def test_the_table_is_what_the_api_answers_to_the_cent(model_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("MODEL_DIR", str(model_dir))
    monkeypatch.delenv("LATEST_PRICES", raising=False)
    table = cryptopredict.forecasts(PAIRS, LEADS)
    assert list(table.columns) == ["pair", "issued", "lead", "point", "low", "high", "level"]
    assert [(row.pair, row.lead) for row in table.itertuples()] == [
        (pair, pd.Timedelta(lead.replace("d", "D"))) for pair in PAIRS for lead in LEADS
    ]
    api = create_app(open_artifacts(model_dir), ApiSettings.from_env()).test_client()
    for row in table.itertuples():
        date = (row.issued + row.lead).strftime("%Y-%m-%dT%H:%M:%SZ")
        said = api.get(f"/forecast/{row.pair}?date={date}").get_json()
        assert said["data_until"] == row.issued.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert (row.point, row.low, row.high, row.level) == (
            said["prediction"], said["prediction_low"], said["prediction_high"], said["level"]
        )  # fmt: skip
        assert row.low < row.point < row.high
    done = _export(model_dir, "--to", str(tmp_path / "f.parquet"), "--pairs", ",".join(PAIRS))
    assert done.returncode == 0, done.stderr
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "f.parquet"), table)


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        (["--pairs", "btc-usd,doge-usd"], "no asset 'doge-usd' is served here; known: btc-usd"),
        (["--leads", "1h,1y"], "'1y' is not an interval; use a whole number and a unit m, h, d"),
        (["--leads", "5000d"], "is too far ahead; valid dates run from 2021-01-01T01:00:00Z to"),
        (["--level", "81"], "invalid choice: 81 (choose from 50, 80, 95)"),
    ],
)
def test_a_bad_pair_lead_or_level_is_refused_saying_what_is_allowed(
    model_dir, tmp_path, arguments, said
):
    done = _export(model_dir, "--to", str(tmp_path / "f.parquet"), *arguments)
    assert done.returncode != 0
    assert said in done.stderr
    assert not (tmp_path / "f.parquet").exists()
