"""`python train.py`: fetch and validate the history, then train (see --help)."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from pathlib import Path

import pandas as pd

from cryptopredict import logs
from cryptopredict.assets import asset_for_symbol
from cryptopredict.config import Settings
from cryptopredict.data import SOURCE_NAMES, DataError, load_history

log = logging.getLogger("train")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="train.py", description=__doc__)
    parser.add_argument("--source", choices=SOURCE_NAMES, default="auto")
    parser.add_argument("--csv", type=Path, help="train on this OHLCV CSV instead of a source")
    parser.add_argument("--symbol", default="BTC/USD")
    parser.add_argument("--interval", default="1h")
    parser.add_argument("--since", default="2021-01-01", type=_utc)
    parser.add_argument(
        "--require-fresh",
        type=float,
        metavar="HOURS",
        help="fail unless a live source's newest bar closed within HOURS (REQUIRE_FRESH_HOURS)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = Settings.from_env()
    if args.require_fresh is not None:
        settings = dataclasses.replace(settings, require_fresh_hours=args.require_fresh)
    logs.configure(settings.log_level)
    try:
        history = load_history(
            asset_for_symbol(args.symbol),
            args.interval,
            args.since,
            settings,
            source=args.source,
            csv=args.csv,
        )
    except (DataError, KeyError, ValueError) as error:
        log.error("%s", error)
        return 1
    print(f"data: {history.bars.source}: {history.report.summary()}")
    return 0


def _utc(text: str) -> pd.Timestamp:
    stamp = pd.Timestamp(text)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


if __name__ == "__main__":
    sys.exit(main())
