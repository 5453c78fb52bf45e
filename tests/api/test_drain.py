"""The graceful stop (`cryptopredict/api/drain.py`), run in this process on Waitress's own loop
with the connection layer, as `api.py` runs it; tests/api/test_server.py checks SIGTERM on the
live server.

Every request a client sent before the drain started is answered whole, whether its
connection was new (still in the listen queue), kept alive and idle, busy, or queued behind
busy threads; requests sent on a kept-alive connection just after it started are answered too.
These tests must hold on a loaded machine: they wait for events, never for a fixed time, except
where the drain's own bounds are the subject."""

from __future__ import annotations

import http.client
import signal
import socket
import threading
import time
from pathlib import Path

from tests.api.guarded import closed_by_server, guarded, read_answer

GET = b"GET /%d HTTP/1.1\r\nHost: x\r\n\r\n"


answering = threading.Event()


def slow_app(environ, start_response):
    answering.set()
    time.sleep(0.2)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


def quick_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


def big_app(environ, start_response):
    size = 8 * 2**20
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(size))])
    return (b"x" * 2**20 for _ in range(8))


def test_a_drain_answers_the_request_in_flight_and_ends_the_loop():
    with guarded(big_app) as server:
        idle = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        idle.request("GET", "/idle")
        assert idle.getresponse().read()
        slow = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        slow.request("GET", "/big")
        answer = slow.getresponse()
        first = answer.read(65_536)
        server.stop(timeout=0)
        rest = answer.read()
        assert len(first) + len(rest) == int(answer.headers["Content-Length"])
        server.loop.join(timeout=10)
        assert not server.loop.is_alive(), "the loop did not end"
        assert server.connections.sockets == {}
        assert server.drain.signal == "SIGTERM"
        refused = socket.socket()
        assert refused.connect_ex(("127.0.0.1", server.port)) != 0
        refused.close()


def test_the_drain_pipe_is_closed_when_it_ends():
    before = set(Path("/proc/self/fd").iterdir())
    with guarded(quick_app) as server:
        server.stop()
        assert not server.loop.is_alive()
    assert set(Path("/proc/self/fd").iterdir()) <= before


def test_requests_sent_before_the_drain_and_queued_behind_a_busy_thread_are_answered():
    """One thread, six requests of 0.2 s each, each on its own connection: when the drain
    starts one is being answered, and the others wait (in the queue, or unread in the kernel
    while the queue is full); all six are answered whole, each saying it closes."""
    answering.clear()
    with guarded(slow_app, threads=1) as server:
        clients = [server.connect() for _ in range(6)]
        for number, client in enumerate(clients):
            client.sendall(GET % number)
        wait_until(answering.is_set)
        server.stop(timeout=0)
        for client in clients:
            head, body = read_answer(client)
            assert head.startswith(b"HTTP/1.1 200")
            assert body == b"ok"
            assert b"\r\nConnection: close" in head
            assert closed_by_server(client, timeout=10)
        server.loop.join(timeout=10)
        assert not server.loop.is_alive()


def test_requests_sent_on_kept_alive_connections_just_after_the_drain_are_answered():
    """Sixteen kept-alive connections, idle when the drain starts; each client sends its next
    request just after: every one is answered, saying it closes, then closed."""
    with guarded(quick_app) as server:
        clients = [server.connect() for _ in range(16)]
        for number, client in enumerate(clients):
            client.sendall(GET % number)
            read_answer(client)
        server.stop(timeout=0)
        wait_until(lambda: server.connections.draining_since)
        for number, client in enumerate(clients):
            client.sendall(GET % (100 + number))
        for client in clients:
            head, body = read_answer(client)
            assert body == b"ok"
            assert b"\r\nConnection: close" in head
            assert closed_by_server(client, timeout=10)
        server.loop.join(timeout=10)
        assert not server.loop.is_alive()


def test_new_connections_in_the_listen_queue_when_the_drain_starts_are_answered():
    """The loop is held busy while clients connect and send: their connections wait in the
    listen queue, unaccepted, when the drain starts. Each is taken in and answered."""
    with guarded(quick_app) as server:
        hold = threading.Event()
        held = threading.Event()

        def hold_the_loop(now: float) -> None:
            if hold.is_set():
                held.set()
                while hold.is_set():
                    time.sleep(0.01)

        tick = server.connections.on_tick
        server.connections.on_tick = lambda now: (hold_the_loop(now), tick(now))
        hold.set()
        wait_until(held.is_set)
        clients = [server.connect() for _ in range(8)]
        for number, client in enumerate(clients):
            client.sendall(GET % number)
        server.drain.request(signal.SIGTERM, None)  # wakes the loop once it turns
        hold.clear()
        for client in clients:
            head, body = read_answer(client)
            assert body == b"ok"
            assert b"\r\nConnection: close" in head
        server.loop.join(timeout=10)
        assert not server.loop.is_alive()


def test_an_idle_connection_is_closed_after_a_moment_and_the_loop_ends():
    with guarded(quick_app) as server:
        client = server.connect()
        client.sendall(GET % 1)
        read_answer(client)
        started = time.monotonic()
        server.stop()
        assert closed_by_server(client, timeout=10)
        assert not server.loop.is_alive()
        assert time.monotonic() - started < 4  # the idle grace (1 s), not the drain's bound


def wait_until(condition, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)
