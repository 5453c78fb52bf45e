"""A PostgreSQL server of the tests' own, from Debian's `postgresql` package, started in a
temporary directory as an unprivileged user, and fresh databases on it."""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

_names = itertools.count()


class PostgresUnavailableError(RuntimeError):
    """PostgreSQL cannot run here; the message says why."""


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """A PostgreSQL server of our own on 127.0.0.1; yields its base URL (no database name)."""
    bindir = _postgres_bin()
    if bindir is None:
        raise PostgresUnavailableError(
            "PostgreSQL is not installed (Debian's postgresql package; `make test` installs it "
            "when run as root): the PostgreSQL storage tests are skipped"
        )
    run_as: dict = {}
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: use its own system user
        name = next((n for n in ("postgres", "nobody") if _user_exists(n)), None)
        if name is None:
            raise PostgresUnavailableError(
                "running as root and no unprivileged user exists to run PostgreSQL"
            )
        entry = pwd.getpwnam(name)
        run_as = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
    home = Path(tempfile.mkdtemp(prefix="cryptopredict-pg-"))
    if run_as:
        os.chown(home, run_as["user"], run_as["group"])
    data, port = home / "data", _free_port()
    subprocess.run(
        [bindir / "initdb", "-D", data, "-U", "cryptopredict", "--auth=trust", "--no-sync"],
        check=True,
        capture_output=True,
        **run_as,
    )
    server = subprocess.Popen(
        [
            bindir / "postgres",
            "-D",
            data,
            "-p",
            str(port),
            "-k",
            home,
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(home / "server.log").open("wb"),
        **run_as,
    )
    url = f"postgresql://cryptopredict@127.0.0.1:{port}"
    try:
        _wait_for(url, server, home)
        yield url
    finally:
        server.terminate()
        server.wait(30)
        shutil.rmtree(home, ignore_errors=True)


def _postgres_bin() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=_version)
    return versions[-1].parent if versions else None


def _version(path: Path) -> int:
    part = path.parts[-3]
    return int(part) if part.isdigit() else 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _wait_for(url: str, server: subprocess.Popen, home: Path) -> None:
    import psycopg

    deadline = time.monotonic() + 30
    while True:
        try:
            psycopg.connect(f"{url}/postgres", connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if server.poll() is not None or time.monotonic() > deadline:
                log = (home / "server.log").read_text(errors="replace")
                raise RuntimeError(f"PostgreSQL did not start:\n{log}") from None
            time.sleep(0.1)


def new_postgres_database(server_url: str) -> str:
    import psycopg

    name = f"test_{os.getpid()}_{next(_names)}"
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    return f"{server_url}/{name}"
