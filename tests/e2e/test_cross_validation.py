"""Issue 117: every origin the panel scores, as a frame (`cryptopredict.cross_validation`): a row
per pair, origin and horizon of docs/panel.json, with its split, the actual close and every
model's point and bands; scored with a few lines of pandas, it gives the panel's figures; `python
-m cryptopredict backtest` writes it as Parquet, CSV or JSON, which DuckDB, polars and pandas
read with its times in UTC."""

from __future__ import annotations

import json
import subprocess
import sys
from functools import partial

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pytest

import cryptopredict
from cryptopredict.__main__ import WRITERS
from cryptopredict.model.plan import HORIZONS, SPLITS
from tests.e2e.training import ROOT
from tools.peers import ROWS

PANEL = json.loads((ROOT / "docs" / "panel.json").read_text())
SPOT = [name for name in PANEL["pairs"] if name != "BTC/USD"]  # the pairs pooled
PEERS = list(ROWS)  # the peers as issued and calibrated the band's way
MODELS = ["served", "naive"]
LEVELS = [f"{side}-{level}" for level in (50, 80, 95) for side in ("lo", "hi")]
TIMES = ["cutoff", "ds"]
UTC = dict.fromkeys(TIMES, "datetime64[us, UTC]")
READERS = {  # pandas' and polars' readers, as the README shows them
    ".parquet": (pd.read_parquet, pl.read_parquet),
    ".csv": (partial(pd.read_csv, parse_dates=TIMES), partial(pl.read_csv, try_parse_dates=True)),
    ".json": (
        partial(pd.read_json, dtype=UTC),
        partial(  # the peers' columns are empty on the validation origins: read them all
            pl.read_json,
            schema_overrides=dict.fromkeys(TIMES, pl.Datetime("us", "UTC")),
            infer_schema_length=None,
        ),
    ),
}


@pytest.fixture(scope="module")
def origins() -> pd.DataFrame:
    return cryptopredict.cross_validation()


def score(rows: pd.DataFrame, model: str) -> pd.Series:
    """The 80% interval score on log prices (docs/model.md), as a user would write it."""
    y, low, high = (np.log(rows[column]) for column in ("y", f"{model}-lo-80", f"{model}-hi-80"))
    return high - low + 10 * ((low - y).clip(lower=0) + (y - high).clip(lower=0))


def test_every_origin_of_the_panel_is_a_row_with_its_split_the_close_and_every_model(origins):
    assert list(origins.columns[:6]) == ["unique_id", "cutoff", "ds", "horizon", "split", "y"]
    for model in [*MODELS, *PEERS]:
        kept = LEVELS if model in MODELS else ["lo-80", "hi-80"]
        assert {model, *(f"{model}-{band}" for band in kept)} <= set(origins.columns)
    assert sorted(origins.unique_id.unique()) == sorted(PANEL["pairs"])
    assert ((origins.ds - origins.cutoff) == origins.horizon.map(HORIZONS)).all()
    for name, pair in PANEL["pairs"].items():
        mine = origins[origins.unique_id == name]
        first = mine.groupby("split").cutoff.min() - pd.Timedelta(hours=1)  # the origin's bar
        for split in SPLITS:  # the first origin of the 7-hour grid in each span
            start = pd.Timestamp(pair[f"first_{split.replace(' ', '_')}_origin"])
            assert pd.Timedelta(0) <= first[split] - start < pd.Timedelta(hours=7), (name, split)
        evaluation = mine[mine.split == "evaluation"].groupby("horizon").size()
        assert evaluation.to_dict() == {
            h: each["forecasts"] for h, each in pair["horizons"].items()
        }
    spot = origins[origins.unique_id.isin(SPOT)]
    final = spot[spot.split == "final test"].groupby("horizon").size()
    assert final.to_dict() == {
        h: each["forecasts"] for h, each in PANEL["final_test_pooled"].items()
    }
    peers = [f"{name}{band}" for name in PEERS for band in ("", "-lo-80", "-hi-80")]
    scored = spot.split.ne("validation") & spot.horizon.ne("30d")  # where the peers are scored
    assert spot.loc[scored, peers].notna().all().all()
    assert spot.loc[~scored, peers].isna().all().all()
    for model in MODELS:  # the bands nested (naive's need not hold its point: it has drift)
        edges = [
            f"{model}-{band}" for band in ("lo-95", "lo-80", "lo-50", "hi-50", "hi-80", "hi-95")
        ]
        assert (origins[edges].diff(axis=1).iloc[:, 1:] >= 0).all().all()


def test_scoring_it_with_pandas_gives_the_panel_s_headline_ratios(origins):
    """The README's: the band's 80% interval score against naive's, pooled over the 16 spot
    pairs, on the evaluation origins and the final test; and each peer's against naive."""
    spot = origins[origins.unique_id.isin(SPOT)]
    for split, key in (("evaluation", "pooled"), ("final test", "final_test_pooled")):
        for label in ("1h", "1d"):
            rows = spot[(spot.split == split) & (spot.horizon == label)]
            ratio = score(rows, "served").sum() / score(rows, "naive").sum() - 1
            assert ratio == pytest.approx(PANEL[key][label]["relative"], abs=1e-4)
    for label in ("1h", "1d"):
        rows = spot[(spot.split == "evaluation") & (spot.horizon == label)]
        naive = score(rows, "naive").sum()
        for name, found in PANEL["peers"][label].items():
            if name in PEERS:
                relative = score(rows, name).sum() / naive - 1
                assert relative == pytest.approx(found["relative"], abs=1e-4), name


def backtest(*args: str) -> subprocess.CompletedProcess[str]:
    """`python -m cryptopredict backtest` with `args`, as a user types it in the checkout."""
    command = [sys.executable, "-m", "cryptopredict", "backtest", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> pd.DataFrame:
    """One pair's rows as `python -m cryptopredict backtest --to` wrote them."""
    path = tmp_path_factory.mktemp("export") / "origins.parquet"
    done = backtest("--to", str(path), "--pairs", "XTZUSDT")
    assert done.returncode == 0, done.stderr
    return pd.read_parquet(path)


@pytest.mark.parametrize("suffix", list(READERS))
def test_duckdb_polars_and_pandas_read_the_export_with_its_times_in_utc(
    origins, export, tmp_path, suffix
):
    """The command's rows are the function's; each of its writers' files reads back whole."""
    mine = origins[origins.unique_id == "XTZUSDT"].reset_index(drop=True)
    pd.testing.assert_frame_equal(export, mine, check_dtype=False)
    path = tmp_path / f"origins{suffix}"
    WRITERS[suffix](export, path)
    by_pandas, by_polars = READERS[suffix]
    pd.testing.assert_frame_equal(by_pandas(path), mine, check_dtype=False)
    read = by_polars(path)
    assert read.schema["cutoff"] == pl.Datetime("us", "UTC")
    assert read["ds"].to_list() == list(mine.ds)
    column = duckdb.sql(f"SELECT cutoff FROM '{path}'")
    assert [str(kind) for kind in column.types] == ["TIMESTAMP WITH TIME ZONE"]
    assert [at for (at,) in column.fetchall()] == list(mine.cutoff)


def test_a_pair_the_panel_does_not_score_is_refused_naming_those_it_does(tmp_path):
    done = backtest("--to", str(tmp_path / "f.csv"), "--pairs", "DOGEUSD")
    assert done.returncode != 0
    assert "backtest: DOGEUSD: the panel scores ADAUSDT, AVAXUSDT" in done.stderr
    assert not list(tmp_path.iterdir())
