"""Reading the minute database from a threaded server: one read-only connection per thread,
never creating anything. A database slow or gone costs the rest nothing: quick timeouts, one
remembered as down for `retry_after` seconds (a circuit breaker), at most `max_readers`
threads reading, and a read past its deadline cut from this side (`Watchdog`); a failed
connection is dropped and a replaced SQLite file reopened, so the server picks the database up
without a restart (docs/live-data.md)."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from cryptopredict.minutes.store import DEFAULT_TIMEOUT, MinuteStore, NoDatabaseError, StoreError

log = logging.getLogger(__name__)


class ReadersBusyError(StoreError):
    pass


WATCHDOG_GRACE = 1.0  # seconds past the statement timeout before a read is cut
WATCHDOG_EVERY = 0.1  # seconds between two looks at the reads in progress


@dataclass
class _Read:
    deadline: float
    store: MinuteStore
    cut: bool = False


class Watchdog:
    """One thread that cuts the reads past their deadline (`MinuteStore.interrupt`)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._reads: dict[int, _Read] = {}  # by thread
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.stuck = 0  # reads cut so far

    @contextlib.contextmanager
    def watching(self, store: MinuteStore, seconds: float) -> Iterator[_Read]:
        """This thread's read on `store` watched for `seconds`; `.cut`: whether it was cut."""
        read = _Read(self._clock() + seconds, store)
        me = threading.get_ident()
        with self._lock:
            self._reads[me] = read
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="live-watchdog", daemon=True)
                self._thread.start()
        try:
            yield read
        finally:
            with self._lock:  # held while a cut runs: the store is not closed under it
                del self._reads[me]

    def _run(self) -> None:
        while True:
            time.sleep(WATCHDOG_EVERY)
            now = self._clock()
            with self._lock:
                for read in self._reads.values():
                    if now >= read.deadline and not read.cut:
                        read.cut = True
                        self.stuck += 1
                        log.warning(
                            "a read of the live minute bars on %s got no answer in time: cut it",
                            read.store,
                        )
                        read.store.interrupt()


class MinuteReader:
    def __init__(
        self,
        url: str,
        *,
        connect_timeout: float = DEFAULT_TIMEOUT,
        statement_timeout: float = DEFAULT_TIMEOUT,
        max_readers: int = 2,
        retry_after: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.connect_timeout = connect_timeout
        self.statement_timeout = statement_timeout
        self.max_readers = max_readers
        self.retry_after = retry_after
        self._clock = clock
        self._local = threading.local()
        self._readers = threading.BoundedSemaphore(max_readers)
        self._down: tuple[float, StoreError] | None = None  # until when, and why
        self._probe = threading.Lock()  # held by the one call trying a database that was down
        self._last_logged: str | None = None
        self.watchdog = Watchdog(clock)

    @contextlib.contextmanager
    def open(self) -> Iterator[MinuteStore]:
        """This thread's connection; StoreError when the database cannot be read (yet),
        ReadersBusyError when `max_readers` threads are reading already."""
        if not self._readers.acquire(blocking=False):
            raise ReadersBusyError(
                f"all {self.max_readers} threads allowed to read the minute bars are busy"
            )
        probing = False
        try:
            down = self._down
            if down is not None:
                if self._clock() < down[0] or not self._probe.acquire(blocking=False):
                    raise down[1]
                probing = True
            store: MinuteStore | None = getattr(self._local, "store", None)
            if store is not None and store.replaced():
                store.close()
                store = None
            fresh = store is None
            if store is None:
                store = self._connect()
                self._local.store = store
            store.limit_reads(self.statement_timeout)
            try:
                watched = self.watchdog.watching(store, self.statement_timeout + WATCHDOG_GRACE)
                with watched as read:
                    yield store
            except StoreError as error:
                self._local.store = None
                store.close()
                # A kept connection may just be stale (a restarted server); a new one that fails,
                # or a read that got no answer at all: the database is down.
                self._failed(error, remember=fresh or read.cut)
                raise
            self._down = None
        finally:
            if probing:
                self._probe.release()
            self._readers.release()

    def _connect(self) -> MinuteStore:
        try:
            return MinuteStore.open(
                self.url,
                create=False,
                timeout=self.connect_timeout,
                statement_timeout=self.statement_timeout,
            )
        except StoreError as error:
            self._failed(error, remember=not isinstance(error, NoDatabaseError))
            raise

    def _failed(self, error: StoreError, *, remember: bool) -> None:
        if remember and self.retry_after > 0:
            self._down = (self._clock() + self.retry_after, error)
        message = str(error)
        if isinstance(error, NoDatabaseError):
            if message != self._last_logged:  # the normal state before the feed runs
                log.info("no live minute bars: %s", message)
        else:
            again = f"; trying again in {self.retry_after:g} s" if remember else ""
            log.warning("the live minute bars cannot be read: %s%s", message, again)
        self._last_logged = message
