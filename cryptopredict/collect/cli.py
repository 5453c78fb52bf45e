"""`python -m cryptopredict.collect`: stream live minute bars into DATABASE_URL, or replay a file.

SIGTERM and SIGINT stop it after the write in progress: writes happen between the event
loop's awaits, so cancelling the collector never interrupts one, and each is one transaction.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptopredict.assets import Asset, UnknownPairError, configured_assets
from cryptopredict.collect.replay import read_minutes, replay, write_unshifted
from cryptopredict.collect.writer import MinuteWriter
from cryptopredict.config import CollectorSettings, ConfigError
from cryptopredict.exchanges.rest import MissingKeysError, RefusedError, UnavailableError
from cryptopredict.following_make import follow_make
from cryptopredict.logs import configure
from cryptopredict.minutes.bars import MalformedBarError
from cryptopredict.minutes.store import DatabaseUnavailableError, MinuteStore, StoreError

if TYPE_CHECKING:
    from cryptopredict.collect.alpaca import AlpacaCollector
    from cryptopredict.collect.collector import Backoff

log = logging.getLogger("cryptopredict.collect")

DEFAULT_PLAY_MINUTES = 1440


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m cryptopredict.collect",
        description="Stream closed one-minute bars of every asset in ASSETS from Binance (Alpaca "
        "where Binance refuses) into DATABASE_URL; or, with --replay, play a stored minute file "
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
        help="replay: write every minute at its own time, at once, however old (no retention); "
        "with models trained `train.py --until` inside the file's span and served, "
        "/model/{asset}/track-record scores their forecasts on it",
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
    try:
        if args.replay is not None:
            return _replay(args, settings)
        return asyncio.run(_until_signalled(collect(configured_assets(settings.assets), settings)))
    except (UnknownPairError, MalformedBarError, OSError, StoreError) as error:
        log.error("%s", error)
        return 1


def _replay(args: argparse.Namespace, settings: CollectorSettings) -> int:
    asset = configured_assets(args.asset)[0].slug if args.asset else _asset_from_name(args.replay)
    bars = read_minutes(args.replay, asset)
    with MinuteStore.open(settings.database_url) as store:
        # Unshifted minutes are history: the retention, counted from the clock, would drop them.
        retention = None if args.no_shift else settings.minute_retention_days
        writer = MinuteWriter(store, retention, max_jump=settings.max_bar_jump)
        if args.no_shift:
            write_unshifted(bars, writer)
            return 0
        job = replay(bars, writer, speed=args.speed, play_minutes=args.play_minutes)
        return asyncio.run(_until_signalled(job))


async def collect(
    assets: list[Asset],
    settings: CollectorSettings,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Collect from Binance until cancelled, whatever fails: the database (opened again after
    the backoff), or Binance refusing on every host (Alpaca's stream then, where it can start;
    else Binance again after the backoff)."""
    from cryptopredict.collect.collector import Backoff, BinanceCollector  # noqa: PLC0415

    backoff = Backoff()
    store = await _open(settings.database_url, backoff, sleep)
    writer = MinuteWriter(store, settings.minute_retention_days, max_jump=settings.max_bar_jump)
    log.info("collecting %s minute bars into %s", ", ".join(a.slug for a in assets), store)
    binance = BinanceCollector(assets, writer, settings, backoff=backoff, sleep=sleep)
    try:
        while True:
            try:
                await binance.run()
            except RefusedError as refusal:
                fallback = _alpaca(assets, writer, settings, refusal)
                if fallback is not None:
                    try:
                        await fallback.run()
                    except (StoreError, UnavailableError) as error:
                        log.warning("alpaca stream: %s", error)
                    except Exception as error:  # a fault nobody foresaw must not stop it
                        log.exception("alpaca stream: unexpected %s", type(error).__name__)
            delay = backoff.next()
            log.warning("trying Binance again in %.0f s", delay)
            await sleep(delay)
    finally:
        writer.store.close()


async def _open(
    url: str, backoff: Backoff, sleep: Callable[[float], Awaitable[None]]
) -> MinuteStore:
    """The database, once it can be opened; StoreError when it never will be as configured."""
    while True:
        try:
            return MinuteStore.open(url)
        except DatabaseUnavailableError as error:
            delay = backoff.next()
            log.warning("%s; trying again in %.0f s", error, delay)
            await sleep(delay)


def _alpaca(
    assets: list[Asset], writer: MinuteWriter, settings: CollectorSettings, refusal: RefusedError
) -> AlpacaCollector | None:
    """Alpaca's stream, or None when it cannot start here (the reason is logged)."""
    try:
        from cryptopredict.collect.alpaca import AlpacaCollector  # noqa: PLC0415
    except ImportError as error:
        log.error(
            "%s on every Binance host, and the Alpaca fallback needs alpaca-py and pandas (the "
            "training requirements): %s",
            refusal,
            error,
        )
        return None
    try:
        fallback = AlpacaCollector(assets, writer, settings)
    except MissingKeysError as error:
        log.error(
            "%s on every Binance host, and the Alpaca fallback cannot start: %s", refusal, error
        )
        return None
    log.error("%s on every Binance host; moving to Alpaca's crypto stream", refusal)
    return fallback


async def _until_signalled(job: Coroutine[Any, Any, object]) -> int:
    task = asyncio.ensure_future(job)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        log.info("stopped by a signal, after the last write")
    return 0


def _asset_from_name(path: Path) -> str:
    match = re.match(r"([a-z0-9]+-[a-z0-9]+)-1m\.csv", path.name.lower())
    if not match:
        raise UnknownPairError(f"cannot tell the asset of {path.name}: pass --asset")
    return configured_assets(match.group(1))[0].slug
