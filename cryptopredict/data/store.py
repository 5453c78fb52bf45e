"""The local history store, one Parquet file per source, symbol and interval: a fetch resumes from
the last stored bar, and the file is replaced atomically once the merge passes validation."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow
import pyarrow.parquet as pq

from cryptopredict.atomic import replacing
from cryptopredict.candles import Interval
from cryptopredict.data.frame import check_frame

log = logging.getLogger(__name__)

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
