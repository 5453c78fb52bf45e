"""`python -m cryptopredict.collect`: the market feed into DATABASE_URL, or a replay of a minute
file; and the feed on a thread of the API process (`beside_the_api`). SIGTERM and SIGINT stop it
after the request or write in progress."""

from __future__ import annotations

import argparse
import logging
import re
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from cryptopredict.artifact.index import artifact_dirs
from cryptopredict.assets import Asset, UnknownPairError, asset_for_symbol, configured_assets
from cryptopredict.collect.exchanges import ALPACA_URL, MARKET_DATA_API_URL, Alpaca, Binance
from cryptopredict.collect.feed import Backoff, Exchange, Feed, MinuteWriter
from cryptopredict.collect.replay import read_minutes, replay, write_unshifted
from cryptopredict.config import ApiSettings, CollectorSettings, ConfigError
from cryptopredict.following_make import follow_make
from cryptopredict.logs import configure
from cryptopredict.minutes.bars import MalformedBarError
from cryptopredict.minutes.store import DatabaseUnavailableError, MinuteStore, StoreError

log = logging.getLogger("cryptopredict.collect")

DEFAULT_PLAY_MINUTES = 1440
DEFAULT_EXCHANGES = "binance,alpaca"  # what the command polls when LATEST_PRICES is unset


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m cryptopredict.collect",
        description="Poll the latest price of every served pair and the closed one-minute bars "
        "of every asset in ASSETS from the exchanges LATEST_PRICES names (default "
        f"{DEFAULT_EXCHANGES}) into DATABASE_URL; or, with --replay, play a stored minute file "
        "through the same storage path.",
    )
    parser.add_argument("--replay", type=Path, metavar="FILE", help="a minute OHLCV CSV (.gz)")
    parser.add_argument(
        "--speed", type=float, default=1.0, help="replay this many times real time (>= 1)"
    )
    parser.add_argument(
        "--play-minutes",
        type=int,
        default=DEFAULT_PLAY_MINUTES,
        help="replay: bars played one at a time at the end of the file; the ones before are "
        f"written at once (default {DEFAULT_PLAY_MINUTES})",
    )
    parser.add_argument(
        "--asset", help="replay: the asset the file holds (default: from its name, btc-usd-...)"
    )
    parser.add_argument(
        "--no-shift",
        action="store_true",
        help="replay: write every minute at its own time, at once, however old (no retention): "
        "its prices are ones the forecasts may start from, as a live minute's are",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = CollectorSettings.from_env()
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    configure(settings.log_level)
    follow_make()  # `make live`: stopped with it
    if args.replay is None and (args.asset or args.speed != 1.0 or args.no_shift):
        parser().error("--asset, --speed and --no-shift go with --replay")
    if args.no_shift and (args.speed != 1.0 or args.play_minutes != DEFAULT_PLAY_MINUTES):
        parser().error(
            "--no-shift writes every minute at once: --speed and --play-minutes do not apply"
        )
    if args.speed < 1:
        parser().error("--speed must be at least 1")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        if args.replay is not None:
            _replay(args, settings, stop)
        else:
            run(settings, stop)
    except (UnknownPairError, MalformedBarError, OSError, StoreError) as error:
        log.error("%s", error)
        return 1
    if stop.is_set():
        log.info("stopped by a signal, after the last write")
    return 0


def _replay(args: argparse.Namespace, settings: CollectorSettings, stop: threading.Event) -> None:
    if args.asset:
        asset = configured_assets(args.asset)[0].slug
    elif named := re.match(r"([a-z0-9]+-[a-z0-9]+)-1m\.csv", args.replay.name.lower()):
        asset = configured_assets(named[1])[0].slug
    else:
        raise UnknownPairError(f"cannot tell the asset of {args.replay.name}: pass --asset")
    bars = read_minutes(args.replay, asset)
    with MinuteStore.open(settings.database_url) as store:
        # Unshifted minutes are history: the retention, counted from the clock, would drop them.
        retention = None if args.no_shift else settings.minute_retention_days
        writer = MinuteWriter(store, retention, max_jump=settings.max_bar_jump)
        if args.no_shift:
            write_unshifted(bars, writer)
        else:
            replay(bars, writer, speed=args.speed, play_minutes=args.play_minutes, wait=stop.wait)


def run(
    settings: CollectorSettings,
    stop: threading.Event,
    served: Path | None = None,
    on_written: Callable[[], None] = lambda: None,
) -> None:
    """The feed of LATEST_PRICES' exchanges until `stop`, pricing ASSETS and the pairs `served`
    holds, calling `on_written` once each round's prices, then the round, are written; a
    database not reachable yet is waited for, StoreError when it never will be."""
    backoff = Backoff()
    while True:
        try:
            store = MinuteStore.open(settings.database_url)
            break
        except DatabaseUnavailableError as error:
            delay = backoff.next()
            log.warning("%s; trying again in %.0f s", error, delay)
            if stop.wait(delay):
                return
    with store:
        writer = MinuteWriter(store, settings.minute_retention_days, max_jump=settings.max_bar_jump)
        live = configured_assets(settings.assets)
        Feed(
            polled(settings),
            writer,
            live,
            lambda: priced(live, served),
            every=settings.latest_price_seconds,
            backoff=backoff,
            stop=stop,
            on_written=on_written,
        ).run()


def polled(settings: CollectorSettings) -> list[Exchange]:
    keys = (settings.alpaca_api_key or "", settings.alpaca_secret_key or "")
    timeout = settings.latest_price_timeout
    found: list[Exchange] = []
    for item in (settings.latest_prices or DEFAULT_EXCHANGES).split(","):
        name, _, url = item.strip().partition("=")
        if name.lower() == "alpaca":
            found.append(
                Alpaca(url or ALPACA_URL, timeout=timeout, keys=keys if all(keys) else None)
            )
        else:
            found.append(Binance(url or MARKET_DATA_API_URL, timeout=timeout))
    return found


def priced(live: list[Asset], model_dir: Path | None) -> list[Asset]:
    """The pairs whose latest price the feed reads: ASSETS, and those `model_dir` serves now."""
    dirs = artifact_dirs(model_dir) if model_dir else []
    served = [asset_for_symbol(path.name) for path in dirs]
    return list({asset.slug: asset for asset in [*live, *served]}.values())


def beside_the_api(settings: ApiSettings, on_written: Callable[[], None]) -> Callable[[], None]:
    """`run` on a thread of the API process, when LATEST_PRICES is set and DATABASE_URL is
    SQLite (for PostgreSQL, one collector feeds every API process); what stops it."""
    if not settings.latest_prices:
        log.info("no market feed (LATEST_PRICES is unset): the forecasts start from the model")
        return lambda: None
    if not settings.database_url.startswith("sqlite:"):
        log.info("the market feed is `python -m cryptopredict.collect`'s, beside PostgreSQL")
        return lambda: None
    stop = threading.Event()

    def feed() -> None:
        try:
            run(settings, stop, settings.model_dir, on_written)
        except (UnknownPairError, StoreError) as error:
            log.error("the market feed cannot run: %s", error)

    thread = threading.Thread(target=feed, name="market-feed", daemon=True)
    thread.start()

    def stopping() -> None:
        stop.set()
        thread.join(timeout=30)

    return stopping
