"""A Dask scheduler that cannot be used (issue 41): `train.py` ends within the connect timeout,
with one line naming the problem and never the address (a secret of the deployment), whether
nothing listens there, the host does not resolve, the address is malformed, or a listener
accepts and never answers (which held `train.py` 420 s, silent)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import dask
import pytest

from cryptopredict.training.cluster import REFUSED, SchedulerError, connect_scheduler, probe

ROOT = Path(__file__).parents[2]


@pytest.fixture
def silent_scheduler() -> Iterator[int]:
    """A listener that accepts connections and never says a word; its port."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield listener.getsockname()[1]
    listener.close()
    for each in held:
        each.close()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def failure(address: str) -> str:
    with (
        dask.config.set({"distributed.comm.timeouts.connect": "2s"}),
        pytest.raises(SchedulerError) as raised,
    ):
        connect_scheduler(address)
    message = str(raised.value)
    host_port = address.rsplit("://", maxsplit=1)[-1]
    assert host_port not in message
    assert raised.value.__cause__ is None  # no chained traceback naming it either
    return message


def test_nothing_listening_is_a_refused_connection():
    port = closed_port()
    message = failure(f"tcp://127.0.0.1:{port}")
    assert "the connection was refused" in message
    assert str(port) not in message


def test_a_refusal_is_named_even_when_dasks_last_attempt_ran_out_of_time():
    """Dask retries a refused connection until its deadline; its last attempt may end in a
    timeout (seen at load 25): the probe asks once more."""
    assert probe(f"tcp://127.0.0.1:{closed_port()}") == REFUSED


def test_a_probe_of_a_listener_or_another_scheme_says_nothing(silent_scheduler):
    assert probe(f"tcp://127.0.0.1:{silent_scheduler}") is None
    assert probe(f"inproc://127.0.0.1/{silent_scheduler}") is None


def test_a_silent_listener_is_given_up_after_the_timeout(silent_scheduler):
    message = failure(f"tcp://127.0.0.1:{silent_scheduler}")
    assert "accepted the connection but did not answer within 7 s" in message
    assert str(silent_scheduler) not in message


def test_a_malformed_address_says_what_to_give():
    assert "give tcp://HOST:PORT or tls://HOST:PORT" in failure("scheduler-without-a-port")


@pytest.mark.slow
def test_train_py_names_the_problem_in_one_line_without_the_address(tmp_path):
    port = closed_port()
    done = subprocess.run(
        [sys.executable, "train.py", "--all", "--out", str(tmp_path / "out")],
        cwd=ROOT,
        env={
            **os.environ,
            "DASK_SCHEDULER_ADDRESS": f"tcp://127.0.0.1:{port}",
            "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "cannot reach the Dask scheduler of DASK_SCHEDULER_ADDRESS" in output
    assert "the connection was refused" in output
    assert "Traceback" not in output
    assert str(port) not in output


def test_a_release_refuses_a_scheduler_without_tls():
    """Issue 104: where Dask requires encryption (a release's build), a tcp:// scheduler is
    refused before any connection, saying why and what to give; tcp:// stays for local use."""
    with dask.config.set({"distributed.comm.require-encryption": True}):
        message = failure("tcp://127.0.0.1:1")
    assert "beside the exchange keys: give DASK_SCHEDULER_ADDRESS as tls:// and a client" in message
