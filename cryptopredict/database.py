"""Connections to DATABASE_URL's database, SQLite (read-only for the API, WAL for the feed) or
PostgreSQL (psycopg 3, imported only for its URL), and their errors, which never hold a
password."""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import urllib.parse
from pathlib import Path
from typing import Any

from cryptopredict.logs import redact, scrub


class StoreError(RuntimeError):
    """The database cannot be used as configured: a bad URL, or a schema this code does not know."""


class NoDatabaseError(StoreError):
    """Nothing to read yet: no SQLite file, or a database without the schema."""


class DatabaseUnavailableError(StoreError):
    """Not usable for now (locked, unreachable, restarted): worth a try on a new connection."""


def interrupt(connection: Any) -> None:
    """From another thread: the statement `connection` waits on fails now (PostgreSQL: its socket
    shut, so even a server whose kernel still acknowledges cannot hold the reader)."""
    if isinstance(connection, sqlite3.Connection):
        connection.interrupt()
        return
    try:
        descriptor = connection.pgconn.socket
    except Exception:
        return
    with contextlib.suppress(OSError), socket.socket(fileno=os.dup(descriptor)) as shared:
        shared.shutdown(socket.SHUT_RDWR)  # the descriptors share one socket


def connect_sqlite(url: str, path: str, create: bool, timeout: float) -> sqlite3.Connection:
    target = Path(path)
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
        raise DatabaseUnavailableError(f"cannot connect to {redact(url)}: {detail}") from None
    except psycopg.Error as error:  # the URL itself: libpq cannot parse it
        detail = one_line(scrub(str(error), url))
        raise StoreError(f"DATABASE_URL={redact(url)!r} is not a usable URL: {detail}") from None


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
    detail = f"{redact(url)}: {type(error).__name__}: {one_line(scrub(str(error), url))}"
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
