"""For the live scorecard's tests: real minutes (the embedded 1m sample moved to follow the
fixture model's last bar), written as the collector writes them, and scorecards compared."""

from __future__ import annotations

import dataclasses

import pytest

from cryptopredict.artifact.read import Artifact
from cryptopredict.collect.replay import read_minutes
from cryptopredict.collect.writer import MinuteWriter
from cryptopredict.minutes.bars import MinuteBar
from cryptopredict.minutes.store import MinuteStore
from tests.paths import MINUTE_SAMPLE

SPAN_DAYS = 9  # past the 7-day bucket's start
GAP = slice(3000, 3100)  # 100 minutes the database lacks
PRICES = ("open", "high", "low", "close", "vwap")


def following(artifact: Artifact) -> list[MinuteBar]:
    """Nine days of the real 1m sample, starting as the artifact's last bar opens (the hour
    before it closed is never scored), moved by whole minutes and scaled in price to start at
    its last close (every return is the market's own), less the minutes of `GAP`."""
    sample = read_minutes(MINUTE_SAMPLE, artifact.asset)[: SPAN_DAYS * 24 * 60]
    last_bar = int(artifact.history.ds[-1])
    offset = last_bar - sample[0].ts
    scale = float(artifact.history.close[-1]) / sample[0].open
    moved = [
        dataclasses.replace(
            bar,
            ts=bar.ts + offset,
            shift=offset,
            **{name: getattr(bar, name) * scale for name in PRICES},
        )
        for bar in sample
    ]
    return moved[: GAP.start] + moved[GAP.stop :]


def write(url: str, bars: list[MinuteBar]) -> None:
    """Store `bars` as a replay does, every one however old."""
    with MinuteStore.open(url) as store:
        writer = MinuteWriter(store, None)
        for first in range(0, len(bars), 5000):
            writer.append(bars[first : first + 5000])


def assert_same(found: object, wanted: object) -> None:
    """Equal, numbers to floating-point summation order (running sums added in other batches
    than the series at once)."""
    if isinstance(wanted, dict):
        assert isinstance(found, dict)
        assert found.keys() == wanted.keys()
        for key in wanted:
            assert_same(found[key], wanted[key])
    elif isinstance(wanted, list):
        assert isinstance(found, list)
        assert len(found) == len(wanted)
        for mine, theirs in zip(found, wanted, strict=True):
            assert_same(mine, theirs)
    elif isinstance(wanted, float):
        assert found == pytest.approx(wanted, rel=1e-9, abs=1e-15)
    else:
        assert found == wanted
