"""The market feed: one poller a process, of one exchange at a time, over REST; each round the
latest prices of the priced pairs, then every minute of ASSETS missing from the retention window
(docs/live-data.md)."""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Protocol

from cryptopredict.assets import Asset
from cryptopredict.collect.exchanges import Page, RefusedError, UnavailableError
from cryptopredict.collect.writer import MinuteWriter, Outcome
from cryptopredict.minutes.bars import MINUTE, FeedStatus, Quote, stamp
from cryptopredict.minutes.store import StoreError

log = logging.getLogger(__name__)

SETTLE = 2.0  # seconds after a minute closes before it is asked for: the exchange's to close
SAID = (RefusedError, UnavailableError, StoreError)  # failures whose message says it in a line


class Exchange(Protocol):
    name: str

    def minutes(self, asset: Asset, start: int, end: int) -> Page: ...

    def prices(self, assets: Sequence[Asset], now: int) -> list[Quote]: ...


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
    ) -> None:
        self.exchanges = list(exchanges)
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
            reason = str(error) if said else f"{type(error).__name__}: {error}"
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
            self.status = dataclasses.replace(self.status, last_success=now, failing_since=None)
            delay = self.every - self.writer.clock() % self.every + SETTLE
        try:
            self.writer.record(self.status)
        except StoreError as error:
            log.debug("market feed: its status could not be recorded: %s", error)
        return delay

    def poll(self) -> None:
        """Prices, then minutes, moving to the next exchange where one refuses."""
        for tried in range(1, len(self.exchanges) + 1):
            exchange = self.exchange
            try:
                self.writer.quote(exchange.prices(self.priced(), int(self.writer.clock())))
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
        stored = malformed = 0
        for start, end in _coalesce(holes, 1000 * MINUTE):
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


def _coalesce(holes: list[tuple[int, int]], span: int) -> list[tuple[int, int]]:
    """The holes as few ranges to ask for: neighbours closer than a page share a request (the
    minutes between them come back again and change nothing)."""
    ranges: list[tuple[int, int]] = []
    for start, end in holes:
        if ranges and end - ranges[-1][0] <= span:
            ranges[-1] = (ranges[-1][0], end)
        else:
            ranges.append((start, end))
    return ranges
