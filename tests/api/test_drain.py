"""The graceful stop uses Waitress internals (`cryptopredict/api/drain.py`): they are checked here
against the pinned Waitress, and the drain is run in this process on Waitress's own loop;
tests/api/test_server.py checks SIGTERM on the live server."""

from __future__ import annotations

import http.client
import importlib.metadata
import inspect
import re
import signal
import socket
import threading
import time
from pathlib import Path

from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, MultiSocketServer, create_server
from waitress.trigger import trigger

from cryptopredict.api.drain import Drain, socket_map
from cryptopredict.config import Settings
from tests.paths import ROOT


def test_the_installed_waitress_is_the_pinned_one():
    pinned = re.search(r"^waitress==([^\s\\]+)", (ROOT / "requirements-api.txt").read_text(), re.M)
    assert pinned is not None
    assert importlib.metadata.version("waitress") == pinned.group(1)


def test_the_internals_the_drain_uses_are_there(app):
    options = {**Settings().waitress_options(), "port": 0}
    server = create_server(app, **options)
    client = socket.create_connection(("127.0.0.1", int(server.effective_port)))
    try:
        sockets = socket_map(server)
        assert sockets is server._map
        assert any(isinstance(each, BaseWSGIServer) for each in sockets.values())
        assert any(isinstance(each, trigger) for each in sockets.values())
        for _ in range(50):
            wasyncore.loop(timeout=0.05, map=sockets, use_poll=True, count=1)
            channels = [each for each in sockets.values() if isinstance(each, HTTPChannel)]
            if channels:
                break
        (channel,) = channels
        assert channel.requests == []
        assert channel.close_when_flushed is False
        assert server.adj.asyncore_use_poll is True
        # The loop `server.run()` runs asks every dispatcher in the map whether it is readable
        # before each wait, and runs until the map is empty: the drain relies on both.
        assert "while map:" in inspect.getsource(wasyncore.loop)
        assert "obj.readable()" in inspect.getsource(wasyncore.poll2)
        assert "map=self._map" in inspect.getsource(BaseWSGIServer.run)
        assert "map=self.map" in inspect.getsource(MultiSocketServer.run)
    finally:
        client.close()
        server.close()


def test_a_drain_answers_the_request_in_flight_and_ends_the_loop(app):
    """Waitress's own loop in a thread; the drain is started as the signal handler starts it."""
    server = create_server(app, **{**Settings().waitress_options(), "port": 0})
    sockets = socket_map(server)
    stopper = Drain(sockets)
    loop = threading.Thread(target=server.run)
    loop.start()
    try:
        idle = http.client.HTTPConnection("127.0.0.1", int(server.effective_port), timeout=10)
        idle.request("GET", "/healthz")
        assert idle.getresponse().read()
        slow = http.client.HTTPConnection("127.0.0.1", int(server.effective_port), timeout=10)
        slow.request("GET", "/vendor/plotly.min.js")
        answer = slow.getresponse()
        first = answer.read(65_536)
        stopper.request(signal.SIGTERM, None)
        rest = answer.read()
        assert len(first) + len(rest) == int(answer.headers["Content-Length"])
        loop.join(timeout=10)
        assert not loop.is_alive(), "the loop did not end"
        assert sockets == {}
        assert stopper.signal == "SIGTERM"
        refused = socket.socket()
        assert refused.connect_ex(("127.0.0.1", int(server.effective_port))) != 0
        refused.close()
    finally:
        if loop.is_alive():
            wasyncore.close_all(sockets)
            loop.join(timeout=5)
        server.task_dispatcher.shutdown(timeout=1)
        for each in stopper.triggers:
            each.close()


def test_the_drain_pipe_is_closed_when_it_ends(app):
    server = create_server(app, **{**Settings().waitress_options(), "port": 0})
    before = set(Path("/proc/self/fd").iterdir())
    stopper = Drain(socket_map(server))
    loop = threading.Thread(target=server.run)
    loop.start()
    stopper.request(signal.SIGINT, None)
    loop.join(timeout=10)
    assert not loop.is_alive()
    server.task_dispatcher.shutdown(timeout=1)
    for each in stopper.triggers:
        each.close()
    assert set(Path("/proc/self/fd").iterdir()) <= before


def slow_app(environ, start_response):
    time.sleep(0.2)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


def received(sockets) -> int:
    """Requests the loop has read whole and not yet answered, over every connection."""
    while True:
        try:
            dispatchers = list(sockets.values())
            break
        except RuntimeError:  # the loop thread changed the map meanwhile
            continue
    return sum(len(each.requests) for each in dispatchers if isinstance(each, HTTPChannel))


def test_requests_received_and_still_queued_when_the_drain_starts_are_answered():
    """One thread, six requests of 0.2 s each: when the drain starts, one is being answered and
    five wait in the queue, each on its own connection; all six are answered whole."""
    server = create_server(slow_app, host="127.0.0.1", port=0, threads=1, asyncore_use_poll=True)
    sockets = socket_map(server)
    stopper = Drain(sockets)
    loop = threading.Thread(target=server.run)
    loop.start()
    try:
        clients = [
            http.client.HTTPConnection("127.0.0.1", int(server.effective_port), timeout=10)
            for _ in range(6)
        ]
        for client in clients:
            client.request("GET", "/")
        deadline = time.monotonic() + 10
        while received(sockets) < 5 and time.monotonic() < deadline:
            time.sleep(0.005)
        assert received(sockets) >= 5
        stopper.request(signal.SIGTERM, None)
        for client in clients:
            answer = client.getresponse()
            assert (answer.status, answer.read()) == (200, b"ok")
        loop.join(timeout=10)
        assert not loop.is_alive()
    finally:
        if loop.is_alive():
            wasyncore.close_all(sockets)
            loop.join(timeout=5)
        server.task_dispatcher.shutdown(timeout=1)
        for each in stopper.triggers:
            each.close()
