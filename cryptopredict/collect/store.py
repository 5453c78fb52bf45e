"""The minute-bar database: SQLite (default, in WAL mode) or PostgreSQL (psycopg 3).

One table, `minute_bars`, keyed by (asset, open time): writing a bar that is already there
changes nothing, so writes are idempotent. `schema_info` records the schema version; opening a
database of another version fails with a clear error instead of writing into a shape this code
does not know. The same class reads for the API; it imports nothing beyond the standard library
(psycopg only for a PostgreSQL URL).
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any, Protocol

from cryptopredict.collect.bars import MinuteBar

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
COLUMNS = ("asset", "ts", "open", "high", "low", "close", "volume", "vwap", "source")
# Portable SQL: SQLite reads BIGINT as INTEGER and DOUBLE PRECISION as REAL.
_CREATE = (
    "CREATE TABLE IF NOT EXISTS schema_info (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS minute_bars ("
    " asset TEXT NOT NULL, ts BIGINT NOT NULL,"
    " open DOUBLE PRECISION NOT NULL, high DOUBLE PRECISION NOT NULL,"
    " low DOUBLE PRECISION NOT NULL, close DOUBLE PRECISION NOT NULL,"
    " volume DOUBLE PRECISION NOT NULL, vwap DOUBLE PRECISION NOT NULL,"
    " source TEXT NOT NULL, PRIMARY KEY (asset, ts))",
)
_OHLCV = "ts, open, high, low, close, volume, vwap"


class StoreError(RuntimeError):
    """The database cannot be used: a bad URL, or a schema this code does not know."""


@dataclass(frozen=True)
class Window:
    """The minutes one asset has in the database: first and last open time, and how many."""

    first: int
    last: int
    count: int


class _Connection(Protocol):
    def execute(self, query: Any, params: Any = ...) -> Any: ...
    def cursor(self) -> Any: ...
    def close(self) -> None: ...


class MinuteStore:
    def __init__(self, url: str, connection: _Connection, placeholder: str) -> None:
        self.url = url
        self._db = connection
        self._placeholder = placeholder

    @classmethod
    def open(cls, url: str, *, create: bool = True) -> MinuteStore:
        """Connect to `url`; create the schema when the database is new (and `create`), and
        check its version either way."""
        if url.startswith("sqlite:///"):
            store = cls(url, _sqlite(url.removeprefix("sqlite:///"), create), "?")
        elif url.startswith(("postgresql://", "postgres://")):
            store = cls(url, _postgres(url), "%s")
        else:
            raise StoreError(
                f"DATABASE_URL={redact(url)!r} is not a database URL this collector knows: use "
                "sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/NAME"
            )
        try:
            store._check_schema(create)
        except BaseException:
            store.close()
            raise
        return store

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> MinuteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write(self, bars: Sequence[MinuteBar]) -> int:
        """Insert `bars` in one transaction; bars already stored are left as they are.
        Returns how many were new."""
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

    def last_minute(self, asset: str) -> int | None:
        row = self._one("SELECT MAX(ts) FROM minute_bars WHERE asset = ?", asset)
        return None if row is None or row[0] is None else int(row[0])

    def window(self, asset: str) -> Window | None:
        row = self._one("SELECT MIN(ts), MAX(ts), COUNT(*) FROM minute_bars WHERE asset = ?", asset)
        if row is None or row[0] is None:
            return None
        return Window(int(row[0]), int(row[1]), int(row[2]))

    def bars(self, asset: str, start: int, end: int) -> list[tuple]:
        """(ts, open, high, low, close, volume, vwap) of the bars opening in [start, end),
        oldest first."""
        query = self._sql(
            f"SELECT {_OHLCV} FROM minute_bars WHERE asset = ? AND ts >= ? AND ts < ? ORDER BY ts"
        )
        return list(self._db.execute(query, (asset, start, end)).fetchall())

    def last_bar(self, asset: str) -> tuple | None:
        """(ts, open, high, low, close, volume, vwap) of the newest bar."""
        return self._one(
            f"SELECT {_OHLCV} FROM minute_bars WHERE asset = ? ORDER BY ts DESC LIMIT 1", asset
        )

    def prune(self, asset: str, before: int) -> int:
        """Delete the asset's bars opening before `before`; returns how many went."""
        query = self._sql("DELETE FROM minute_bars WHERE asset = ? AND ts < ?")
        with self._transaction():
            return int(self._db.execute(query, (asset, before)).rowcount)

    def _one(self, query: str, asset: str) -> tuple | None:
        row = self._db.execute(self._sql(query), (asset,)).fetchone()
        return None if row is None else tuple(row)

    def _sql(self, query: str) -> str:
        return query.replace("?", self._placeholder)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _check_schema(self, create: bool) -> None:
        tables = self._tables()
        if "schema_info" not in tables:
            if "minute_bars" in tables:
                raise StoreError(
                    f"{redact(self.url)} has a minute_bars table but no schema_info: it was not "
                    "made by this collector; point DATABASE_URL at another database"
                )
            if not create:
                raise StoreError(f"{redact(self.url)} holds no minute bars yet")
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
                f"{redact(self.url)} has minute-bar schema version {found}, and this code reads "
                f"and writes version {SCHEMA_VERSION}: use a new database (or drop its "
                "minute_bars and schema_info tables; the collector backfills what it needs)"
            )

    def _tables(self) -> set[str]:
        if self._placeholder == "?":
            query = "SELECT name FROM sqlite_master WHERE type = 'table'"
        else:
            query = (
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema()"
            )
        return {str(row[0]) for row in self._db.execute(query).fetchall()}

    def __str__(self) -> str:
        return redact(self.url)


def _sqlite(path: str, create: bool) -> sqlite3.Connection:
    target = Path(path)
    if not target.exists():
        if not create:
            raise StoreError(f"no minute-bar database at {target}")
        target.parent.mkdir(parents=True, exist_ok=True)
    # Autocommit (isolation_level=None), as the PostgreSQL connection: transactions are
    # explicit, and a read holds no snapshot open, so the next one sees rows committed since.
    connection = sqlite3.connect(target, timeout=30.0, isolation_level=None)
    # WAL: readers (the API) and the one writer (the collector) do not block each other.
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    return connection


def _postgres(url: str) -> Any:
    try:
        import psycopg  # noqa: PLC0415  (only a PostgreSQL URL needs it)
    except ImportError as error:
        raise StoreError(
            "DATABASE_URL names PostgreSQL but psycopg is not installed (pip install "
            "'psycopg[binary]'; it is in requirements-api.txt)"
        ) from error
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as error:
        raise StoreError(f"cannot connect to {redact(url)}: {error}") from error


def redact(url: str) -> str:
    """`url` without the password, for messages and logs."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not sep or not at or ":" not in credentials:
        return url
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"
