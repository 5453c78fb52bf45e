"""The market feed's database, SQLite (WAL) or PostgreSQL: `minute_bars` keyed by (asset, open
time), so writes are idempotent; `latest_prices`; `feed_status`; `schema_info`, whose version
the writer makes and every connection checks, refusing any other. Connections: SQLite read-only
for the API, WAL for the feed; PostgreSQL through psycopg 3, imported only for its URL. Every
failure is a `StoreError`, which never holds a password."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import socket
import sqlite3
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from cryptopredict.logs import scrub
from cryptopredict.minutes.bars import MINUTE, FeedStatus, MinuteBar, Quote

log = logging.getLogger(__name__)


class StoreError(RuntimeError):
    """The database cannot be used as configured: a bad URL, or a schema this code does not know."""


class NoDatabaseError(StoreError):
    """Nothing to read yet: no SQLite file, or a database without the schema."""


class DatabaseUnavailableError(StoreError):
    """Not usable for now (locked, unreachable, restarted): worth a try on a new connection."""


def connect_sqlite(url: str, create: bool, timeout: float) -> sqlite3.Connection:
    target = Path(url.removeprefix("sqlite:///"))
    new = not target.exists()
    if new and not create:
        raise NoDatabaseError(f"no minute-bar database at {target}")
    try:
        if not create:
            # Readers (the API) can never change or create it.
            uri = f"file:{urllib.parse.quote(str(target.resolve()))}?mode=ro"
            return sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None)
        target.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit (isolation_level=None), as the PostgreSQL connection: transactions are
        # explicit, and a read holds no snapshot open, so the next one sees rows committed since.
        connection = sqlite3.connect(target, timeout=timeout, isolation_level=None)
        try:
            if new:  # set before the first table, so pruning can give space back
                connection.execute("PRAGMA auto_vacuum = INCREMENTAL")
            # WAL: readers (the API) and the one writer (the feed) do not block each other.
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.Error:
            connection.close()
            raise
        return connection
    except (sqlite3.Error, OSError) as error:
        raise fault(url, error) from None


def connect_postgres(url: str, timeout: float, statement_timeout: float | None) -> Any:
    try:
        import psycopg  # noqa: PLC0415  (only a PostgreSQL URL needs it)
    except ImportError:
        raise StoreError(
            "DATABASE_URL names PostgreSQL but psycopg is not installed (pip install "
            "'psycopg[binary]'; it is in requirements-api.txt)"
        ) from None
    try:
        options: dict[str, Any] = {}
        if statement_timeout is not None:  # added to the URL's own `options`, if any
            given = psycopg.conninfo.conninfo_to_dict(url).get("options") or ""
            limit = f"-c statement_timeout={max(1, round(statement_timeout * 1000))}"
            options["options"] = f"{given} {limit}".strip()
        return psycopg.connect(
            url, autocommit=True, connect_timeout=max(1, round(timeout)), **options, **_KEEPALIVE
        )
    except psycopg.OperationalError as error:
        detail = one_line(scrub(str(error), url))
        raise DatabaseUnavailableError(f"cannot connect to {scrub(url, url)}: {detail}") from None
    except psycopg.Error as error:  # the URL itself: libpq cannot parse it
        detail = one_line(scrub(str(error), url))
        raise StoreError(
            f"DATABASE_URL={scrub(url, url)!r} is not a usable URL: {detail}"
        ) from None


# A server host that vanishes is found by the kernel: probes after 5 s of silence, and data
# unacknowledged for 10 s ends the connection (a frozen server process: the reader's watchdog).
_KEEPALIVE: dict[str, Any] = {
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 10_000,
}


def fault(url: str, error: BaseException) -> StoreError:
    """The StoreError for a driver's `error`: DatabaseUnavailableError where it may pass."""
    detail = f"{scrub(url, url)}: {type(error).__name__}: {one_line(scrub(str(error), url))}"
    return StoreError(detail) if is_lasting(error) else DatabaseUnavailableError(detail)


def one_line(text: str) -> str:
    return " ".join(text.split())


def is_lasting(error: BaseException) -> bool:
    """Whether a driver's error will not pass by trying again (not a database, corrupt, SQL this
    code got wrong), as locks, lost connections, restarts and I/O errors do."""
    if isinstance(error, sqlite3.OperationalError | OSError):
        return False
    if isinstance(error, sqlite3.Error):
        return True
    module = type(error).__module__
    if module.startswith("psycopg"):
        import psycopg  # noqa: PLC0415

        return not isinstance(error, psycopg.OperationalError | psycopg.InterfaceError)
    return False


SCHEMA_VERSION = 3
COLUMNS = ("asset", "ts", "open", "high", "low", "close", "volume", "vwap", "source", "shifted_by")
# Portable SQL: SQLite reads BIGINT as INTEGER and DOUBLE PRECISION as REAL.
_CREATE = (
    "CREATE TABLE IF NOT EXISTS schema_info (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS minute_bars ("
    " asset TEXT NOT NULL, ts BIGINT NOT NULL,"
    " open DOUBLE PRECISION NOT NULL, high DOUBLE PRECISION NOT NULL,"
    " low DOUBLE PRECISION NOT NULL, close DOUBLE PRECISION NOT NULL,"
    " volume DOUBLE PRECISION NOT NULL, vwap DOUBLE PRECISION NOT NULL,"
    " source TEXT NOT NULL, shifted_by BIGINT, PRIMARY KEY (asset, ts))",
    "CREATE TABLE IF NOT EXISTS latest_prices (asset TEXT PRIMARY KEY, source TEXT NOT NULL,"
    " at BIGINT NOT NULL, price DOUBLE PRECISION NOT NULL)",
    "CREATE TABLE IF NOT EXISTS feed_status (name TEXT PRIMARY KEY, sources TEXT NOT NULL,"
    " last_success BIGINT, last_error TEXT, last_error_at BIGINT, failing_since BIGINT)",
)
_STATUS = ("sources", "last_success", "last_error", "last_error_at", "failing_since")
_OHLCV = "ts, open, high, low, close, volume, vwap"
DEFAULT_TIMEOUT = 5.0  # seconds a statement waits for a lock or a connection before failing
_SQLITE_STEPS = 1000  # SQLite virtual-machine steps between looks at a read's deadline

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True)
class Window:
    first: int  # the first and last minute's open time
    last: int
    count: int


@dataclass(frozen=True)
class LastBar:
    ohlcv: tuple[float, ...]  # ts, open, high, low, close, volume, vwap
    source: str
    shifted_by: int  # seconds a replay moved it (0: an exchange's, at its own time)


def _guarded(method: Callable[P, T]) -> Callable[P, T]:
    """The driver's errors as StoreErrors."""

    @functools.wraps(method)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> T:
        store = args[0]
        assert isinstance(store, MinuteStore)
        try:
            return method(*args, **kwargs)
        except store.driver_errors as error:
            raise fault(store.url, error) from None

    return guarded


class MinuteStore:
    def __init__(self, url: str, connection: Any) -> None:
        self.url = url
        self._db = connection
        self._sqlite = isinstance(connection, sqlite3.Connection)
        self._placeholder = "?" if self._sqlite else "%s"
        self._file = _identity(url.removeprefix("sqlite:///")) if self._sqlite else None
        self.driver_errors: tuple[type[Exception], ...] = (sqlite3.Error, OSError)
        if not self._sqlite:
            import psycopg  # noqa: PLC0415  (connected already, so it is installed)

            self.driver_errors = (psycopg.Error, OSError)

    @classmethod
    def open(
        cls,
        url: str,
        *,
        create: bool = True,
        timeout: float = DEFAULT_TIMEOUT,
        statement_timeout: float | None = None,
    ) -> MinuteStore:
        """Connect to `url` within `timeout` seconds; with `create`, make or upgrade the schema,
        else only check its version. `statement_timeout`: seconds a statement may run
        (PostgreSQL) or wait for a lock (SQLite; `timeout` when unset)."""
        if url.startswith("sqlite:///"):
            waits = timeout if statement_timeout is None else statement_timeout
            store = cls(url, connect_sqlite(url, create, waits))
        elif url.startswith(("postgresql://", "postgres://")):
            store = cls(url, connect_postgres(url, timeout, statement_timeout))
        else:
            raise StoreError(
                f"DATABASE_URL={scrub(url, url)!r} is not a database URL the market feed knows: "
                "use sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/NAME"
            )
        try:
            store._check_schema(create)
        except BaseException:
            store.close()
            raise
        return store

    def interrupt(self) -> None:
        """From another thread: the statement this connection waits on fails now (PostgreSQL: its
        socket shut, so even a server whose kernel still acknowledges cannot hold the reader)."""
        if self._sqlite:
            self._db.interrupt()
            return
        try:
            descriptor = self._db.pgconn.socket
        except Exception:
            return
        with contextlib.suppress(OSError), socket.socket(fileno=os.dup(descriptor)) as shared:
            shared.shutdown(socket.SHUT_RDWR)  # the descriptors share one socket

    def replaced(self) -> bool:
        """Whether this SQLite connection's file was renamed over or deleted since it opened."""
        return self._file is not None and _identity(self._file[0]) != self._file

    def limit_reads(self, seconds: float) -> None:
        """From now, a SQLite statement still running `seconds` later is interrupted (PostgreSQL
        bounds each itself: `open`'s `statement_timeout`)."""
        if self._sqlite:
            deadline = time.monotonic() + seconds
            self._db.set_progress_handler(lambda: time.monotonic() > deadline, _SQLITE_STEPS)

    def close(self) -> None:
        with contextlib.suppress(*self.driver_errors):  # a connection the server already cut
            self._db.close()

    def __enter__(self) -> MinuteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @_guarded
    def write(self, bars: Sequence[MinuteBar]) -> int:
        """How many of `bars`, inserted in one transaction, were new (the stored ones stay)."""
        if not bars:
            return 0
        marks = ", ".join([self._placeholder] * len(COLUMNS))
        query = (
            f"INSERT INTO minute_bars ({', '.join(COLUMNS)}) VALUES ({marks}) "
            "ON CONFLICT (asset, ts) DO NOTHING"
        )
        with self._transaction():
            cursor = self._db.cursor()
            cursor.executemany(query, [astuple(bar) for bar in bars])
            return int(cursor.rowcount)

    @_guarded
    def windows(self, asset: str | None = None) -> dict[str, Window]:
        """Every asset's (or only `asset`'s), in one query."""
        where, params = ("WHERE asset = ? ", (asset,)) if asset else ("", ())
        query = f"SELECT asset, MIN(ts), MAX(ts), COUNT(*) FROM minute_bars {where}GROUP BY asset"
        rows = self._db.execute(self._sql(query), params).fetchall()
        return {str(row[0]): Window(int(row[1]), int(row[2]), int(row[3])) for row in rows}

    @_guarded
    def bars(self, asset: str, start: int, end: int) -> list[tuple]:
        """(ts, open, high, low, close, volume, vwap) of the bars opening in [start, end)."""
        query = self._sql(
            f"SELECT {_OHLCV} FROM minute_bars WHERE asset = ? AND ts >= ? AND ts < ? ORDER BY ts"
        )
        return [tuple(row) for row in self._db.execute(query, (asset, start, end)).fetchall()]

    @_guarded
    def newest_bars(self, asset: str | None = None) -> dict[str, LastBar]:
        """Every asset's (or only `asset`'s) newest bar, in one query."""
        where, params = ("WHERE asset = ? ", (asset,)) if asset else ("", ())
        query = (
            f"SELECT b.asset, {_OHLCV}, source, shifted_by FROM minute_bars AS b JOIN "
            f"(SELECT asset AS a, MAX(ts) AS m FROM minute_bars {where}GROUP BY asset) AS n "
            "ON b.asset = n.a AND b.ts = n.m"
        )
        rows = self._db.execute(self._sql(query), params).fetchall()
        return {str(row[0]): LastBar(tuple(row[1:8]), str(row[8]), int(row[9])) for row in rows}

    @_guarded
    def write_quotes(self, quotes: Sequence[Quote]) -> None:
        query = self._sql(
            "INSERT INTO latest_prices (asset, source, at, price) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (asset) DO UPDATE SET source = excluded.source, at = excluded.at, "
            "price = excluded.price"
        )
        with self._transaction():
            self._db.cursor().executemany(query, [astuple(quote) for quote in quotes])

    @_guarded
    def quotes(self) -> list[Quote]:
        rows = self._db.execute("SELECT asset, source, at, price FROM latest_prices").fetchall()
        return [Quote(str(row[0]), str(row[1]), int(row[2]), float(row[3])) for row in rows]

    @_guarded
    def write_status(self, status: FeedStatus) -> None:
        values = (",".join(status.sources), *astuple(status)[1:])
        updates = ", ".join(f"{name} = excluded.{name}" for name in _STATUS)
        query = self._sql(
            f"INSERT INTO feed_status (name, {', '.join(_STATUS)}) VALUES ('feed', ?, ?, ?, ?, ?) "
            f"ON CONFLICT (name) DO UPDATE SET {updates}"
        )
        with self._transaction():
            self._db.execute(query, values)

    @_guarded
    def status(self) -> FeedStatus | None:
        query = f"SELECT {', '.join(_STATUS)} FROM feed_status WHERE name = 'feed'"
        row = self._db.execute(query).fetchone()
        if row is None:
            return None
        sources = tuple(filter(None, str(row[0]).split(",")))
        error = None if row[2] is None else str(row[2])
        return FeedStatus(sources, _integer(row[1]), error, _integer(row[3]), _integer(row[4]))

    @_guarded
    def gaps(self, asset: str, start: int, end: int) -> list[tuple[int, int]]:
        """The [start, end) runs of minutes in [start, end) that hold no bar of `asset`."""
        query = self._sql(
            "SELECT ts, following, first FROM (SELECT ts, LEAD(ts) OVER (ORDER BY ts) AS "
            "following, MIN(ts) OVER () AS first FROM minute_bars "
            "WHERE asset = ? AND ts >= ? AND ts < ?) AS runs "
            f"WHERE following IS NULL OR following > ts + {MINUTE} ORDER BY ts"
        )
        rows = self._db.execute(query, (asset, start, end)).fetchall()
        if not rows:
            return [(start, end)] if start < end else []
        holes = [(start, int(rows[0][2]))] if int(rows[0][2]) > start else []
        for ts, following, _ in rows:
            hole_end = end if following is None else int(following)
            if int(ts) + MINUTE < hole_end:
                holes.append((int(ts) + MINUTE, hole_end))
        return holes

    @_guarded
    def prune(self, before: int) -> int:
        """How many bars opening before `before` went; their space given back."""
        with self._transaction():
            query = self._sql("DELETE FROM minute_bars WHERE ts < ?")
            gone = int(self._db.execute(query, (before,)).rowcount)
        if gone and self._sqlite:
            # Incremental auto-vacuum (executescript: to completion), the file cut at the WAL's
            # checkpoint, asked for now; PostgreSQL's autovacuum reuses the space by itself.
            self._db.executescript("PRAGMA incremental_vacuum;")
            self._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        return gone

    @_guarded
    def remove_after(self, after: int) -> int:
        """How many bars opening after `after` went."""
        with self._transaction():
            query = self._sql("DELETE FROM minute_bars WHERE ts > ?")
            return int(self._db.execute(query, (after,)).rowcount)

    def _sql(self, query: str) -> str:
        return query.replace("?", self._placeholder)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """BEGIN ... COMMIT, rolled back on any error; a rollback that fails (the connection
        gone, a restarted server, and the transaction with it) is passed over."""
        self._db.execute("BEGIN")
        try:
            yield
        except BaseException:
            with contextlib.suppress(*self.driver_errors):
                self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    @_guarded
    def _check_schema(self, create: bool) -> None:
        tables = self._tables()
        if "schema_info" not in tables:
            if "minute_bars" in tables:
                raise StoreError(
                    f"{self} has a minute_bars table but no schema_info: it was not "
                    "made by the market feed; point DATABASE_URL at another database"
                )
            if not create:
                raise NoDatabaseError(f"{self} holds no minute bars yet")
            with self._transaction():
                for statement in _CREATE:
                    self._db.execute(statement)
                self._db.execute(
                    self._sql("INSERT INTO schema_info (name, value) VALUES ('version', ?)"),
                    (str(SCHEMA_VERSION),),
                )
            log.info("created the minute-bar schema (version %d) in %s", SCHEMA_VERSION, self)
            return
        row = self._db.execute("SELECT value FROM schema_info WHERE name = 'version'").fetchone()
        found = None if row is None else str(row[0])
        if found != str(SCHEMA_VERSION):
            raise StoreError(
                f"{self} has minute-bar schema version {found}, and this code reads and writes "
                f"version {SCHEMA_VERSION}: use a new database (or drop its tables; the feed "
                "backfills the minutes it needs)"
            )

    def _tables(self) -> set[str]:
        if self._sqlite:
            query = "SELECT name FROM sqlite_master WHERE type = 'table'"
        else:
            query = (
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema()"
            )
        return {str(row[0]) for row in self._db.execute(query).fetchall()}

    def __str__(self) -> str:
        return scrub(self.url, self.url)


def _identity(path: str) -> tuple[str, int, int] | None:
    try:
        found = Path(path).stat()
    except OSError:  # in memory, or gone
        return None
    return path, found.st_dev, found.st_ino


def _integer(value: object) -> int | None:
    return None if value is None else int(value)  # type: ignore[call-overload]
