"""A real PostgreSQL server of our own, from Debian's `postgresql` package: initialised in a
temporary directory, run as an unprivileged user on a free port of 127.0.0.1, and stopped and
started again at will (the fault tests restart it under a running collector)."""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from tests.ports import free_port

INITDB = ("--auth=trust", "--no-sync")
FLAGS = ("-c", "listen_addresses=127.0.0.1", "-c", "fsync=off")
_names = itertools.count()


class PostgresUnavailableError(Exception):
    """PostgreSQL cannot run here; the message says why (the tests that need it skip)."""


def _bindir() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=_version)
    return versions[-1].parent if versions else None


def _version(path: Path) -> int:
    part = path.parts[-3]
    return int(part) if part.isdigit() else 0


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


class PostgresServer:
    def __init__(self) -> None:
        bindir = _bindir()
        if bindir is None:
            raise PostgresUnavailableError(
                "PostgreSQL is not installed (Debian's postgresql package; `make test` installs "
                "it when run as root): the PostgreSQL storage tests are skipped"
            )
        self.bindir = bindir
        self.run_as: dict = {}
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root: use its own system user
            name = next((n for n in ("postgres", "nobody") if _user_exists(n)), None)
            if name is None:
                raise PostgresUnavailableError(
                    "running as root and no unprivileged user exists to run PostgreSQL"
                )
            entry = pwd.getpwnam(name)
            self.run_as = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
        self.home = Path(tempfile.mkdtemp(prefix="cryptopredict-pg-"))
        if self.run_as:
            os.chown(self.home, self.run_as["user"], self.run_as["group"])
        self.data = self.home / "data"
        self.port = free_port()
        self.url = f"postgresql://cryptopredict@127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        subprocess.run(
            [self.bindir / "initdb", "-D", self.data, "-U", "cryptopredict", *INITDB],
            check=True,
            capture_output=True,
            **self.run_as,
        )

    def start(self) -> None:
        log = (self.home / "server.log").open("ab")
        self.process = subprocess.Popen(
            [
                self.bindir / "postgres",
                "-D",
                self.data,
                "-p",
                str(self.port),
                "-k",
                self.home,
                *FLAGS,
            ],
            stdout=subprocess.DEVNULL,
            stderr=log,
            **self.run_as,
        )
        self._wait_until_ready()

    def stop(self) -> None:
        """A fast shutdown: the server ends every session (clients see AdminShutdown) and
        exits."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            self.process.wait(30)
        self.process = None

    def freeze(self) -> None:
        """SIGSTOP the server and every process of it (the backends serving the connections
        too): its kernel still accepts connections and acknowledges data, nothing answers."""
        self._signal_all(signal.SIGSTOP)

    def thaw(self) -> None:
        self._signal_all(signal.SIGCONT)

    def _signal_all(self, signum: int) -> None:
        assert self.process is not None
        for pid in [self.process.pid, *_children(self.process.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)

    def new_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(f"{self.url}/postgres", autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")
        return f"{self.url}/{name}"

    def _wait_until_ready(self) -> None:
        import psycopg

        deadline = time.monotonic() + 30
        while True:
            try:
                psycopg.connect(f"{self.url}/postgres", connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                assert self.process is not None
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log = (self.home / "server.log").read_text(errors="replace")
                    raise RuntimeError(f"PostgreSQL did not start:\n{log}") from None
                time.sleep(0.1)


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            found += [int(child) for child in (task / "children").read_text().split()]
    return found


def new_postgres_database(server_url: str) -> str:
    """A new, empty database on the server at `server_url`; its URL."""
    import psycopg

    name = f"test_{os.getpid()}_{next(_names)}"
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    return f"{server_url}/{name}"
