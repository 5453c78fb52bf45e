"""A minute-bar database that accepts connections and never answers costs the forecast routes
nothing: a real `python api.py` on loopback, its DATABASE_URL pointing at a real listener that
never says a word (issue 38, acceptance bar 2).

The live-data requests that reach the database hold at most LIVE_MAX_THREADS of the server's
threads; the others are answered 503 at once. The connect timeout is set long here (30 s), so
that the test proves the order of events, not a duration: every `/bitcoin` request is answered
while the live ones that reached the database are still waiting on it.
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from tests.live_server import LiveServer, start_server, wait_for

pytestmark = pytest.mark.slow

LIVE_ROUTES = ("/live", "/price/btc-usd")


@pytest.fixture
def silent_listener() -> Iterator[socket.socket]:
    with socket.create_server(("127.0.0.1", 0), backlog=64) as listener:
        yield listener


@pytest.fixture
def server(artifact_dir, tmp_path, silent_listener) -> Iterator[LiveServer]:
    port = silent_listener.getsockname()[1]
    with start_server(
        artifact_dir,
        tmp_path / "api.log",
        DATABASE_URL=f"postgresql://reader:pw@127.0.0.1:{port}/market",
        LIVE_CONNECT_TIMEOUT="30",
    ) as started:
        yield started


class Request(threading.Thread):
    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.status: int | None = None

    def run(self) -> None:
        try:
            with urllib.request.urlopen(self.url, timeout=120) as answer:
                self.status = answer.status
        except urllib.error.HTTPError as refused:
            self.status = refused.code


def test_bitcoin_is_answered_while_live_requests_wait_on_a_silent_database(server, silent_listener):
    accepted: list[socket.socket] = []

    def accept() -> None:  # the connections the API made to the "database", held open
        while len(accepted) < 64:
            try:
                accepted.append(silent_listener.accept()[0])
            except OSError:  # closed at the end of the test
                return

    threading.Thread(target=accept, daemon=True).start()
    live = [Request(server.url + LIVE_ROUTES[n % 2]) for n in range(16)]
    for request in live:
        request.start()
    # Two threads (LIVE_MAX_THREADS) wait on the database; the other 14 are refused at once.
    wait_for(lambda: len(accepted) >= 2, "two connections to the silent database")
    wait_for(lambda: sum(r.status is not None for r in live) == 14, "14 live answers")
    assert {r.status for r in live if r.status is not None} <= {200, 503}
    waiting = [r for r in live if r.status is None]
    assert len(waiting) == 2

    timings = []
    for _ in range(20):
        began = time.perf_counter()
        with urllib.request.urlopen(f"{server.url}/bitcoin?date=2026-07-20", timeout=60) as ok:
            assert ok.status == 200
        timings.append(time.perf_counter() - began)
    # Every /bitcoin answered while both live requests still wait on the database.
    assert all(request.is_alive() and request.status is None for request in waiting)
    assert len(accepted) <= 3, "no other live request reached the database"
    print(f"/bitcoin answered in {1000 * max(timings):.1f} ms at most ({len(timings)} requests)")
    for connection in accepted:
        connection.close()
