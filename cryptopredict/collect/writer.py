"""The one storage path everything the feed or a replay stores goes through: each bar checked
against the clock, the retention and its neighbours (docs/live-data.md, 'What is rejected');
the first stored copy of a minute wins. A database fault is a `StoreError`, nothing of the
failed batch kept, and the next call opens a new connection."""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from enum import Enum
from typing import TypeVar

from cryptopredict.minutes.bars import MINUTE, FeedStatus, MinuteBar, Quote, stamp
from cryptopredict.minutes.store import MinuteStore, StoreError

log = logging.getLogger(__name__)

PRUNE_EVERY = 3600.0  # seconds of clock between prunes
JUMP_WINDOW = 15 * MINUTE  # neighbours whose median close a bar is checked against
T = TypeVar("T")


class Outcome(Enum):
    STORED = "stored"
    DUPLICATE = "duplicate"
    CONFLICT = "a different copy of a stored minute"
    FUTURE = "from the future"
    EXPIRED = "past the retention"
    JUMP = "an impossible jump"


class MinuteWriter:
    def __init__(
        self,
        store: MinuteStore,
        retention_days: float | None,
        *,
        max_jump: float = 3.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`retention_days` None keeps every minute, however old, and prunes nothing (a replay
        of recorded minutes at their own times)."""
        self.store = store
        self.retention = (
            None if retention_days is None else int(retention_days * 86_400) // MINUTE * MINUTE
        )
        self.max_jump = max_jump
        self.clock = clock
        self._pruned_at = float("-inf")
        self._broken = False

    def newest(self, asset: str) -> int | None:
        window = self._use(lambda: self.store.windows(asset)).get(asset)
        return None if window is None else window.last

    def window_start(self) -> int:
        """The first minute the retention keeps (the one running its days ago); 0 without."""
        if self.retention is None:
            return 0
        return int(self.clock() - self.retention) // MINUTE * MINUTE

    def gaps(self, asset: str, since: int = 0) -> list[tuple[int, int]]:
        """The [start, end) runs of minutes missing from the retention window (from `since`)."""
        start, end = max(self.window_start(), since), int(self.clock()) // MINUTE * MINUTE
        return self._use(lambda: self.store.gaps(asset, start, end))

    def write(self, bar: MinuteBar) -> Outcome:
        return self.fill([bar])[0]

    def quote(self, quotes: Sequence[Quote]) -> None:
        self._use(lambda: self.store.write_quotes(quotes))

    def record(self, status: FeedStatus) -> None:
        self._use(lambda: self.store.write_status(status))

    def prune(self) -> int:
        """Delete the minutes past the retention (and any an earlier version stored dated after
        the clock); how many were past the retention."""
        now = self.clock()
        before = self.window_start()
        gone = self._use(lambda: self.store.prune(before))
        future = self._use(lambda: self.store.remove_after(int(now)))
        self._pruned_at = now
        if gone:
            log.info("pruned %d minutes older than the retention", gone)
        if future:
            log.warning("removed %d minutes dated after the clock (%s)", future, stamp(int(now)))
        return gone

    def prune_if_due(self) -> None:
        if self.retention is not None and self.clock() - self._pruned_at >= PRUNE_EVERY:
            self.prune()

    def _use(self, call: Callable[[], T]) -> T:
        if self._broken:
            self.store.close()
            self.store = MinuteStore.open(self.store.url)
            self._broken = False
            log.info("reconnected to %s", self.store)
        try:
            return call()
        except StoreError:
            # The connection may be dead, and what was cached uncommitted.
            self._broken = True
            raise

    def fill(self, given: Iterable[MinuteBar]) -> list[Outcome]:
        """Store, in one transaction, the bars of minutes the database lacks."""
        bars = list(given)
        now = self.clock()
        oldest = self.window_start()
        outcomes: dict[int, Outcome] = {}
        for asset in dict.fromkeys(bar.asset for bar in bars):
            mine = [index for index, bar in enumerate(bars) if bar.asset == asset]
            judged = self._check([bars[i] for i in mine], now, oldest)
            outcomes.update(zip(mine, judged, strict=True))
        accepted = [bar for index, bar in enumerate(bars) if outcomes[index] is Outcome.STORED]
        self._use(lambda: self.store.write(accepted))
        if accepted:
            self.prune_if_due()
        return [outcomes[index] for index in range(len(bars))]

    def _check(self, bars: Sequence[MinuteBar], now: float, oldest: int) -> list[Outcome]:
        """The outcome of each bar of one asset, in order."""
        asset = bars[0].asset
        low = min(bar.ts for bar in bars) - JUMP_WINDOW
        high = max(bar.ts for bar in bars) + JUMP_WINDOW + MINUTE
        rows = self._use(lambda: self.store.bars(asset, low, high))
        stored = {int(row[0]): tuple(float(value) for value in row[1:6]) for row in rows}
        # Checked against the stored closes and the batch's not rejected so far.
        near = {ts: values[3] for ts, values in stored.items()}
        for bar in bars:
            near.setdefault(bar.ts, bar.close)
        outcomes = []
        for bar in bars:
            outcome = self._judge(bar, now, oldest, stored)
            if outcome is Outcome.STORED:
                reference = _median_around(near, bar.ts)
                if reference is not None and _jumps(bar, reference, self.max_jump):
                    outcome = Outcome.JUMP
                    _told(
                        bar,
                        "rejected",
                        f"an impossible jump (low {bar.low}, high {bar.high}, against a median "
                        f"close of {reference} within {JUMP_WINDOW // MINUTE} minutes; "
                        f"MAX_BAR_JUMP is {self.max_jump})",
                    )
            if outcome is Outcome.STORED:
                stored[bar.ts] = (bar.open, bar.high, bar.low, bar.close, bar.volume)
            elif bar.ts not in stored:
                near.pop(bar.ts, None)
            outcomes.append(outcome)
        return outcomes

    def _judge(
        self, bar: MinuteBar, now: float, oldest: int, stored: dict[int, tuple[float, ...]]
    ) -> Outcome:
        if bar.ts > now:
            _told(bar, "rejected", f"from the future (the clock says {stamp(int(now))})")
            return Outcome.FUTURE
        if bar.ts < oldest:
            log.debug("%s: skipped the %s bar: past the retention", bar.asset, stamp(bar.ts))
            return Outcome.EXPIRED
        kept = stored.get(bar.ts)
        if kept is None:
            return Outcome.STORED
        new = (bar.open, bar.high, bar.low, bar.close, bar.volume)
        if kept == new:
            return Outcome.DUPLICATE
        log.warning(
            "%s: kept the stored %s bar (open %s, high %s, low %s, close %s, volume %s); "
            "ignored a different copy from %s (open %s, high %s, low %s, close %s, volume %s)",
            bar.asset,
            stamp(bar.ts),
            *kept,
            bar.source,
            *new,
        )
        return Outcome.CONFLICT


def _median_around(closes: dict[int, float], ts: int) -> float | None:
    """The median close of the other minutes within JUMP_WINDOW of `ts`."""
    others = range(ts - JUMP_WINDOW, ts + JUMP_WINDOW + 1, MINUTE)
    found = [closes[other] for other in others if other != ts and other in closes]
    return statistics.median(found) if found else None


def _told(bar: MinuteBar, done: str, why: str) -> None:
    log.warning("%s: %s the %s bar from %s: %s", bar.asset, done, stamp(bar.ts), bar.source, why)


def _jumps(bar: MinuteBar, reference: float, factor: float) -> bool:
    return bar.high > reference * factor or bar.low < reference / factor
