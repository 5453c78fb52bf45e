"""Play a stored minute file through the market feed's storage path, for a live demonstration
without a network.

Timestamps: the whole file is shifted by a whole number of minutes so that its last bar closes
when the playback ends. Everything but the last `play_minutes` bars is written at once (as the
feed's first backfill would be); the rest is written one bar at a time, `speed` times
faster than real time. At speed 1 each bar is written the moment its shifted minute closes, so
the newest minute is always 0-60 s old, as with the live feed. At speed N > 1 the bars
are never dated in the future: a played bar is older when written, by up to
`play_minutes * (1 - 1/N)` minutes at the start of the playback, and fresh at its end.

With `--no-shift` (`write_unshifted`) the file is written at its own times, all at once, as
the feed's backfill would have written it then: a past market to score the forecasts of
models trained `--until` inside it against (`/model/{asset}/track-record`).

Every replayed row records its source, `replay`, and the shift, so the API (`/price`) and the
dashboard say the minutes are a replay and when they really traded.
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
import logging
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TextIO

from cryptopredict.collect.writer import MinuteWriter, Outcome, stamp
from cryptopredict.minutes.bars import MINUTE, MalformedBarError, MinuteBar

log = logging.getLogger(__name__)

SOURCE = "replay"
PRELOAD_CHUNK = 5000  # bars per transaction while preloading
_OHLCV = ("open", "high", "low", "close", "volume")


def read_minutes(path: Path, asset: str) -> list[MinuteBar]:
    """The rows of an OHLCV minute CSV (`timestamp,open,high,low,close,volume`, optionally
    gzipped) as bars; malformed rows are logged and skipped, as malformed messages are."""
    bars = []
    for number, row in _rows(path):
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


def _open_text(path: Path) -> TextIO:
    return gzip.open(path, "rt", newline="") if path.suffix == ".gz" else path.open(newline="")


def _rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    with _open_text(path) as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is not None:
            reader.fieldnames = [name.strip().lower() for name in reader.fieldnames]
        yield from enumerate(reader, start=2)


def shifted(bars: list[MinuteBar], offset: int) -> list[MinuteBar]:
    """The bars moved by `offset` seconds, each recording the move (its provenance)."""
    return [dataclasses.replace(bar, ts=bar.ts + offset, shift=bar.shift + offset) for bar in bars]


def replay(
    bars: list[MinuteBar],
    writer: MinuteWriter,
    *,
    speed: float,
    play_minutes: int,
    wait: Callable[[float], bool],
    clock: Callable[[], float] = time.time,
) -> int:
    """Write `bars` as described above; returns how many were stored. `wait` sleeps, and says
    whether to stop (a `threading.Event`'s `wait`: stopped after the write in progress)."""
    if speed < 1:
        raise ValueError(f"speed must be at least 1 (got {speed}): slower would date bars ahead")
    play_minutes = min(max(play_minutes, 0), len(bars))
    started = clock()
    ends = started + play_minutes * MINUTE / speed
    offset = int((ends - (bars[-1].ts + MINUTE)) // MINUTE) * MINUTE
    timeline = shifted(bars, offset)
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
        if writer.write(bar) is Outcome.STORED:
            stored += 1
            log.info("replay: %s %s close %s", bar.asset, stamp(bar.ts), bar.close)
    log.info("replay: done, %d minutes stored", stored)
    return stored


def write_unshifted(bars: list[MinuteBar], writer: MinuteWriter) -> int:
    """Write `bars` at their own times, at once; returns how many were stored."""
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
    """Store `bars` in transactions of PRELOAD_CHUNK, as a backfill would; how many were new."""
    stored = 0
    for first in range(0, len(bars), PRELOAD_CHUNK):
        stored += writer.append(bars[first : first + PRELOAD_CHUNK]).count(Outcome.STORED)
    return stored
