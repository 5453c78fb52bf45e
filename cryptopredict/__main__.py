"""`python -m cryptopredict export --to forecasts.parquet`: the forecasts as a table
(`cryptopredict.forecasts`), in Parquet, CSV or JSON (an array of rows) by the file's suffix."""

import argparse
import sys
from functools import partial
from pathlib import Path

import pandas as pd

from cryptopredict.artifact.arrays import ArtifactError
from cryptopredict.table import forecasts

WRITERS = {
    ".parquet": partial(pd.DataFrame.to_parquet, index=False),
    ".csv": partial(pd.DataFrame.to_csv, index=False),
    ".json": partial(pd.DataFrame.to_json, orient="records", date_format="iso", date_unit="s"),
}


def exported(name: str) -> Path:
    if Path(name).suffix not in WRITERS:
        raise argparse.ArgumentTypeError(f"{name!r}: name a .parquet, .csv or .json file")
    return Path(name)


parser = argparse.ArgumentParser(prog="python -m cryptopredict", description=__doc__)
parser.add_argument("command", choices=["export"])
parser.add_argument("--to", type=exported, required=True, help="a .parquet, .csv or .json file")
parser.add_argument("--pairs", default="", help="comma-separated (default: every pair trained)")
parser.add_argument("--horizon", default="7d", help="how far past each pair's data, e.g. 1d, 2w")
parser.add_argument("--every", help="a row each, e.g. 15m (default: each pair's interval)")
args = parser.parse_args()
try:
    table = forecasts(list(filter(None, args.pairs.split(","))), args.horizon, args.every)
except (ValueError, ArtifactError) as error:
    sys.exit(f"export: {error}")
WRITERS[args.to.suffix](table, args.to)
print(f"{len(table)} forecasts written to {args.to}")
