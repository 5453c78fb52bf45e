"""`cryptopredict export --to forecasts.parquet` (or `python -m cryptopredict`): the forecasts as
a table (`cryptopredict.forecasts`); `backtest --to origins.parquet`: every origin the panel scores
(`cryptopredict.cross_validation`); each in Parquet, CSV or JSON (an array of rows) by the file's
suffix. `train`: `train.py`'s (`cryptopredict train --help`)."""

import argparse
import sys
from functools import partial
from pathlib import Path

import pandas as pd

import cryptopredict
from cryptopredict.artifact.arrays import ArtifactError

WRITERS = {
    ".parquet": partial(pd.DataFrame.to_parquet, index=False),
    ".csv": partial(pd.DataFrame.to_csv, index=False),
    ".json": partial(pd.DataFrame.to_json, orient="records", date_format="iso", date_unit="s"),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["train"]:
        from cryptopredict.training.cli import main as train  # noqa: PLC0415  (training's stack)

        return train(argv[1:], prog="cryptopredict train")
    parser = argparse.ArgumentParser(prog="cryptopredict", description=__doc__)
    parser.add_argument("command", choices=["export", "backtest", "train"])
    parser.add_argument("--to", type=Path, required=True, help="a .parquet, .csv or .json file")
    parser.add_argument("--pairs", default="", help="comma-separated (default: every pair)")
    parser.add_argument("--horizon", default="7d", help="export: how far ahead, e.g. 1d, 2w")
    parser.add_argument("--every", help="export: a row each, e.g. 15m")
    args = parser.parse_args(argv)
    if args.to.suffix not in WRITERS:
        parser.error(f"argument --to: '{args.to}': name a .parquet, .csv or .json file")
    pairs = list(filter(None, args.pairs.split(",")))
    try:
        if args.command == "export":
            table = cryptopredict.forecasts(pairs, args.horizon, args.every)
        else:  # the training stack's, imported now
            table = cryptopredict.cross_validation(pairs)
    except (ValueError, ArtifactError) as error:
        sys.exit(f"{args.command}: {error}")
    WRITERS[args.to.suffix](table, args.to)
    print(f"{len(table)} rows written to {args.to}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
