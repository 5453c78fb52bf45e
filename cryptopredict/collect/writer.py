"""The one storage path every source goes through: stream, backfill and replay alike.

Per asset, bars are stored in time order. A bar for a minute already stored is a duplicate and
changes nothing; a bar older than the newest stored one is out of order: logged and skipped,
never stored (gaps before the newest minute are filled by backfill, which asks the exchange,
not by stray messages). Minutes older than the retention are pruned as the newest one advances.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from enum import Enum

from cryptopredict.collect.bars import MINUTE, MinuteBar
from cryptopredict.collect.store import MinuteStore

log = logging.getLogger(__name__)

PRUNE_EVERY = 60 * MINUTE  # prune at most once an hour of bar time per asset


class Outcome(Enum):
    STORED = "stored"
    DUPLICATE = "duplicate"
    OUT_OF_ORDER = "out of order"


class MinuteWriter:
    def __init__(self, store: MinuteStore, retention_days: float) -> None:
        self.store = store
        self.retention = int(retention_days * 86_400)
        self._newest: dict[str, int | None] = {}
        self._pruned: dict[str, int] = {}

    def newest(self, asset: str) -> int | None:
        """Open time of the newest stored minute of `asset` (None before the first)."""
        if asset not in self._newest:
            self._newest[asset] = self.store.last_minute(asset)
        return self._newest[asset]

    def write(self, bar: MinuteBar) -> Outcome:
        return self.write_many([bar])[0]

    def write_many(self, bars: Iterable[MinuteBar]) -> list[Outcome]:
        """Store the bars that come after each asset's newest stored minute, in one transaction."""
        outcomes, accepted = [], []
        for bar in bars:
            newest = self.newest(bar.asset)
            if newest is not None and bar.ts <= newest:
                outcome = Outcome.DUPLICATE if bar.ts == newest else Outcome.OUT_OF_ORDER
                if outcome is Outcome.OUT_OF_ORDER:
                    log.warning(
                        "%s: skipped the %s bar from %s: out of order (the newest stored is %s)",
                        bar.asset,
                        stamp(bar.ts),
                        bar.source,
                        stamp(newest),
                    )
            else:
                outcome = Outcome.STORED
                accepted.append(bar)
                self._newest[bar.asset] = bar.ts
            outcomes.append(outcome)
        self.store.write(accepted)
        for asset in {bar.asset for bar in accepted}:
            self._prune(asset)
        return outcomes

    def _prune(self, asset: str) -> None:
        newest = self._newest[asset]
        if newest is None or newest - self._pruned.get(asset, -PRUNE_EVERY) < PRUNE_EVERY:
            return
        self._pruned[asset] = newest
        gone = self.store.prune(asset, newest - self.retention)
        if gone:
            log.info("%s: pruned %d minutes older than the retention", asset, gone)


def stamp(ts: int) -> str:
    """An epoch second as ISO UTC minutes, for logs."""
    return time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime(ts))
