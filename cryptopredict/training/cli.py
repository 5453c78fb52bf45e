"""`python train.py`: fetch, validate, backtest, train, gate and write the forecast artifact.

One pair (`--asset`, btc-usd by default) or every configured one (`--all`: the `ASSETS` setting,
slugs such as `btc-usd,sol-usd,link-usdt`; `*` for every pair the `--csv` file or the embedded
snapshot holds), each to `<out>/<pair>/`: every step of a pair is a task on a Dask cluster
(cluster.py, graph.py), this process only drives them.

Exit status: 0 when every pair was trained; 1 when some pair failed (the error names it; the
other pairs are still trained and written, and a failed pair's previous artifact is left as it
was); 2 for a usage or configuration error (nothing is trained).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from cryptopredict import logs
from cryptopredict.assets import (
    Asset,
    UnknownAssetError,
    asset_for_symbol,
    configured_assets,
    slug_for_binance,
)
from cryptopredict.config import ConfigError, Settings
from cryptopredict.model.gate import GateRules
from cryptopredict.training.api_process import ApiProcess
from cryptopredict.training.cluster import forward_logs, training_client
from cryptopredict.training.fitcache import FitCache
from cryptopredict.training.graph import train_pairs
from cryptopredict.training.progress import RunProgress
from cryptopredict.training.scheduler import SchedulerError
from cryptopredict.training.tasks import Fetch, FetchSettings, PairJob

# This process only drives the cluster: it never imports pandas or Prophet (the workers do),
# so the names below are cryptopredict.data's, not imported from there.
SOURCE_NAMES = ("auto", "alpaca", "binance", "snapshot")
PRICES = ("close", "vwap")

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
    parser.add_argument("--since", default="2021-01-01", type=_since, help="first bar to fetch")
    parser.add_argument(
        "--until",
        type=_until,
        metavar="T",
        help="train on the bars closed by T only (ISO 8601, UTC unless it says otherwise): "
        "what the model would have said at T, to score it on what followed",
    )
    parser.add_argument(
        "--horizon-days",
        type=float,
        help="forecast grid length past the last bar (default: the MAX_HORIZON_DAYS setting, "
        "the API's horizon)",
    )
    parser.add_argument("--out", type=Path, default=Path("artifacts"), help="artifact directory")
    parser.add_argument("--no-backtest", action="store_true", help="skip the backtest and gate")
    parser.add_argument(
        "--serve",
        action="store_true",
        help="serve while training (`make run`): start the API (`api.py`) on --out as soon as "
        "it holds a model, each pair's quick model (the last close and the panel's band) first, "
        "each pair's backtested model replacing it when written; then serve until Ctrl-C",
    )
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
    except UnknownAssetError as error:
        log.error("%s", error)
        return 2
    settings = dataclasses.replace(settings, git_sha=settings.git_sha or _git_sha())
    if args.serve:
        # Ctrl-C stops it wherever it was started (a shell's background job ignores SIGINT
        # unless told), and SIGTERM (a container's stop, `kill`) as Ctrl-C: training ends and
        # the server drains, as `api.py` does on both.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _interrupt)
    jobs = [pair_job(asset, args, settings) for asset in assets]
    run = RunProgress([asset.slug for asset in assets], out=args.out)
    server = ApiProcess(args.out, run.say) if args.serve else None
    try:
        failed = _train(settings, jobs, args, run, server)
    except KeyboardInterrupt:
        if server is not None:
            server.stop()
        return 130
    except SchedulerError as error:
        if server is not None:
            server.stop()
        log.error("%s", error)
        return 1
    if server is None:
        return 1 if failed else 0
    return _keep_serving(server)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _keep_serving(server: ApiProcess) -> int:
    """After training, serve until Ctrl-C; the server's exit status."""
    if not server.started:
        log.error("no pair was trained: nothing to serve")
        return 1
    log.info("training is over; serving until Ctrl-C")
    try:
        return server.wait()
    except KeyboardInterrupt:  # the server has it too: it finishes what is in flight
        return server.wait()


def _train(
    settings: Settings,
    jobs: list[PairJob],
    args: argparse.Namespace,
    run: RunProgress,
    server: ApiProcess | None,
) -> list[str]:
    """Train every pair, the progress shown; with `server`, serving as soon as a model is."""
    with training_client(settings) as client, run.shown():
        forward_logs(client, settings.log_level)  # each line naming its pair
        if server is not None:
            server.start_if_ready()  # a model trained before is served while it is retrained
            run.on_written = server.start_if_ready
        failed = train_pairs(
            client,
            jobs,
            cache=FitCache(settings.fit_cache_dir),
            out=args.out,
            progress=run,
            quick=server is not None,
        )
    if failed:
        log.error(
            "training failed for %s (why above); %d of %d pairs trained",
            ", ".join(failed),
            len(jobs) - len(failed),
            len(jobs),
        )
    return failed


def pair_job(asset: Asset, args: argparse.Namespace, settings: Settings) -> PairJob:
    return PairJob(
        asset=asset,
        bars=Fetch(
            interval=args.interval,  # None: the --csv file's (read where it is read), or the pair's
            since=args.since,
            until=args.until,
            source=args.source,
            csv=args.csv and args.csv.absolute(),  # the workers may run elsewhere
            settings=FetchSettings.of(settings),
        ),
        backtest=not args.no_backtest,
        horizon_days=args.horizon_days or settings.max_horizon_days,
        price=args.target,
        gate=GateRules.from_settings(settings),
        model_version=settings.model_version,
        git_sha=settings.git_sha,
        log_level=settings.log_level,
    )


EVERY_PAIR = "*"


def chosen_assets(args: argparse.Namespace, settings: Settings) -> list[Asset]:
    """The pair `--asset` names, or with `--all` those of the ASSETS setting (`*`: every pair
    of the `--csv` file, or of the embedded snapshot)."""
    if not args.all:
        return [asset_for_symbol(args.asset)]
    if settings.assets.strip() != EVERY_PAIR:
        return configured_assets(settings.assets)
    # Imported here: reading the file or the snapshot's list takes pandas.
    from cryptopredict.data import DataError  # noqa: PLC0415
    from cryptopredict.data.csvfile import pair_symbols  # noqa: PLC0415
    from cryptopredict.data.snapshot import SnapshotSource  # noqa: PLC0415

    if args.csv is not None:
        try:
            symbols = pair_symbols(args.csv, f"csv:{args.csv}")
        except DataError as error:
            raise UnknownAssetError(str(error)) from error
        if not symbols:
            raise UnknownAssetError(
                f"{args.csv} has no `symbol` column: name its pair with --asset"
            )
        return configured_assets(",".join(slug_for_binance(symbol) for symbol in symbols))
    snapshot = SnapshotSource()
    slugs = [*snapshot.own_pairs(), *(slug_for_binance(symbol) for symbol in snapshot.pairs())]
    return configured_assets(",".join(slugs))


def _git_sha() -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


def _since(text: str) -> str:
    _instant(text)
    return text


def _until(text: str) -> str:
    if _instant(text) > datetime.now(UTC):
        raise argparse.ArgumentTypeError(f"{text!r} is in the future: no bar has closed by then")
    return text


def _instant(text: str) -> datetime:
    """`text` as an aware datetime (UTC unless it says otherwise)."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date or time: {text!r}") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


if __name__ == "__main__":
    sys.exit(main())
