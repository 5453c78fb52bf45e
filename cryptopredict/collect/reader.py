"""Reading the minute database from a threaded server: one connection per thread, opened on
first use, never creating anything.

Until the collector has created the database, or while PostgreSQL cannot be reached, there is
nothing to read: `open()` raises StoreError saying why, and the next call tries again, so the
server picks the database up when it appears, without a restart. A connection that fails is
dropped, and the next call opens a new one.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator

from cryptopredict.collect.store import MinuteStore, StoreError, redact


class MinuteReader:
    def __init__(self, url: str) -> None:
        self.url = url
        self._local = threading.local()

    @contextlib.contextmanager
    def open(self) -> Iterator[MinuteStore]:
        """This thread's connection; StoreError when there is no database to read (yet)."""
        store: MinuteStore | None = getattr(self._local, "store", None)
        if store is None:
            store = MinuteStore.open(self.url, create=False)
            self._local.store = store
        try:
            yield store
        except StoreError:
            raise
        except Exception as error:
            if not _is_database_error(error):
                raise
            self._local.store = None
            with contextlib.suppress(Exception):
                store.close()
            raise StoreError(f"reading {redact(self.url)} failed: {error}") from error


def _is_database_error(error: Exception) -> bool:
    if isinstance(error, sqlite3.Error):
        return True
    module = type(error).__module__
    return module.startswith("psycopg")
