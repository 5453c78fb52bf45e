"""The market feed: one poller a process, of one exchange at a time, over REST; each round the
latest prices of the priced pairs, then every minute of ASSETS missing from the retention window
(docs/live-data.md).

`MinuteWriter` is the one storage path everything the feed or a replay stores goes through: each
bar checked against the clock, the retention and its neighbours (docs/live-data.md, 'What is
rejected'); the first stored copy of a minute wins. A database fault is a `StoreError`, nothing
of the failed batch kept, and the next call opens a new connection."""

from __future__ import annotations

import dataclasses
import logging
import statistics
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from enum import Enum
from typing import TypeVar

from cryptopredict.assets import Asset
from cryptopredict.collect.exchanges import Alpaca, Binance, RefusedError, UnavailableError
from cryptopredict.logs import redact
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
            outcome = self._judge(bar, now, oldest, stored, near)
            if outcome is Outcome.STORED:
                stored[bar.ts] = (bar.open, bar.high, bar.low, bar.close, bar.volume)
            elif bar.ts not in stored:
                near.pop(bar.ts, None)
            outcomes.append(outcome)
        return outcomes

    def _judge(
        self,
        bar: MinuteBar,
        now: float,
        oldest: int,
        stored: dict[int, tuple[float, ...]],
        near: dict[int, float],
    ) -> Outcome:
        if bar.ts > now:
            _rejected(bar, f"from the future (the clock says {stamp(int(now))})")
            return Outcome.FUTURE
        if bar.ts < oldest:
            log.debug("%s: skipped the %s bar: past the retention", bar.asset, stamp(bar.ts))
            return Outcome.EXPIRED
        kept = stored.get(bar.ts)
        new = (bar.open, bar.high, bar.low, bar.close, bar.volume)
        if kept == new:
            return Outcome.DUPLICATE
        if kept is not None:
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
        # Against the median close of the other minutes within JUMP_WINDOW.
        around = range(bar.ts - JUMP_WINDOW, bar.ts + JUMP_WINDOW + 1, MINUTE)
        closes = [near[ts] for ts in around if ts != bar.ts and ts in near]
        if closes:
            reference = statistics.median(closes)
            if bar.high > reference * self.max_jump or bar.low < reference / self.max_jump:
                _rejected(
                    bar,
                    f"an impossible jump (low {bar.low}, high {bar.high}, against a median "
                    f"close of {reference} within {JUMP_WINDOW // MINUTE} minutes; "
                    f"MAX_BAR_JUMP is {self.max_jump})",
                )
                return Outcome.JUMP
        return Outcome.STORED


def _rejected(bar: MinuteBar, why: str) -> None:
    log.warning("%s: rejected the %s bar from %s: %s", bar.asset, stamp(bar.ts), bar.source, why)


SETTLE = 2.0  # seconds after a minute closes before it is asked for: the exchange's to close
SAID = (RefusedError, UnavailableError, StoreError)  # failures whose message says it in a line


Exchange = Binance | Alpaca


class Backoff:
    """Exponential waits between failed rounds: 1, 2, 4, ... up to 60 s, or the server's hint."""

    def __init__(self, first: float = 1.0, cap: float = 60.0) -> None:
        self.first, self.cap = first, cap
        self._next = first

    def next(self, hint: float | None = None) -> float:
        delay = max(self._next, hint or 0.0)
        self._next = min(self.cap, self._next * 2)
        return delay

    def reset(self) -> None:
        self._next = self.first


class StoppedError(Exception):
    """Asked to stop in the middle of a round."""


class Feed:
    def __init__(
        self,
        exchanges: Sequence[Exchange],
        writer: MinuteWriter,
        live: Sequence[Asset],
        priced: Callable[[], Sequence[Asset]],
        *,
        every: float = 60.0,
        backoff: Backoff | None = None,
        stop: threading.Event | None = None,
        on_written: Callable[[], None] = lambda: None,  # a round's prices, then the round
    ) -> None:
        self.exchanges = list(exchanges)
        self.on_written = on_written
        self.writer = writer
        self.live = list(live)
        self.priced = priced
        self.every = every
        self.backoff = backoff or Backoff()
        self.stop = stop or threading.Event()
        self.status = FeedStatus(tuple(exchange.name for exchange in self.exchanges))
        self._at = 0
        # Per pair, up to where only the exchange's own holes are left: not asked for again.
        self._settled: dict[str, int] = {}

    @property
    def exchange(self) -> Exchange:  # the one polled now
        return self.exchanges[self._at]

    def run(self) -> None:
        log.info(
            "market feed: minutes of %s and latest prices from %s into %s",
            ", ".join(asset.slug for asset in self.live) or "no pair",
            " then ".join(exchange.name for exchange in self.exchanges),
            self.writer.store,
        )
        while not self.stop.is_set():
            delay = self.round()
            self.stop.wait(delay)

    def round(self) -> float:
        """One round, recorded; the seconds to wait for the next."""
        now = int(self.writer.clock())
        try:
            self.poll()
        except StoppedError:
            return 0.0
        except Exception as error:  # a fault nobody foresaw must not stop the feed either
            delay = self.backoff.next(getattr(error, "retry_after", None))
            said = isinstance(error, SAID)
            reason = redact(str(error) if said else f"{type(error).__name__}: {error}")
            log.warning(
                "market feed: %s; polling again in %.0f s", reason, delay, exc_info=not said
            )
            self.status = dataclasses.replace(
                self.status,
                last_error=reason,
                last_error_at=now,
                failing_since=self.status.failing_since or now,
            )
        else:
            if self.status.failing_since is not None:
                log.info("market feed: polled %s again", self.exchange.name)
            self.backoff.reset()
            self.status = FeedStatus(self.status.sources, now, None, self.status.last_error_at)
            delay = self.every - self.writer.clock() % self.every + SETTLE
        try:
            self.writer.record(self.status)
        except StoreError as error:
            log.debug("market feed: its status could not be recorded: %s", error)
        self.on_written()
        return delay

    def poll(self) -> None:
        """Prices, then minutes, moving to the next exchange where one refuses."""
        for tried in range(1, len(self.exchanges) + 1):
            exchange = self.exchange
            try:
                self.writer.quote(exchange.prices(self.priced(), int(self.writer.clock())))
                self.on_written()  # read before the minutes: none is shown without its price
                self.writer.prune_if_due()
                for asset in self.live:
                    self._repair(exchange, asset)
                return
            except RefusedError as refusal:
                self._at = (self._at + 1) % len(self.exchanges)
                self._settled.clear()
                if tried == len(self.exchanges):
                    raise
                log.error("market feed: %s; moving to %s", refusal, self.exchange.name)

    def _repair(self, exchange: Exchange, asset: Asset) -> None:
        holes = self.writer.gaps(asset.slug, since=self._settled.get(asset.slug, 0))
        if not holes:
            return
        # As few ranges to ask for: holes closer than a page share a request (the minutes between
        # them come back again and change nothing).
        ranges: list[tuple[int, int]] = []
        for start, end in holes:
            if ranges and end - ranges[-1][0] <= 1000 * MINUTE:
                ranges[-1] = (ranges[-1][0], end)
            else:
                ranges.append((start, end))
        stored = malformed = 0
        for start, end in ranges:
            following: int | None = start
            while following is not None:
                if self.stop.is_set():
                    raise StoppedError
                page = exchange.minutes(asset, following, end)
                # each page one write: a stop loses at most the request in flight
                stored += self.writer.fill(page.bars).count(Outcome.STORED)
                malformed += page.malformed
                following = page.following
        newest = self.writer.newest(asset.slug)
        if malformed:  # their minutes are asked for again, and every hole with them
            self._settled.pop(asset.slug, None)
        elif newest is not None:
            self._settled[asset.slug] = newest + MINUTE
        missing = sum((end - start) // MINUTE for start, end in holes)
        log.log(
            logging.INFO if missing > 1 or malformed else logging.DEBUG,
            "%s: %d of the %d minutes missing from %s to %s stored from %s%s",
            asset.slug,
            stored,
            missing,
            stamp(holes[0][0]),
            stamp(holes[-1][1] - MINUTE),
            exchange.name,
            f"; {malformed} malformed, asked again later" if malformed else "",
        )
