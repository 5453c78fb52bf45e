"""`python train.py`: fetch, validate, backtest, train, gate and write the forecast artifact.

One pair (`--asset`, btc-usd by default) or every configured one (`--all`: the `ASSETS` setting,
slugs such as `btc-usd,sol-usd,link-usdt`; `*` for every pair the `--csv` file or the embedded
snapshot holds), each to `<out>/<pair>/`, their tasks on a Dask cluster (cluster.py).

Exit status: 0 when every pair was trained; 1 when some pair failed (the error names it; the
other pairs are still trained and written, and a failed pair's previous artifact is left as it
was); 2 for a usage or configuration error (nothing is trained).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import logging
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
from distributed import Client, KilledWorker

from cryptopredict import logs
from cryptopredict.artifact import ArtifactError, ModelParams
from cryptopredict.assets import (
    Asset,
    UnknownAssetError,
    asset_for_symbol,
    configured_assets,
    slug_for_binance,
)
from cryptopredict.config import ConfigError, Settings
from cryptopredict.data import SOURCE_NAMES, DataError, load_history
from cryptopredict.data.csvfile import CsvSource, pair_symbols
from cryptopredict.data.snapshot import SnapshotSource
from cryptopredict.model.cluster import DaskEngine, TaskProgress, training_client, worker_count
from cryptopredict.model.config import DEFAULT
from cryptopredict.model.engine import Engine
from cryptopredict.model.gate import GateError, GateRules
from cryptopredict.model.plan import Plan
from cryptopredict.model.scorecard import backtest_table
from cryptopredict.model.training import PRICES, Trained, TrainingRequest, train
from cryptopredict.utc import iso_moment

log = logging.getLogger("train")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="train.py", description=__doc__)
    parser.add_argument("--source", choices=SOURCE_NAMES, default="auto")
    parser.add_argument(
        "--csv",
        type=Path,
        help="train on this OHLCV CSV instead of a source; with a `symbol` column it holds many "
        "pairs (long format), each pair reading its own rows",
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--asset", default="btc-usd", help="a pair: slug or symbol, e.g. sol-usd, SOL/USD"
    )
    which.add_argument(
        "--all",
        action="store_true",
        help="every pair in the ASSETS setting (ASSETS='*': every pair of --csv or the snapshot)",
    )
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
        assets = chosen_assets(args, settings)
    except (UnknownAssetError, DataError) as error:
        log.error("%s", error)
        return 2
    with training_client(settings) as client:
        tracker = TaskProgress()
        try:
            failed = train_all(assets, args, settings, client, tracker)
        finally:
            tracker.close()
    if failed:
        log.error(
            "training failed for %s (why above); %d of %d pairs trained",
            ", ".join(failed),
            len(assets) - len(failed),
            len(assets),
        )
    return 1 if failed else 0


EVERY_PAIR = "*"
# A task's own verdict on its pair (no usable bars, too short a history): not worth a retry.
TASK_FAILURES = (DataError, ValueError)


def chosen_assets(args: argparse.Namespace, settings: Settings) -> list[Asset]:
    """The pair `--asset` names, or with `--all` those of the ASSETS setting (`*`: every pair
    of the `--csv` file, or of the embedded snapshot)."""
    if not args.all:
        return [asset_for_symbol(args.asset)]
    if settings.assets.strip() != EVERY_PAIR:
        return configured_assets(settings.assets)
    if args.csv is not None:
        symbols = pair_symbols(args.csv, f"csv:{args.csv}")
        if not symbols:
            raise UnknownAssetError(
                f"{args.csv} has no `symbol` column: name its pair with --asset"
            )
        return configured_assets(",".join(slug_for_binance(symbol) for symbol in symbols))
    snapshot = SnapshotSource()
    slugs = [*snapshot.own_pairs(), *(slug_for_binance(symbol) for symbol in snapshot.pairs())]
    return configured_assets(",".join(slugs))


def train_all(
    assets: list[Asset],
    args: argparse.Namespace,
    settings: Settings,
    client: Client,
    tracker: TaskProgress,
) -> list[str]:
    """Train every asset at once, their tasks interleaved on the cluster; the slugs that failed.

    Each asset is driven by a thread of this process (its tasks' results come back here); a
    few more assets than workers are in flight, so that the workers always have tasks."""
    slots = min(len(assets), 2 * worker_count(settings) + 2)
    with ThreadPoolExecutor(max_workers=slots, thread_name_prefix="pair") as pool:
        done = pool.map(
            lambda asset: train_one(
                asset,
                args,
                settings,
                DaskEngine(client, tracker, asset.slug, TASK_FAILURES),
                tracker.write,
            ),
            assets,
        )
        return [asset.slug for asset, ok in zip(assets, list(done), strict=True) if not ok]


def train_one(
    asset: Asset,
    args: argparse.Namespace,
    settings: Settings,
    engine: Engine,
    say: Callable[[str], None] = print,
) -> bool:
    """Train and write one asset's artifact, `say` its report; False (logged) on failure."""
    started = time.monotonic()
    try:
        fetch = functools.partial(
            load_history,
            asset,
            _interval(asset, args),
            args.since,
            settings,
            source=args.source,
            csv=args.csv,
        )
        history = engine.run(fetch, what="fetch and validate")
        request = TrainingRequest(
            asset=asset,
            config=DEFAULT,
            horizon=pd.Timedelta(days=args.horizon_days or settings.max_horizon_days),
            gate=GateRules.from_settings(settings),
            plan=None if args.no_backtest else Plan(),
            model_version=settings.model_version,
            git_sha=settings.git_sha or _git_sha(),
            fit_cache=settings.fit_cache_dir,
            price=args.target,
        )
        trained = train(history, request, args.out, engine)
    except (DataError, GateError, ArtifactError, ValueError, KilledWorker) as error:
        log.error("%s: %s", asset.slug, error)
        log.error(
            "nothing was written for %s; any previous artifact in %s is unchanged",
            asset.slug,
            args.out / asset.slug,
        )
        return False
    say(report(trained, time.monotonic() - started))
    return True


def _interval(asset: Asset, args: argparse.Namespace) -> str:
    """`--interval`; else the `--csv` file's, read from its timestamps; else the pair's."""
    if args.interval:
        return str(args.interval)
    held = CsvSource(args.csv).interval(asset) if args.csv is not None else None
    return held.label if held is not None else asset.interval


def report(trained: Trained, seconds: float) -> str:
    manifest = trained.manifest
    data = manifest.data
    window = data.training_window
    lines = [
        f"data:     {data.rows} {manifest.interval} bars of {manifest.symbol} from "
        f"{iso_moment(data.first)} to {iso_moment(data.last)} (source: {data.source})",
        f"trained:  on {window.rows} bars from {iso_moment(window.first)} to "
        f"{iso_moment(window.last)}",
        f"model:    {_describe(manifest.params)}",
        f"band:     {manifest.band.name}",
    ]
    if manifest.metrics is not None:
        lines.append(backtest_table(manifest.metrics))
    else:
        lines.append(
            "backtest: skipped (--no-backtest); the default band, calibrated on the naive "
            "forecast's errors; no gate"
        )
    lines.append(f"artifact: {trained.path} ({manifest.model_version}) in {seconds:.0f} s")
    return "\n".join(lines)


def _describe(params: ModelParams) -> str:
    price = params.price
    parts = [f"Prophet on {params.target} {price}"]
    if params.window_days:
        parts.append(f"last {params.window_days} days")
    parts.append(f"changepoint_prior_scale {params.changepoint_prior_scale}")
    if params.anchored:
        parts.append(f"anchored to the last {price}")
    if params.damping_hours is not None:
        parts.append(f"damped (tau {params.damping_hours:g} h)")
    if not params.calibrated:
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
