"""`python train.py` (`cryptopredict train`): fetch, validate, backtest, train, gate and write the
forecast artifact of one pair (`--asset`, btc-usd by default) or of the ASSETS setting's (`--all`:
slugs, `top:N`, or `*` for every pair of `--csv` or the embedded snapshot), each to `<out>/<pair>/`
on a Dask cluster; `--all` records what was asked, trained and not, with why, in `<out>/run.json`.

Exit status: 0 when every pair was trained, or those that failed are within `--tolerate`, and
one pair at least trained; 1 otherwise (the others are still
written, a failed pair's previous artifact left as it was); 2 for a usage or configuration error,
or a market `top:N` cannot rank.
"""

from __future__ import annotations

import _thread
import argparse
import dataclasses
import logging
import signal
import subprocess
import sys
import threading
import time
import traceback
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

import msgspec

from cryptopredict.artifact.record import RecordError
from cryptopredict.artifact.run import (
    MarketRanking,
    PairFailure,
    RunRecordError,
    TrainingRun,
    read_run,
    write_run,
)
from cryptopredict.artifact.schema import PRICES
from cryptopredict.artifact.write import carry_over
from cryptopredict.assets import (
    BITCOIN,
    Asset,
    PairsSetting,
    UnknownPairError,
    asset_for_symbol,
    configured_assets,
    pairs_setting,
    slug_for_binance,
)
from cryptopredict.config import SOURCE_NAMES, ConfigError, TrainingSettings
from cryptopredict.following_make import follow_make
from cryptopredict.freshness import in_words, served_data
from cryptopredict.logs import configure, redact
from cryptopredict.training.cluster import SchedulerError, forward_logs, training_client
from cryptopredict.training.graph import PairError, run_step, train_pairs
from cryptopredict.training.progress import RunProgress
from cryptopredict.training.record import RecordKeeper
from cryptopredict.training.tasks import Fetch, FetchSettings, PairJob
from cryptopredict.utc import iso_utc

log = logging.getLogger("train")


def parse_args(argv: list[str] | None = None, prog: str = "train.py") -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__)
    parser.add_argument("--source", choices=SOURCE_NAMES, default="auto")
    parser.add_argument(
        "--csv",
        type=Path,
        help="train on this OHLCV CSV instead of a source; with a `symbol` column it holds many "
        "pairs (long format), each pair reading its own rows",
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--asset", default=BITCOIN, help="a pair: slug or symbol, e.g. sol-usd, SOL/USD"
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
    parser.add_argument("--since", default="2021-01-01", type=_instant, help="first bar to fetch")
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
    parser.add_argument(
        "--out", type=Path, help="artifact directory (default: the MODEL_DIR setting, artifacts)"
    )
    parser.add_argument(
        "--previous",
        type=Path,
        metavar="DIR",
        help="the model directory whose track record this run extends (default: --out): the "
        "release reads the previous image's",
    )
    parser.add_argument("--no-backtest", action="store_true", help="skip the backtest and gate")
    parser.add_argument(
        "--require-fresh",
        type=float,
        metavar="HOURS",
        help="fail unless a live source's newest bar closed within HOURS (REQUIRE_FRESH_HOURS)",
    )
    parser.add_argument(
        "--tolerate",
        type=_share,
        default=0.0,
        metavar="SHARE",
        help="exit 0 when at most this share of the pairs failed (0.1: a tenth; default 0: any "
        "failure exits 1)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, prog: str = "train.py") -> int:
    """The exit status; 130 when Ctrl-C or SIGTERM cut training short. `prog`: the command."""
    # The first raises KeyboardInterrupt once (also in a shell's background job); the stop that
    # follows ignores any later one (a second Ctrl-C, make's follower, the terminal's).
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _interrupted)
    try:
        # `make run` starts Python with Ctrl-C held (the Makefile's HOLD_CTRL_C): one that came
        # while Python started comes now.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        return _main(argv, prog)
    except KeyboardInterrupt:
        log.info("interrupted: stopped")
        return 130


def _main(argv: list[str] | None, prog: str) -> int:
    args = parse_args(argv, prog)
    try:
        settings = TrainingSettings.from_env()
    except ConfigError as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return 2
    args.out = args.out or settings.model_dir
    args.previous = args.previous or args.out
    if args.require_fresh is not None:
        settings = dataclasses.replace(settings, require_fresh_hours=args.require_fresh)
    configure(settings.log_level)
    follow_make()  # `make run`: stopped with make, however it is signalled
    try:
        wanted = wanted_pairs(args, settings)
    except UnknownPairError as error:
        log.error("%s", error)
        return 2
    settings = dataclasses.replace(settings, git_sha=settings.git_sha or _git_sha())
    ranking = None
    if wanted.top is not None:
        try:  # asked on a worker, where the pairs will be fetched from
            with training_client(settings, 1) as client:
                forward_logs(client, settings.log_level)
                ranking = run_step(
                    client, "market", settings.log_level, wanted.top, FetchSettings.of(settings)
                )
        except (PairError, SchedulerError) as error:
            ranking = _previous_ranking(args.previous, wanted.top, f"{error}")
            if ranking is None:
                log.error("top:%d: the market could not be ranked: %s", wanted.top, error)
                return 2
    return _run(args, settings, wanted, ranking)


def _previous_ranking(previous: Path, top: int, why: str) -> MarketRanking | None:
    """The ranking of `top:N` the release in `previous` trained (None: none), saying so."""
    try:
        run = read_run(previous)
    except RunRecordError:
        return None
    if run is None or run.ranking is None or run.ranking.asked != top:
        return None
    log.warning(
        "top:%d: the market could not be ranked (%s): the previous release's ranking", top, why
    )
    by = f"{run.ranking.by}, the previous release's (the market could not be ranked: {why})"
    return msgspec.structs.replace(run.ranking, by=by)


def _run(
    args: argparse.Namespace,
    settings: TrainingSettings,
    wanted: PairsSetting,
    ranking: MarketRanking | None,
) -> int:
    """The chosen pairs trained, each written as it comes, those that failed carried over from
    the previous release where it served them, the run recorded (`--all`); the exit status."""
    assets, ranked = chosen(wanted, ranking)
    try:  # the track record this run extends (the previous release's)
        keeper = RecordKeeper.open(
            args.previous,
            out=args.out,
            afresh=settings.track_record_afresh,
            max_horizon_days=settings.max_horizon_days,
            image=settings.previous_image,
        )
    except RecordError as error:
        log.error(RECORD_BROKEN, error)
        return 2
    measured = _measured(args.out)
    progress = _progress(assets, args, measured)
    named = {asset.slug: asset for asset in assets}
    jobs = [pair_job(named[slug], args, settings, ranked=slug in ranked) for slug in progress.pairs]
    try:
        with closing(progress), training_client(settings, len(jobs)) as client:
            forward_logs(client, settings.log_level)
            failed = train_pairs(client, jobs, out=args.out, progress=progress, keeper=keeper)
            failed = {slug: _public(why, args) for slug, why in failed.items()}
            kept = _carry_over(list(failed), args)
            if args.all:  # `run.json`, written while the progress is still shown
                seconds = {**measured, **progress.measured()}
                record = _record(settings, assets, failed, kept, ranking=ranking, seconds=seconds)
                write_run(args.out, record)
    except SchedulerError as error:
        log.error("%s", error)
        return 1
    left = {slug: why for slug, why in failed.items() if slug not in kept}
    status = verdict(left, [asset.slug for asset in assets], args.tolerate)
    if len(failed) == len(assets):  # every pair carried or failed: nothing new to release
        log.error("no pair trained: failing")
        status = 1
    return _over(args.out, progress, status)


RECORD_BROKEN = (
    "the track record cannot be extended: %s; set TRACK_RECORD_AFRESH to why, to start a new one "
    "(a release: run the release workflow by hand with its input start-anew saying why)"
)


def _progress(
    assets: list[Asset], args: argparse.Namespace, measured: dict[str, float]
) -> RunProgress:
    """The run's display, which orders the pairs (`RunProgress.pairs`)."""
    intervals = {asset.slug: args.interval or asset.interval for asset in assets}
    return RunProgress(intervals, measured=measured, out=args.out)


def _carry_over(slugs: list[str], args: argparse.Namespace) -> dict[str, str]:
    """Each of `slugs` (pairs that failed) the release in `--previous` served, its model served
    again from `--out` (a source's failure costs only its pairs), with its age in words."""
    kept = {}
    for slug in slugs:
        artifact = carry_over(args.previous, args.out, slug)
        if artifact is not None:
            end = artifact.history.last_bar + artifact.grid_file.step
            version = artifact.manifest.model_version
            kept[slug] = (
                f"the previous release's model ({version}) is served, its data until "
                f"{iso_utc(end)}, {in_words(time.time() - end)} old"
            )
            log.warning("%s: %s", slug, kept[slug])
    return kept


def _record(
    settings: TrainingSettings,
    assets: list[Asset],
    failed: dict[str, str],
    kept: dict[str, str],
    *,
    ranking: MarketRanking | None,
    seconds: dict[str, float],
) -> TrainingRun:
    """`run.json`: what was asked, trained, failed and carried over (with why), and each pair's
    seconds on a worker."""
    return TrainingRun(
        asked=settings.assets,
        finished_at=datetime.now(UTC).replace(microsecond=0),
        model_version=settings.model_version,
        trained=tuple(asset.slug for asset in assets if asset.slug not in failed),
        failed=tuple(
            PairFailure(asset=slug, reason=why) for slug, why in failed.items() if slug not in kept
        ),
        carried=tuple(
            PairFailure(asset=slug, reason=f"{why}; {kept[slug]}")
            for slug, why in failed.items()
            if slug in kept
        ),
        ranking=ranking,
        extends=settings.previous_image,
        seconds=seconds,
    )


def _over(out: Path, progress: RunProgress, status: int) -> int:
    """`status`, training's end said: how old the data is (offline), where each pair's report is."""
    if (old := served_data(out)) is not None:
        log.info("%s", old)  # offline, the embedded data's months
    report = "" if progress.report is None else f"; each pair's report: {progress.report}"
    log.info("training is over%s", report)
    return status


def _interrupted(signum: int, frame: FrameType | None) -> None:
    # In a finalizer (a Dask future's, say) Python would write the KeyboardInterrupt off, and go on.
    if any(each.f_code.co_name == "__del__" for each, _ in traceback.walk_stack(frame)):
        threading.Timer(0.01, _thread.interrupt_main, (signum,)).start()  # once it is over
        return
    for each in (signal.SIGINT, signal.SIGTERM):
        signal.signal(each, signal.SIG_IGN)
    raise KeyboardInterrupt


def chosen(wanted: PairsSetting, ranking: MarketRanking | None) -> tuple[list[Asset], set[str]]:
    """The pairs to train, in order (those named, then those ranked), and which were ranked."""
    ranked = [pair.asset for pair in ranking.pairs] if ranking is not None else []
    named = [asset.slug for asset in wanted.named]
    assets = configured_assets(",".join(dict.fromkeys([*named, *ranked])))
    return assets, set(ranked) - set(named)


def _measured(out: Path) -> dict[str, float]:
    """Each pair's seconds on a worker when it last trained into `out`."""
    try:
        previous = read_run(out)
    except RunRecordError:
        return {}
    return dict(previous.seconds) if previous is not None else {}


def verdict(failed: dict[str, str], slugs: list[str], tolerate: float) -> int:
    if not failed:
        return 0
    trained = f"{len(slugs) - len(failed)} of {len(slugs)} pairs trained"
    log.error("training failed for %s (why above); %s", ", ".join(failed), trained)
    share = f"{len(failed)} of {len(slugs)} pairs failed"
    if len(failed) > tolerate * len(slugs):
        if tolerate:
            log.error("%s, more than the %g --tolerate allows: failing", share, tolerate)
        return 1
    log.warning("%s, within the %g --tolerate allows", share, tolerate)
    return 0


def pair_job(
    asset: Asset, args: argparse.Namespace, settings: TrainingSettings, *, ranked: bool = False
) -> PairJob:
    # A pair top:N ranked on Binance trains on Binance's bars (`auto` tries Alpaca first).
    source = "binance" if ranked and args.source == "auto" else args.source
    return PairJob(
        asset=asset,
        bars=Fetch(
            interval=args.interval,  # None: the --csv file's (read where it is read), or the pair's
            since=args.since,
            until=args.until,
            source=source,
            csv=args.csv and args.csv.absolute(),  # the workers may run elsewhere
            settings=FetchSettings.of(settings),
        ),
        backtest=not args.no_backtest,
        horizon_days=args.horizon_days or settings.max_horizon_days,
        price=args.target,
        gate=settings,
        model_version=settings.model_version,
        git_sha=settings.git_sha,
        log_level=settings.log_level,
    )


EVERY_PAIR = "*"


def wanted_pairs(args: argparse.Namespace, settings: TrainingSettings) -> PairsSetting:
    """`--asset`'s pair, or with `--all` the ASSETS setting's (`*`: the `--csv` file's, or the
    embedded snapshot's)."""
    if not args.all:
        return PairsSetting((asset_for_symbol(args.asset),))
    if settings.assets.strip() != EVERY_PAIR:
        return pairs_setting(settings.assets)
    # Imported here: reading the file or the snapshot's list takes pandas.
    from cryptopredict.data.csvfile import pair_symbols  # noqa: PLC0415
    from cryptopredict.data.errors import DataError  # noqa: PLC0415
    from cryptopredict.data.snapshot import SnapshotSource  # noqa: PLC0415

    if args.csv is not None:
        try:
            symbols = pair_symbols(args.csv, f"csv:{args.csv}")
        except DataError as error:
            raise UnknownPairError(str(error)) from error
        if not symbols:
            raise UnknownPairError(f"{args.csv} has no `symbol` column: name its pair with --asset")
        slugs = [slug_for_binance(symbol) for symbol in symbols]
    else:
        slugs = SnapshotSource().slugs()
    return PairsSetting(tuple(configured_assets(",".join(slugs))))


def _git_sha() -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


def _public(reason: str, args: argparse.Namespace) -> str:
    """A failure's reason as published: no password, files relative to where training ran."""
    places = [Path.cwd(), args.out.absolute()]
    if args.csv is not None:
        places.append(args.csv.absolute().parent)
    for place in sorted({str(place) for place in places}, key=len, reverse=True):
        reason = reason.replace(f"{place}/", "")
    return redact(reason)


def _share(text: str) -> float:
    try:
        share = float(text)
    except ValueError:
        share = -1.0
    if not 0 <= share <= 1:
        raise argparse.ArgumentTypeError(f"not a share between 0 and 1: {text!r}")
    return share


def _instant(text: str) -> str:
    """`text`, once read as an ISO 8601 date or time."""
    try:
        datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date or time: {text!r}") from None
    return text


def _until(text: str) -> str:
    when = datetime.fromisoformat(_instant(text))  # UTC unless it says otherwise
    if (when if when.tzinfo is not None else when.replace(tzinfo=UTC)) > datetime.now(UTC):
        raise argparse.ArgumentTypeError(f"{text!r} is in the future: no bar has closed by then")
    return text
