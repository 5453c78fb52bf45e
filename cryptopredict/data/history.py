"""Getting a validated price history: `auto` tries Alpaca, then Binance, then the embedded
snapshot, each failure logged with its reason; strict mode (REQUIRE_FRESH_HOURS) never uses the
snapshot and counts stale live data as a failure."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from cryptopredict.assets import Asset
from cryptopredict.candles import Interval
from cryptopredict.config import SOURCE_NAMES, HistorySettings
from cryptopredict.data.alpaca import AlpacaSource
from cryptopredict.data.binance import BinanceSource
from cryptopredict.data.csvfile import CsvSource
from cryptopredict.data.errors import DataError
from cryptopredict.data.frame import BarQuery, Bars, BarSource, empty_frame
from cryptopredict.data.snapshot import SnapshotSource
from cryptopredict.data.store import HistoryStore, StoredHistory, drop_open_bar
from cryptopredict.data.validation import ValidationFindings, summarize, validate

log = logging.getLogger(__name__)

LIVE_SOURCES = ("alpaca", "binance")


class NoHistoryError(DataError):
    """No source delivered a usable history; the message gives each source's reason."""


@dataclass(frozen=True)
class History:
    bars: Bars
    report: ValidationFindings
    failures: tuple[str, ...]  # "source: reason" for every source tried before this one


def load_history(
    asset: Asset,
    interval: Interval | str,
    since: pd.Timestamp,
    settings: HistorySettings,
    *,
    source: str = "auto",
    csv: Path | None = None,
    now: pd.Timestamp | None = None,
    until: pd.Timestamp | None = None,
    sources: Sequence[BarSource] | None = None,
) -> History:
    """The validated bars of `asset` from `since` to the last closed (by `until`, when given: the
    history store is then read, never written)."""
    now = now or pd.Timestamp.now(tz="UTC")
    if until is not None:
        now = min(now, until)
    query = BarQuery(asset, Interval.parse(interval), pd.Timestamp(since), now)
    chain = list(sources) if sources is not None else _chain(source, csv, settings)
    store = HistoryStore(settings.cache_dir)
    failures: list[str] = []
    for each in chain:
        try:
            bars, report = _from_source(each, query, settings, store, now, keep=until is None)
        except DataError as error:
            reason = getattr(error, "reason", None) or str(error)
            # Falling back (to the snapshot, offline) is the normal path: said at INFO.
            log.info("%s: source %s failed: %s", asset.slug, each.name, reason)
            failures.append(f"{each.name}: {reason}")
            continue
        log.info(
            "%s: source %s served %s %s", asset.slug, each.name, query.interval, summarize(report)
        )
        return History(bars, report, tuple(failures))
    raise NoHistoryError(
        f"no source delivered {asset.symbol} {query.interval} bars: " + "; ".join(failures)
    )


def _chain(source: str, csv: Path | None, settings: HistorySettings) -> list[BarSource]:
    if csv is not None:
        return [CsvSource(csv)]
    factories: dict[str, Callable[[], BarSource]] = {
        "alpaca": lambda: AlpacaSource(settings),
        "binance": lambda: BinanceSource(settings),
        "snapshot": SnapshotSource,
    }
    if source == "auto":
        names = LIVE_SOURCES if settings.require_fresh_hours is not None else factories
        return [factories[name]() for name in names]
    if source not in factories:
        raise ValueError(f"unknown source {source!r}; choose one of {', '.join(SOURCE_NAMES)}")
    return [factories[source]()]


def _from_source(
    source: BarSource,
    query: BarQuery,
    rules: HistorySettings,
    store: HistoryStore,
    now: pd.Timestamp,
    *,
    keep: bool = True,
) -> tuple[Bars, ValidationFindings]:
    """The validated bars closed by `now`; a live source's merged with the store's, kept there
    when `keep`."""
    if source.name not in LIVE_SOURCES:
        fetched = drop_open_bar(source.fetch(query), query.interval, now)
        return validate(_bars(source, fetched, query), rules, now)
    key = (source.name, query.asset.slug, query.interval)
    stored = store.load(*key) or StoredHistory(empty_frame(), query.start)
    fetched = source.fetch(replace(query, start=stored.resume_start(query.start)))
    merged = drop_open_bar(stored.merge(fetched), query.interval, now)
    # Bars before the query's start can only come from the store, which holds validated bars.
    in_window = merged["timestamp"] >= query.start
    bars, report = validate(_bars(source, merged[in_window], query), rules, now)
    if keep:
        kept = pd.concat([merged[~in_window], bars.frame], ignore_index=True)
        store.save(*key, StoredHistory(kept, min(stored.covers_from, query.start)))
    return bars, report


def _bars(source: BarSource, frame: pd.DataFrame, query: BarQuery) -> Bars:
    return Bars(frame, query.asset.symbol, query.interval, source.name)
