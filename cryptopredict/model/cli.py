"""`python train.py`: fetch, validate, backtest, train, gate and write the forecast artifact.

One asset (`--asset`, BTC/USD by default) or every configured one (`--all`, the `ASSETS`
setting), each to `<out>/<asset>/`. Exits non-zero when any asset fails; a failed asset's
previous artifact is left as it was, and the others are still trained.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from cryptopredict import logs
from cryptopredict.artifact import ArtifactError
from cryptopredict.assets import Asset, UnknownAssetError, asset_for_symbol, configured_assets
from cryptopredict.config import ConfigError, Settings
from cryptopredict.data import SOURCE_NAMES, DataError, load_history
from cryptopredict.model.backtest import Plan
from cryptopredict.model.config import DEFAULT
from cryptopredict.model.gate import GateError, GateRules
from cryptopredict.model.progress import progress
from cryptopredict.model.scorecard import backtest_table
from cryptopredict.model.training import PRICES, Trained, TrainingRequest, train

log = logging.getLogger("train")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="train.py", description=__doc__)
    parser.add_argument("--source", choices=SOURCE_NAMES, default="auto")
    parser.add_argument("--csv", type=Path, help="train on this OHLCV CSV instead of a source")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--asset", default="btc-usd", help="slug or symbol, e.g. eth-usd, ETH/USD")
    which.add_argument("--all", action="store_true", help="every asset in the ASSETS setting")
    parser.add_argument(
        "--interval", help="bar interval, e.g. 1h or 1d (default: the asset's, see assets.py)"
    )
    parser.add_argument(
        "--target",
        choices=PRICES,
        default="close",
        help="the price the model learns; the backtest scores both against the close",
    )
    parser.add_argument("--since", default="2021-01-01", type=_utc, help="first bar to fetch")
    parser.add_argument(
        "--horizon-days",
        type=float,
        help="forecast grid length past the last bar (default: the MAX_HORIZON_DAYS setting, "
        "the API's horizon)",
    )
    parser.add_argument("--out", type=Path, default=Path("artifacts"), help="artifact directory")
    parser.add_argument("--no-backtest", action="store_true", help="skip the backtest and gate")
    parser.add_argument(
        "--require-fresh",
        type=float,
        metavar="HOURS",
        help="fail unless a live source's newest bar closed within HOURS (REQUIRE_FRESH_HOURS)",
    )
    parser.add_argument("--jobs", type=int, help="backtest worker processes (default: all cores)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as error:
        print(f"train.py: {error}", file=sys.stderr)
        return 2
    if args.require_fresh is not None:
        settings = dataclasses.replace(settings, require_fresh_hours=args.require_fresh)
    logs.configure(settings.log_level)
    try:
        assets = configured_assets(settings.assets) if args.all else [asset_for_symbol(args.asset)]
    except UnknownAssetError as error:
        log.error("%s", error)
        return 2
    failed = []
    with progress(len(assets), "training", "asset") as bar:
        for asset in assets:
            bar.set_postfix_str(asset.slug)
            if not train_one(asset, args, settings):
                failed.append(asset.slug)
            bar.update(1)
    if failed:
        log.error("training failed for %s", ", ".join(failed))
    return 1 if failed else 0


def train_one(asset: Asset, args: argparse.Namespace, settings: Settings) -> bool:
    """Train and write one asset's artifact, print its report; False (logged) on failure."""
    started = time.monotonic()
    try:
        history = load_history(
            asset,
            args.interval or asset.interval,
            args.since,
            settings,
            source=args.source,
            csv=args.csv,
        )
        request = TrainingRequest(
            asset=asset,
            config=DEFAULT,
            horizon=pd.Timedelta(days=args.horizon_days or settings.max_horizon_days),
            gate=GateRules.from_settings(settings),
            plan=None if args.no_backtest else Plan(),
            model_version=settings.model_version,
            git_sha=settings.git_sha or _git_sha(),
            jobs=args.jobs,
            fit_cache=settings.fit_cache_dir,
            price=args.target,
        )
        trained = train(history, request, args.out)
    except (DataError, GateError, ArtifactError, ValueError) as error:
        log.error("%s: %s", asset.slug, error)
        log.error(
            "nothing was written for %s; any previous artifact in %s is unchanged",
            asset.slug,
            args.out / asset.slug,
        )
        return False
    print(report(trained, time.monotonic() - started))
    return True


def report(trained: Trained, seconds: float) -> str:
    manifest = trained.manifest
    data = manifest["data"]
    window = data["training_window"]
    lines = [
        f"data:     {data['rows']} {manifest['interval']} bars of {manifest['symbol']} from "
        f"{data['first']} to {data['last']} (source: {data['source']})",
        f"trained:  on {window['rows']} bars from {window['first']} to {window['last']}",
        f"model:    {_describe(manifest['params'])}",
        f"band:     {manifest['band']['name']}",
    ]
    if trained.backtest is not None:
        lines.append(backtest_table(trained.backtest.summary()))
    else:
        lines.append(
            "backtest: skipped (--no-backtest); the default band, calibrated on the naive "
            "forecast's errors; no gate"
        )
    lines.append(f"artifact: {trained.path} ({manifest['model_version']}) in {seconds:.0f} s")
    return "\n".join(lines)


def _describe(params: dict) -> str:
    price = params.get("price", "close")
    parts = [f"Prophet on {params['target']} {price}"]
    if params["window_days"]:
        parts.append(f"last {params['window_days']} days")
    parts.append(f"changepoint_prior_scale {params['changepoint_prior_scale']}")
    if params["anchored"]:
        parts.append(f"anchored to the last {price}")
    if params["damping_hours"] is not None:
        parts.append(f"damped (tau {params['damping_hours']:g} h)")
    if not params["calibrated"]:
        parts.append("Prophet's own bands")
    return ", ".join(parts)


def _git_sha() -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


def _utc(text: str) -> pd.Timestamp:
    stamp = pd.Timestamp(text)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


if __name__ == "__main__":
    sys.exit(main())
