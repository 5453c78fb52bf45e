"""`python -m cryptopredict export --to forecasts.parquet`: the forecasts as a table
(`cryptopredict.forecasts`), in Parquet, or in CSV where the name ends `.csv`."""

import argparse
import sys
from pathlib import Path

from cryptopredict.artifact.arrays import ArtifactError
from cryptopredict.table import LEADS, forecasts

parser = argparse.ArgumentParser(prog="python -m cryptopredict", description=__doc__)
parser.add_argument("command", choices=["export"])
parser.add_argument("--to", type=Path, required=True, help="a .parquet or .csv file")
parser.add_argument("--pairs", default="", help="comma-separated (default: every pair trained)")
parser.add_argument("--leads", default=",".join(LEADS), help="comma-separated, e.g. 1h,4h,1d")
parser.add_argument("--level", type=int, default=80, choices=(50, 80, 95))
args = parser.parse_args()
try:
    table = forecasts(list(filter(None, args.pairs.split(","))), args.leads.split(","), args.level)
except (ValueError, ArtifactError) as error:
    sys.exit(f"export: {error}")
(table.to_csv if args.to.suffix == ".csv" else table.to_parquet)(args.to, index=False)
print(f"{len(table)} forecasts written to {args.to}")
