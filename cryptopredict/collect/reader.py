"""Reading the minute database from a threaded server: one read-only connection per thread,
opened on first use, never creating anything.

Until the collector has created the database there is nothing to read: `open()` raises
NoDatabaseError saying why. While the database cannot be read (PostgreSQL down or restarting,
a locked or unreadable SQLite file, a URL no driver accepts) it raises another StoreError
saying why, without the password. Either way the next call tries again, so the server picks
the database up when it appears or comes back, without a restart: a connection that fails is
dropped, and the next call opens a new one.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from cryptopredict.collect.store import MinuteStore, StoreError


class MinuteReader:
    def __init__(self, url: str) -> None:
        self.url = url
        self._local = threading.local()

    @contextlib.contextmanager
    def open(self) -> Iterator[MinuteStore]:
        """This thread's connection; StoreError when the database cannot be read (yet)."""
        store: MinuteStore | None = getattr(self._local, "store", None)
        if store is None:
            store = MinuteStore.open(self.url, create=False)
            self._local.store = store
        try:
            yield store
        except StoreError:
            self._local.store = None
            store.close()
            raise
