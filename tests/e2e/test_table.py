"""The forecasts as a table (issues 106 and 111), on the real model and a third pair trained
beside it: `cryptopredict.forecasts` is each pair's path past its data's end, each row what
`/forecast/{asset}` answers for its target time at each level, to the cent; `python -m
cryptopredict export` writes it as Parquet, CSV or JSON, which DuckDB, polars and pandas read
with the target times in UTC; a copy installed in an environment of its own, outside the
checkout, gives the same table; a bad pair, horizon or file name is refused, saying what is
allowed, and nothing is written."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from functools import partial
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pytest

import cryptopredict
from cryptopredict.api.app import create_app
from cryptopredict.artifact.store import open_artifacts
from cryptopredict.candles import Interval
from cryptopredict.config import ApiSettings
from tests.e2e.training import ROOT
from tests.installed import install

PAIRS = ["btc-usd", "eth-usd", "sol-usdt"]
BANDS = ["lo-50", "hi-50", "lo-80", "hi-80", "lo-95", "hi-95"]
HEADER = ["pair", "ds", "issued", "lead_hours", "point", *BANDS, "model_version", "quote", "anchor"]
UTC = {"ds": "datetime64[us, UTC]", "issued": "datetime64[us, UTC]"}
POLARS_UTC = {"ds": pl.Datetime("us", "UTC"), "issued": pl.Datetime("us", "UTC")}
# Each row's columns (`ours` below) as the API names them.
SAID = ["lead_hours", "prediction", "prediction_low", "prediction_high", "model_version", "anchor"]
READERS = {  # pandas' and polars' readers, as the README shows them
    ".parquet": (pd.read_parquet, pl.read_parquet),
    ".csv": (partial(pd.read_csv, parse_dates=[*UTC]), partial(pl.read_csv, try_parse_dates=True)),
    ".json": (partial(pd.read_json, dtype=UTC), partial(pl.read_json, schema_overrides=POLARS_UTC)),
}


@pytest.fixture(scope="module")
def model_dir(model_dir, tmp_path_factory) -> Path:
    """The real model's two pairs, and SOL/USDT trained beside them as `train.py` trains it."""
    out = shutil.copytree(model_dir, tmp_path_factory.mktemp("table") / "artifacts")
    command = [sys.executable, "train.py", "--asset", "sol-usdt", "--source", "snapshot"]
    subprocess.run([*command, "--out", str(out)], cwd=ROOT, check=True, capture_output=True)
    return out


@pytest.fixture
def table(model_dir, monkeypatch) -> pd.DataFrame:
    monkeypatch.setenv("MODEL_DIR", str(model_dir))
    return cryptopredict.forecasts()


def _export(model_dir: Path, *arguments: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "cryptopredict", "export", *arguments]
    environment = {**os.environ, "MODEL_DIR": str(model_dir)}
    return subprocess.run(
        command, cwd=ROOT, env=environment, capture_output=True, text=True, check=False
    )


def test_the_table_is_each_pair_s_path_as_the_api_answers_it_to_the_cent(model_dir, table):
    assert list(table.columns) == HEADER
    assert list(table.pair.unique()) == PAIRS
    api = create_app(open_artifacts(model_dir), ApiSettings.from_env()).test_client()
    assets = {asset["asset"]: asset for asset in api.get("/assets").get_json()["assets"]}
    for pair, path in table.groupby("pair", sort=False):
        step, issued = Interval.parse(assets[pair]["interval"]).delta, path.issued.iloc[0]
        week = pd.date_range(issued + step, issued + pd.Timedelta(days=7), freq=step)
        assert list(path.ds) == list(week)
    for row in table.to_dict("records"):
        date = row["ds"].strftime("%Y-%m-%dT%H:%M:%SZ")
        for level in (50, 80, 95):
            said = api.get(f"/forecast/{row['pair']}?date={date}&level={level}").get_json()
            assert (said["kind"], pd.Timestamp(said["data_until"])) == ("forecast", row["issued"])
            said["anchor"] = said["anchor"]["price"]
            ours = ["lead_hours", "point", f"lo-{level}", f"hi-{level}", "model_version", "anchor"]
            assert [row[column] for column in ours] == [said[key] for key in SAID]
        assert row["quote"] == assets[row["pair"]]["quote"]
        lows, highs = [row[f"lo-{n}"] for n in (95, 80, 50)], [row[f"hi-{n}"] for n in (50, 80, 95)]
        assert sorted([*lows, row["point"], *highs]) == [*lows, row["point"], *highs]


@pytest.mark.parametrize("suffix", list(READERS))
def test_duckdb_polars_and_pandas_read_the_export_with_its_target_times_in_utc(
    model_dir, table, tmp_path, suffix
):
    path = tmp_path / f"forecasts{suffix}"
    done = _export(model_dir, "--to", str(path))
    assert done.returncode == 0, done.stderr
    by_pandas, by_polars = READERS[suffix]
    read = by_pandas(path)
    assert read.ds.dtype == table.ds.dtype  # datetime64[us, UTC]
    pd.testing.assert_frame_equal(read, table, check_dtype=False)  # JSON's whole floats: int
    read = by_polars(path)
    assert read.schema["ds"] == POLARS_UTC["ds"]
    assert read["ds"].to_list() == list(table.ds)
    column = duckdb.sql(f"SELECT ds FROM '{path}'")
    assert [str(kind) for kind in column.types] == ["TIMESTAMP WITH TIME ZONE"]
    assert [at for (at,) in column.fetchall()] == list(table.ds)


def test_a_copy_installed_outside_the_checkout_gives_the_same_table(model_dir, table, tmp_path):
    """Issue 111: `pyproject.toml` declared no dependency, so an installed copy failed on its
    first import of one."""
    venv = install(tmp_path)
    code = "import sys, cryptopredict; cryptopredict.forecasts().to_parquet(sys.argv[1])"
    command = [venv / "bin" / "python", "-c", code, tmp_path / "installed.parquet"]
    environment = {"MODEL_DIR": str(model_dir)}  # and nothing of this one's
    done = subprocess.run(command, cwd=tmp_path, env=environment, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode()
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "installed.parquet"), table)


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        (["--pairs", "btc-usd,doge-usd"], "no asset 'doge-usd' is served here; known: btc-usd"),
        (["--horizon", "1y"], "'1y' is not an interval; use a whole number and a unit m, h, d"),
        (["--pairs", "btc-usd", "--horizon", "30m"], "horizon 30m is shorter than btc-usd's step"),
        (["--horizon", "5000d"], "is too far ahead; valid dates run from 2021-01-01T01:00:00Z to"),
        (["--to", "f.xlsx"], "argument --to: 'f.xlsx': name a .parquet, .csv or .json file"),
    ],
)
def test_a_bad_pair_horizon_or_file_name_is_refused_saying_what_is_allowed(
    model_dir, tmp_path, arguments, said
):
    done = _export(model_dir, "--to", str(tmp_path / "f.parquet"), *arguments)
    assert done.returncode != 0
    assert said in done.stderr
    assert not list(tmp_path.iterdir())
