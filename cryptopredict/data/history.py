"""Getting a validated price history: `auto` tries Alpaca, then Binance, then the embedded
snapshot, each failure logged with its reason; strict mode (REQUIRE_FRESH_HOURS) never uses the
snapshot and counts stale live data as a failure. A live source's bars are kept in the local
history store, one Parquet file per source, symbol and interval: a fetch resumes from the last
stored bar, and the file is replaced atomically once the merge passes validation."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import pyarrow
import pyarrow.parquet as pq

from cryptopredict.assets import Asset
from cryptopredict.atomic import replacing
from cryptopredict.candles import Interval
from cryptopredict.config import SOURCE_NAMES, HistorySettings
from cryptopredict.data.csvfile import CsvSource
from cryptopredict.data.errors import DataError
from cryptopredict.data.frame import BarQuery, Bars, BarSource, check_frame, empty_frame
from cryptopredict.data.snapshot import SnapshotSource
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


def _live(name: str, settings: HistorySettings) -> BarSource:
    """A live source, its vendor's client imported only then (a second of CPU): never offline."""
    from cryptopredict.data.alpaca import AlpacaSource  # noqa: PLC0415
    from cryptopredict.data.binance import BinanceSource  # noqa: PLC0415

    return (AlpacaSource if name == "alpaca" else BinanceSource)(settings)


def _chain(source: str, csv: Path | None, settings: HistorySettings) -> list[BarSource]:
    if csv is not None:
        return [CsvSource(csv)]
    if source not in SOURCE_NAMES:
        raise ValueError(f"unknown source {source!r}; choose one of {', '.join(SOURCE_NAMES)}")
    names: Sequence[str] = (source,)
    if source == "auto":  # strict mode never falls back on the snapshot
        strict = settings.require_fresh_hours is not None
        names = LIVE_SOURCES if strict else (*LIVE_SOURCES, "snapshot")
    return [SnapshotSource() if name == "snapshot" else _live(name, settings) for name in names]


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


_COVERS_FROM = b"cryptopredict.covers_from"


@dataclass(frozen=True)
class StoredHistory:
    frame: pd.DataFrame
    covers_from: pd.Timestamp  # the earliest start the stored bars were fetched for

    def resume_start(self, wanted: pd.Timestamp) -> pd.Timestamp:
        """The last stored bar, if the store covers `wanted`."""
        if self.frame.empty or self.covers_from > wanted:
            return wanted
        return max(wanted, self.frame["timestamp"].iloc[-1])

    def merge(self, fetched: pd.DataFrame) -> pd.DataFrame:
        """Stored bars updated by fetched ones (which win, and keep their order, so that
        validation sees a fetch's own conflicts)."""
        kept = self.frame[~self.frame["timestamp"].isin(fetched["timestamp"])]
        return pd.concat([kept, fetched], ignore_index=True)


class HistoryStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, source: str, slug: str, interval: Interval) -> Path:
        return self.root / source / f"{slug}-{interval}.parquet"

    def load(self, source: str, slug: str, interval: Interval) -> StoredHistory | None:
        path = self.path(source, slug, interval)
        if not path.exists():
            return None
        try:
            table = pq.read_table(path)
            frame = table.to_pandas()
            check_frame(frame)
            covers_from = pd.Timestamp((table.schema.metadata or {})[_COVERS_FROM].decode())
        except (OSError, ValueError, KeyError, pyarrow.ArrowException) as error:
            log.warning("ignoring unreadable history store %s (%s); fetching afresh", path, error)
            return None
        return StoredHistory(frame, covers_from)

    def save(self, source: str, slug: str, interval: Interval, stored: StoredHistory) -> None:
        check_frame(stored.frame)
        table = pyarrow.Table.from_pandas(stored.frame, preserve_index=False)
        metadata = {**(table.schema.metadata or {}), _COVERS_FROM: stored.covers_from.isoformat()}
        with replacing(self.path(source, slug, interval)) as temporary:
            pq.write_table(table.replace_schema_metadata(metadata), temporary)


def drop_open_bar(frame: pd.DataFrame, interval: Interval, now: pd.Timestamp) -> pd.DataFrame:
    """Bars whose period has ended by `now`."""
    return frame[frame["timestamp"] + interval.delta <= now]
