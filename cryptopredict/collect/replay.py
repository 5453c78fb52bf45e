"""Play a stored minute file through the market feed's storage path, for a live demonstration
without a network: shifted by whole minutes to end when the playback does, the last
`play_minutes` bars played `speed` times real time and never dated in the future, the rest
written at once; or, `--no-shift`, all at its own times (docs/live-data.md). Each row records
its source, `replay`, and the shift."""

from __future__ import annotations

import csv
import dataclasses
import gzip
import logging
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from cryptopredict.collect.feed import MinuteWriter, Outcome, stamp
from cryptopredict.minutes.bars import MINUTE, MalformedBarError, MinuteBar

log = logging.getLogger(__name__)

SOURCE = "replay"
PRELOAD_CHUNK = 5000  # bars per transaction while preloading
_OHLCV = ("open", "high", "low", "close", "volume")


def read_minutes(path: Path, asset: str) -> list[MinuteBar]:
    """The bars of a minute OHLCV CSV (gzipped or not); malformed rows logged and skipped."""
    bars = []
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is not None:
            reader.fieldnames = [name.strip().lower() for name in reader.fieldnames]
        for number, row in enumerate(reader, start=2):
            try:
                opened = datetime.fromisoformat(row["timestamp"]).timestamp()
                ohlcv = [float(row[name]) for name in _OHLCV]
                bars.append(
                    MinuteBar.build(asset, int(opened), *ohlcv, quote_volume=None, source=SOURCE)
                )
            except (KeyError, TypeError, ValueError) as error:
                log.warning("%s line %d: skipped: %s", path, number, error)
    if not bars:
        raise MalformedBarError(f"{path} holds no minute bars")
    return bars


def replay(
    bars: list[MinuteBar],
    writer: MinuteWriter,
    *,
    speed: float,
    play_minutes: int,
    wait: Callable[[float], bool],
    clock: Callable[[], float] = time.time,
) -> int:
    """How many bars were stored; `wait` (an Event's) sleeps and says whether to stop."""
    play_minutes = min(max(play_minutes, 0), len(bars))
    started = clock()
    ends = started + play_minutes * MINUTE / speed
    offset = int((ends - (bars[-1].ts + MINUTE)) // MINUTE) * MINUTE
    timeline = [  # each bar recording the move
        dataclasses.replace(bar, ts=bar.ts + offset, shift=bar.shift + offset) for bar in bars
    ]
    split = len(timeline) - play_minutes
    stored = _at_once(timeline[:split], writer)
    log.info(
        "replay: wrote %d minutes at once, shifted by %+d min to end at %s; playing %d more at %gx",
        stored,
        offset // MINUTE,
        stamp(timeline[-1].ts),
        play_minutes,
        speed,
    )
    for index, bar in enumerate(timeline[split:], start=1):
        if wait(max(0.0, started + index * MINUTE / speed - clock())):
            log.info("replay: stopped, %d minutes stored", stored)
            return stored
        if writer.fill([bar]) == [Outcome.STORED]:
            stored += 1
            log.info("replay: %s %s close %s", bar.asset, stamp(bar.ts), bar.close)
    log.info("replay: done, %d minutes stored", stored)
    return stored


def write_unshifted(bars: list[MinuteBar], writer: MinuteWriter) -> int:
    """How many of `bars`, written at their own times, were stored."""
    stored = _at_once(bars, writer)
    log.info(
        "replay: wrote %d of %d minutes at their own times, %s to %s",
        stored,
        len(bars),
        stamp(bars[0].ts),
        stamp(bars[-1].ts),
    )
    return stored


def _at_once(bars: list[MinuteBar], writer: MinuteWriter) -> int:
    """How many of `bars`, stored PRELOAD_CHUNK a transaction, were new."""
    stored = 0
    for first in range(0, len(bars), PRELOAD_CHUNK):
        stored += writer.fill(bars[first : first + PRELOAD_CHUNK]).count(Outcome.STORED)
    return stored
