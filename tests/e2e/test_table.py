"""The forecasts as a table (issues 106 and 111), on the real model and a third pair trained
beside it: `cryptopredict.forecasts` is each pair's path past its data's end, each row what
`/forecast/{asset}` answers for its target time at each level, to the cent; `python -m
cryptopredict export` writes it as Parquet, CSV or JSON, which DuckDB, polars and pandas read
with the target times in UTC; a copy installed in an environment of its own, outside the
checkout, gives the same table; a bad pair, horizon or file name is refused, saying what is
allowed, and nothing is written. Issue 117: `cryptopredict.fit` on one's own closes read from a
CSV predicts the same path at any level, installed too, where `cryptopredict train --csv` trains
from another directory; a bad frame is refused, naming its first bad row."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from functools import partial
from pathlib import Path
from typing import Any

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
WHEN = ["pair", "ds", "issued", "lead_hours", "untested"]
HEADER = [*WHEN, "point", *BANDS, "model_version", "quote", "anchor"]
OWN_BANDS = ["lo-50", "hi-50", "lo-90", "hi-90", "lo-99", "hi-99"]
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


@pytest.fixture(scope="module")
def closes(tmp_path_factory) -> Path:
    """BTC/USD's hourly closes of its last 450 days as a user's CSV (`ds`, `y`): a year for the
    backtest's first refit and two scored origins after it."""
    bars = pd.read_csv(ROOT / "data" / "btc-usd-1h.csv.gz").tail(450 * 24)
    path = tmp_path_factory.mktemp("own") / "closes.csv"
    bars.rename(columns={"timestamp": "ds", "close": "y"})[["ds", "y"]].to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def fitted(closes) -> Any:
    return cryptopredict.fit(pd.read_csv(closes))


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
            assert not row["untested"]  # a week ahead: within the band's 30 days
            assert said["untested"] is False
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


def test_a_model_fitted_on_one_s_own_closes_predicts_its_path_at_any_level(fitted, closes):
    path = fitted.predict(24, level=[50, 90, 99])
    assert list(path.columns) == [*HEADER[:6], *OWN_BANDS, *HEADER[-3:]]
    issued = pd.Timestamp(pd.read_csv(closes).ds.iloc[-1]) + pd.Timedelta(hours=1)  # its close
    assert list(path.ds) == list(pd.date_range(issued, periods=25, freq="h")[1:])
    assert set(path.issued) == {issued}
    assert set(path.pair) == {"own-usd"}
    served = fitted.predict("1d")  # at 50, 80 and 95%, as the API answers them
    api = create_app(open_artifacts(Path(fitted.directory.name)), ApiSettings.from_env())
    for row, each in zip(path.to_dict("records"), served.to_dict("records"), strict=True):
        date = row["ds"].strftime("%Y-%m-%dT%H:%M:%SZ")
        said = api.test_client().get(f"/forecast/own-usd?date={date}&level=50").get_json()
        assert (row["lo-50"], row["point"], row["hi-50"]) == (
            said["prediction_low"],
            said["prediction"],
            said["prediction_high"],
        )
        assert each["lo-95"] < row["lo-90"] < each["lo-80"] < each["hi-80"] < row["hi-90"]
        assert row["lo-99"] < each["lo-95"]
        assert row["hi-90"] < each["hi-95"] < row["hi-99"]


SPOILED = {  # a frame of closes, its row 5000 made bad: what the refusal says (rows by time)
    "a gap": (lambda f: f.drop(index=5000), "1 gaps, the largest after {before}"),
    "a time repeated": (lambda f: pd.concat([f[:5001], f[5000:]]), "repeat, first at {bad}"),
    "unsorted times": (lambda f: f.iloc[[*range(5000), 5001, 5000]], "sorted, first at {bad}"),
    "a price of zero": (lambda f: f.assign(y=f.y.mask(f.index == 5000, 0)), "bar {bad} (open=0,"),
    "a negative price": (lambda f: f.assign(y=f.y.mask(f.index == 5000, -1)), "{bad} (open=-1,"),
    "too little history": (lambda f: f[4000:5001], "only 0 backtest origins fit in the data ("),
}


@pytest.mark.parametrize("spoiled", list(SPOILED))
def test_a_bad_frame_is_refused_naming_its_first_bad_row(closes, spoiled):
    frame, (spoil, said) = pd.read_csv(closes), SPOILED[spoiled]
    with pytest.raises(ValueError, match="own-usd: ") as refused:
        cryptopredict.fit(spoil(frame))
    times = {"before": frame.ds[4999], "bad": frame.ds[5000]}  # as the CSV writes them
    assert said.format(**times) in str(refused.value)


def test_a_copy_installed_outside_the_checkout_gives_the_same_table_fit_and_training(
    model_dir, table, fitted, closes, tmp_path
):
    """Issue 111: `pyproject.toml` declared no dependency, so an installed copy failed on its
    first import of one. Issue 117: with training's, it fits and predicts as this checkout does,
    its `cryptopredict train --csv` trains from another directory (its help names that command),
    and cross_validation(), which reads a checkout's files, says so where a traceback was, its
    `cryptopredict backtest` leaving the file it was to write as it was."""
    venv, elsewhere = install(tmp_path, "[train]"), tmp_path / "elsewhere"
    elsewhere.mkdir()
    environment = {"MODEL_DIR": str(model_dir), "HOME": str(tmp_path)}  # none of this one's
    run = partial(subprocess.run, cwd=elsewhere, env=environment, capture_output=True, text=True)
    code = "import sys, cryptopredict; cryptopredict.forecasts().to_parquet(sys.argv[1])"
    done = run([venv / "bin" / "python", "-c", code, tmp_path / "installed.parquet"])
    assert done.returncode == 0, done.stderr
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "installed.parquet"), table)
    code = "import sys, pandas as pd, cryptopredict; cryptopredict.fit(pd.read_csv(sys.argv[1]))"
    code += ".predict(24, level=[50, 90, 99]).to_parquet(sys.argv[2])"
    done = run([venv / "bin" / "python", "-c", code, closes, tmp_path / "own.parquet"])
    assert done.returncode == 0, done.stderr
    own = fitted.predict(24, level=[50, 90, 99])
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "own.parquet"), own)
    command = [venv / "bin" / "cryptopredict", "train"]
    bars = pd.read_csv(ROOT / "data" / "btc-usd-1h.csv.gz").tail(450 * 24)  # as `closes`
    bars.to_csv(elsewhere / "bars.csv", index=False)
    done = run([*command, "--csv", "bars.csv", "--out", "models"])
    assert done.returncode == 0, done.stderr
    assert list(open_artifacts(elsewhere / "models")) == ["btc-usd"]
    assert run([*command, "--help"]).stdout.startswith("usage: cryptopredict train [-h]")
    (elsewhere / "origins.csv").write_text("the user's")
    needs = "cross_validation() reads the panel's data/*.csv.gz and docs/panel_peers.parquet"
    done = run([venv / "bin" / "cryptopredict", "backtest", "--to", "origins.csv"])
    assert done.returncode == 1
    assert done.stderr.startswith(f"backtest: {needs}, which ")  # no traceback
    code = "import cryptopredict; cryptopredict.cross_validation()"
    done = run([venv / "bin" / "python", "-c", code])
    assert done.stderr.splitlines()[-1].startswith(f"ValueError: {needs}, which ")
    assert (elsewhere / "origins.csv").read_text() == "the user's"


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
