"""The archive of issued forecasts, kept where the minute bars are (DATABASE_URL): append-only,
one issue per asset, model version and data end, written once, when the API first serves that
model (`issued.py` says what an issue holds), and never rewritten.

Its tables, in portable SQL as the minute bars' are:
- `forecast_issues`: `asset`, `model_version`, `data_until` (the instant the model's data ended),
  `issued_at` (when the API first served it); keyed by the first three;
- `forecast_leads`: the same key and `lead` (seconds after `data_until`), `valid_at` (the
  instant forecast), the served forecast's point and bounds and naive's (`naive_...`, null
  when the artifact did not keep naive's band);
- `archive_info`: the version of these tables.

`Archive` writes on a thread of its own, so that serving never waits for the database: an
issue that cannot be written (no such directory, a read-only database, a server that is down)
is logged, counted (`/metrics`), and tried again every `retry_seconds` with the time it was
first served, while the API serves on. An issue already there is left as it is: serving a model
again, in this process or another, adds nothing. `archived` reads an asset's issues back,
through the minute reader's connection, each lead beside the close of the minute ending at its
valid instant (the price then), when one is stored.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from cryptopredict.api.serving.issued import VALUES, Issue, issue_of
from cryptopredict.database import (
    StoreError,
    connect_postgres,
    connect_sqlite,
    is_lasting,
    one_line,
    transaction,
)
from cryptopredict.redaction import redact, scrub

if TYPE_CHECKING:
    from cryptopredict.api.serving.catalog import CatalogEntry

log = logging.getLogger(__name__)

VERSION = "1"
MINUTE = 60
NAIVE = tuple(f"naive_{name}" for name in VALUES)
_PRICES = ", ".join(f"{name} DOUBLE PRECISION NOT NULL" for name in VALUES)
_NAIVE_PRICES = ", ".join(f"{name} DOUBLE PRECISION" for name in NAIVE)
_KEY = "asset TEXT NOT NULL, model_version TEXT NOT NULL, data_until BIGINT NOT NULL"
_CREATE = (
    "CREATE TABLE IF NOT EXISTS archive_info (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    f"CREATE TABLE IF NOT EXISTS forecast_issues ({_KEY}, issued_at BIGINT NOT NULL, "
    "PRIMARY KEY (asset, model_version, data_until))",
    f"CREATE TABLE IF NOT EXISTS forecast_leads ({_KEY}, lead BIGINT NOT NULL, "
    f"valid_at BIGINT NOT NULL, {_PRICES}, {_NAIVE_PRICES}, "
    "PRIMARY KEY (asset, model_version, data_until, lead))",
)
_LEAD_COLUMNS = ("asset", "model_version", "data_until", "lead", "valid_at", *VALUES, *NAIVE)
# Each archived lead, with the close (and where it came from) of the minute ending at its
# valid instant, when stored.
_READ = (
    "SELECT i.model_version, i.data_until, i.issued_at, l.lead, l.valid_at, "
    f"{', '.join(f'l.{name}' for name in (*VALUES, *NAIVE))}, m.close, m.source "
    "FROM forecast_issues AS i JOIN forecast_leads AS l ON l.asset = i.asset "
    "AND l.model_version = i.model_version AND l.data_until = i.data_until "
    f"LEFT JOIN minute_bars AS m ON m.asset = l.asset AND m.ts = l.valid_at - {MINUTE} "
    "WHERE i.asset = ? ORDER BY i.data_until, i.model_version, l.lead"
)
TABLES = {"forecast_issues", "forecast_leads"}


class Reader(Protocol):
    """What `archived` reads through: the minute reader's store."""

    def tables(self) -> set[str]: ...
    def read(self, query: str, *params: object) -> list[tuple]: ...


@dataclass(frozen=True)
class Archived:
    """An asset's archived leads, a row each (issue by issue, lead by lead)."""

    model_version: list[str]
    data_until: np.ndarray
    issued_at: np.ndarray
    lead: np.ndarray  # seconds
    valid_at: np.ndarray
    served: np.ndarray  # (rows, len(VALUES))
    naive: np.ndarray  # the same, NaN where not kept
    close: np.ndarray  # the price at `valid_at`, NaN where no minute is stored
    source: list[str | None]  # where that minute came from

    @classmethod
    def of(cls, rows: list[tuple]) -> Archived:
        width = len(VALUES)
        table = np.array([row[1:-1] for row in rows], dtype=np.float64).reshape(-1, 5 + 2 * width)
        return cls(
            model_version=[str(row[0]) for row in rows],
            data_until=table[:, 0].astype(np.int64),
            issued_at=table[:, 1].astype(np.int64),
            lead=table[:, 2].astype(np.int64),
            valid_at=table[:, 3].astype(np.int64),
            served=table[:, 4 : 4 + width],
            naive=table[:, 4 + width : 4 + 2 * width],
            close=table[:, -1],
            source=[None if row[-1] is None else str(row[-1]) for row in rows],
        )


def archived(store: Reader, asset: str) -> Archived:
    """Every lead archived for `asset`, oldest issue first (none before anything is)."""
    if not TABLES.issubset(store.tables()):
        return Archived.of([])
    return Archived.of(store.read(_READ, asset))


class ArchiveWriter:
    """One connection that writes issues (opened by `open`, closed with it)."""

    def __init__(self, url: str, connection: Any, placeholder: str) -> None:
        self.url = url
        self._db = connection
        self._placeholder = placeholder

    @classmethod
    @contextlib.contextmanager
    def open(cls, url: str, *, timeout: float) -> Iterator[ArchiveWriter]:
        """A connection to `url` with the archive's tables (made when missing); StoreError
        saying why not, without the password."""
        if url.startswith("sqlite:///"):
            path = url.removeprefix("sqlite:///")
            writer = cls(url, connect_sqlite(url, path, True, timeout), "?")
        elif url.startswith(("postgresql://", "postgres://")):
            writer = cls(url, connect_postgres(url, timeout, timeout), "%s")
        else:
            raise StoreError(f"DATABASE_URL={redact(url)!r} is not a database URL")
        try:
            with writer.faults():
                writer._create()
            yield writer
        finally:
            with contextlib.suppress(Exception):
                writer._db.close()

    def write(self, issue: Issue) -> bool:
        """Archive `issue` in one transaction: True, or False if it was archived already (then
        nothing is written)."""
        key = (issue.asset, issue.model_version, issue.data_until)
        naive = issue.naive
        with self.faults(), self._transaction():
            cursor = self._db.cursor()
            cursor.execute(
                self._sql(
                    "INSERT INTO forecast_issues (asset, model_version, data_until, issued_at) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"
                ),
                (*key, issue.issued_at),
            )
            if cursor.rowcount != 1:
                return False
            marks = ", ".join(["?"] * len(_LEAD_COLUMNS))
            rows = [
                (
                    *key,
                    int(lead),
                    issue.data_until + int(lead),
                    *map(float, issue.served[index]),
                    *([None] * len(NAIVE) if naive is None else map(float, naive[index])),
                )
                for index, lead in enumerate(issue.leads)
            ]
            cursor.executemany(
                self._sql(
                    f"INSERT INTO forecast_leads ({', '.join(_LEAD_COLUMNS)}) VALUES ({marks})"
                ),
                rows,
            )
            return True

    def _create(self) -> None:
        with self._transaction():
            for statement in _CREATE:
                self._db.execute(statement)
            found = self._db.execute(
                "SELECT value FROM archive_info WHERE name = 'version'"
            ).fetchone()
            if found is None:
                self._db.execute(
                    self._sql("INSERT INTO archive_info (name, value) VALUES ('version', ?)"),
                    (VERSION,),
                )
            elif str(found[0]) != VERSION:
                raise StoreError(
                    f"{redact(self.url)} holds an archive of version {found[0]}; this code "
                    f"writes version {VERSION}"
                )

    @contextlib.contextmanager
    def faults(self) -> Iterator[None]:
        """The driver's errors as StoreErrors whose messages hold no password."""
        try:
            yield
        except StoreError:
            raise
        except Exception as error:
            if not _driver_error(error):
                raise
            detail = f"{redact(self.url)}: {type(error).__name__}: "
            detail += one_line(scrub(str(error), self.url))
            raise StoreError(detail) from None

    def _transaction(self) -> contextlib.AbstractContextManager[None]:
        return transaction(self._db)

    def _sql(self, query: str) -> str:
        return query.replace("?", self._placeholder)


def _driver_error(error: BaseException) -> bool:
    if isinstance(error, sqlite3.Error | OSError):
        return True
    return type(error).__module__.startswith("psycopg") or is_lasting(error)


class Archive:
    """Archives each model the API serves, once, on a thread of its own (see the module's doc);
    the counts are read by `/metrics`."""

    def __init__(
        self,
        url: str,
        *,
        retry_seconds: float = 60.0,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self.retry_seconds = retry_seconds
        self.timeout = timeout
        self.clock = clock
        self.counts = {"archived": 0, "already": 0, "failed": 0}
        self._seen: set[tuple[str, str]] = set()
        self._pending: dict[tuple[str, str], tuple[CatalogEntry, int]] = {}
        self._lock = threading.Condition()
        self._worker: threading.Thread | None = None
        self._tries: dict[tuple[str, str], int] = {}  # attempts at each issue so far

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def issue(self, served: CatalogEntry) -> None:
        """`served` is being served for the first time: archive its forecast, issued now."""
        key = (served.slug, served.model_version)
        with self._lock:
            if key in self._seen:
                return
            self._seen.add(key)
            self._pending[key] = (served, int(self.clock()))
            if self._worker is None:
                self._worker = threading.Thread(target=self._run, name="archive", daemon=True)
                self._worker.start()
            self._lock.notify_all()

    def wait(self, timeout: float) -> bool:
        """Wait until every issue asked for so far has been tried at least once (written, or
        failed to be); whether each was, within `timeout` seconds (for tests and tools)."""
        with self._lock:
            asked = set(self._seen)
            return self._lock.wait_for(
                lambda: all(self._tries.get(key, 0) >= 1 for key in asked), timeout=timeout
            )

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._pending:
                    self._worker = None
                    return
                work = dict(self._pending)
            done = self._attempt(work)
            with self._lock:
                for key in work:
                    self._tries[key] = self._tries.get(key, 0) + 1
                for key in done:
                    del self._pending[key]
                self._lock.notify_all()
                if self._pending:
                    self._lock.wait(self.retry_seconds)

    def _attempt(
        self, work: dict[tuple[str, str], tuple[CatalogEntry, int]]
    ) -> list[tuple[str, str]]:
        """Write every issue of `work`; the keys of those done with (written, there already,
        or not to be made at all)."""
        done, issues = [], []
        for key, (served, issued_at) in work.items():
            try:
                issues.append((key, issue_of(served, issued_at)))
            except Exception:  # a fault of ours, not the database's: never tried again
                log.exception("cannot make the issue of %s %s to archive", *key)
                self.counts["failed"] += 1
                done.append(key)
        try:
            with ArchiveWriter.open(self.url, timeout=self.timeout) as writer:
                for key, issue in issues:
                    new = writer.write(issue)
                    self.counts["archived" if new else "already"] += 1
                    done.append(key)
                    _logged(issue, new)
        except StoreError as error:
            self.counts["failed"] += 1
            left = [f"{slug} {version}" for slug, version in work if (slug, version) not in done]
            log.warning(
                "cannot archive the forecast of %s now: %s; serving goes on, and it is tried "
                "again in %g s",
                ", ".join(left),
                error,
                self.retry_seconds,
            )
        return done


def _logged(issue: Issue, new: bool) -> None:
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(issue.issued_at))
    if new:
        log.info(
            "archived the forecast of %s model %s, issued %s, at %d leads",
            issue.asset,
            issue.model_version,
            when,
            len(issue.leads),
        )
    else:
        log.info(
            "the forecast of %s model %s was archived already", issue.asset, issue.model_version
        )
