"""How old the data is, in words, and how to get fresh prices: what `make run` says when it
serves old data (offline, the embedded snapshot's), as the answers' `note` says it."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path

from cryptopredict.artifact.arrays import ArtifactError
from cryptopredict.artifact.index import read_index
from cryptopredict.candles import Interval
from cryptopredict.utc import iso_utc

# Data older than this is said to be old (as the answers' note, NOTE_AFTER_HOURS's default).
OLD_AFTER_HOURS = 2.0
FRESH_PRICES = (
    "For fresh prices: LATEST_PRICES=binance,alpaca (`LATEST_PRICES=binance,alpaca make run`: "
    "the forecasts start from the latest price those sites give), or `make run` where Binance or "
    "Alpaca answers (it retrains on fresh history; ALPACA_API_KEY and ALPACA_SECRET_KEY raise "
    "Alpaca's rate limit)."
)
NAMED = 3  # pairs named, the rest counted


def in_words(seconds: float) -> str:
    """'45 minutes', '5 hours', '12 days', '4 months (123 days)'."""
    minutes, hours, days = seconds / 60, seconds / 3600, seconds / 86400
    if hours < 2:
        return _count(minutes, "minute")
    if days < 2:
        return _count(hours, "hour")
    if days < 60:
        return _count(days, "day")
    return f"{_count(days / 30.44, 'month')} ({_count(days, 'day')})"


def _count(value: float, unit: str) -> str:
    whole = max(round(value), 1)
    return f"{whole:,} {unit}{'s' * (whole != 1)}"


def old_data(ends: Mapping[str, int], now: float, *, polled: bool) -> str | None:
    """What to say of pairs whose data ended at `ends` (by slug), now; None when none is old.
    `polled`: LATEST_PRICES is set."""
    old = sorted(
        ((end, slug) for slug, end in ends.items() if now - end > OLD_AFTER_HOURS * 3600),
        reverse=True,
    )
    if not old:
        return None
    said = [f"{slug}'s ends {iso_utc(end)}, {in_words(now - end)} ago" for end, slug in old]
    if len(said) > NAMED:
        said = [*said[:NAMED], f"and {len(said) - NAMED} more pairs' as old or older"]
    lead = (now - old[0][0]) / 3600 + 1
    starts = (
        "The forecasts start from the latest price LATEST_PRICES reads, once it answers "
        "(`/healthz` says when it last did)."
        if polled
        else "With no latest price, each forecast starts from its pair's last close: the next "
        f"hour is a {lead:,.0f}-hour lead, with the wide band of such a lead."
    )
    return f"the data is old: {'; '.join(said)}. {starts} {FRESH_PRICES}"


def served_data(model_dir: Path) -> str | None:
    """`old_data` of the pairs served from `model_dir`, now."""
    try:
        entries = read_index(model_dir) or {}
    except ArtifactError:
        return None
    ends = {slug: on.last_bar + Interval.parse(on.interval).seconds for slug, on in entries.items()}
    return old_data(ends, time.time(), polled=bool(os.environ.get("LATEST_PRICES")))
