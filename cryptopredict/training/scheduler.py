"""Connecting to the Dask scheduler of `DASK_SCHEDULER_ADDRESS` within a bound, and saying what
went wrong without saying where (the address is a secret of the deployment). Dask bounds the
connection (`distributed.comm.timeouts.connect`) but not the scheduler's first answer: a
silent listener held `train.py` 420 s; the handshake gets the same bound here.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading

import dask
from dask.utils import parse_timedelta
from distributed import Client
from distributed.comm import parse_address, parse_host_port

HANDSHAKE_GRACE = 5.0  # seconds past the connect timeout before a silent scheduler is given up
PROBE_SECONDS = 2.0
REFUSED = "the connection was refused (nothing listens at that host and port)"
UNRESOLVED = "its host name does not resolve"


class SchedulerError(Exception):
    """The configured Dask scheduler cannot be used: why, never where."""


def connect_scheduler(address: str) -> Client:
    """A client of the scheduler at `address`; SchedulerError when none answers in time."""
    timeout = float(parse_timedelta(dask.config.get("distributed.comm.timeouts.connect"), "s"))
    outcome: list[Client | BaseException] = []

    def connect() -> None:
        try:
            outcome.append(Client(address, set_as_default=False, timeout=timeout))
        except BaseException as error:  # handed to the caller, named below
            outcome.append(error)

    attempt = threading.Thread(target=connect, name="dask-scheduler-connect", daemon=True)
    attempt.start()
    attempt.join(timeout + HANDSHAKE_GRACE)
    if not outcome:
        raise SchedulerError(
            f"the Dask scheduler of DASK_SCHEDULER_ADDRESS accepted the connection but did not "
            f"answer within {timeout + HANDSHAKE_GRACE:g} s: is a Dask scheduler (of the same "
            "distributed version) listening there?"
        )
    found = outcome[0]
    if isinstance(found, BaseException):
        why = problem(found, timeout)
        if seen_in(found, TimeoutError, asyncio.TimeoutError, asyncio.CancelledError):
            # Dask's last attempt may be cut by its deadline rather than refused: ask once more.
            why = probe(address) or why
        raise SchedulerError(
            f"cannot reach the Dask scheduler of DASK_SCHEDULER_ADDRESS: {why}"
        ) from None
    return found


def probe(address: str) -> str | None:
    """Why a plain TCP connection to `address` fails at once (refused, unresolved), or None."""
    try:
        scheme, location = parse_address(address)
        if scheme not in ("tcp", "tls"):
            return None
        with socket.create_connection(parse_host_port(location), timeout=PROBE_SECONDS):
            return None
    except ConnectionRefusedError:
        return REFUSED
    except socket.gaierror:
        return UNRESOLVED
    except (OSError, ValueError):
        return None


def seen_in(error: BaseException, *wanted: type[BaseException]) -> bool:
    cause: BaseException | None = error
    for _ in range(10):
        if cause is None:
            return False
        if isinstance(cause, wanted):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def problem(error: BaseException, timeout: float) -> str:
    """What went wrong, from the kinds of `error` and its causes (their messages name the
    address)."""

    def seen(*wanted: type[BaseException]) -> bool:
        return seen_in(error, *wanted)

    if seen(ConnectionRefusedError):
        return REFUSED
    if seen(socket.gaierror):
        return UNRESOLVED
    if seen(ssl.SSLError) or (seen(TypeError) and "TLS" in str(error)):
        return (
            "the TLS setup failed: check the certificates in Dask's configuration "
            "(DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT and its siblings)"
        )
    if seen(TimeoutError, asyncio.TimeoutError, asyncio.CancelledError):
        return (
            f"no connection within {timeout:g} s (a host that is down or does not resolve, or "
            "a firewall dropping the packets)"
        )
    if seen(ValueError) and not seen(OSError):
        return "it is not an address Dask can use: give tcp://HOST:PORT or tls://HOST:PORT"
    return f"{type(error).__name__} (the address is left out of this message)"
