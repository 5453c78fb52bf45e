"""The connection layer (`cryptopredict/api/connections.py`) on a real Waitress on loopback:
the Waitress internals it uses are those of the pinned release, and each bound holds where it
happens, on real sockets. `python api.py` under each attack: tests/api/test_attacks.py."""

from __future__ import annotations

import importlib.metadata
import inspect
import os
import re
import socket
import threading
import time

from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import BaseWSGIServer, MultiSocketServer
from waitress.task import ThreadedTaskDispatcher

from cryptopredict.api import connections
from cryptopredict.api.connections import WAITRESS_VERSION, GuardedChannel, client_of
from tests.api.guarded import OTHER_CLIENT, closed_by_server, guarded, read_answer
from tests.paths import ROOT

GET = b"GET /%d HTTP/1.1\r\nHost: x\r\n\r\n"


def hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
    return [b"hello"]


class Recording:
    """An app that records the paths it was asked for, each answered with `size` bytes, in
    pieces of at most a MiB."""

    def __init__(self, size: int = 5) -> None:
        self.paths: list[str] = []
        self.size = size

    def __call__(self, environ, start_response):
        self.paths.append(environ["PATH_INFO"])
        headers = [("Content-Type", "text/plain"), ("Content-Length", str(self.size))]
        start_response("200 OK", headers)
        piece = 2**20
        return (b"x" * min(piece, self.size - at) for at in range(0, self.size, piece))


def test_the_installed_waitress_is_the_release_the_internals_are_checked_against():
    pinned = re.search(r"^waitress==([^\s\\]+)", (ROOT / "requirements-api.txt").read_text(), re.M)
    assert pinned is not None
    assert importlib.metadata.version("waitress") == pinned.group(1) == WAITRESS_VERSION, (
        "Waitress moved: check every internal cryptopredict/api/connections.py names against "
        "the new release, then set WAITRESS_VERSION"
    )


def test_the_internals_the_layer_uses_are_there():
    # `Connections.take_in` does what Waitress's `handle_accept` does, for several connections.
    accept = inspect.getsource(BaseWSGIServer.handle_accept)
    for step in (
        "v = self.accept()",
        "self.set_socket_options(conn)",
        "addr = self.fix_addr(addr)",
        "self.channel_class(self, conn, addr, self.adj, map=self._map)",
    ):
        assert step in accept, step
    assert "map=self._map" in inspect.getsource(BaseWSGIServer.run)
    assert "map=self.map" in inspect.getsource(MultiSocketServer.run)
    # The loop asks every dispatcher whether it is readable before each wait, and runs until
    # its map is empty: the hook and the drain rely on both.
    assert "while map:" in inspect.getsource(wasyncore.loop)
    assert "obj.readable()" in inspect.getsource(wasyncore.poll2)
    add_task = inspect.getsource(ThreadedTaskDispatcher.add_task)
    assert "self.queue.append(task)" in add_task
    assert "len(self.threads) - self.stop_count - self.active_count" in add_task
    assert "timeout" in inspect.signature(ThreadedTaskDispatcher.shutdown).parameters
    assert "self.server.add_task(self)" in inspect.getsource(HTTPChannel.received)
    assert "self.request = self.parser_class(self.adj)" in inspect.getsource(HTTPChannel.received)
    assert "wasyncore.dispatcher.close(self)" in inspect.getsource(HTTPChannel.handle_close)
    assert "self.outbuf_lock.notify()" in inspect.getsource(HTTPChannel.handle_close)
    assert "self.parse_header(header_plus)" in inspect.getsource(HTTPRequestParser.received)
    for name in ("requests", "request", "requests_lock", "total_outbufs_len", "will_close"):
        assert name in inspect.getsource(HTTPChannel), name
    source = inspect.getsource(connections)
    overridden = {"received", "readable", "handle_read", "handle_close", "service"}
    # `readable` restates Waitress's test, for no lookahead (which the layer refuses).
    assert inspect.getsource(HTTPChannel.readable).count("or ") == 3
    for part in ("self.will_close", "self.close_when_flushed", "self.total_outbufs_len"):
        assert part in inspect.getsource(HTTPChannel.readable)
    for name in overridden | {"del_channel"}:
        assert f"    def {name}(" in source
        assert name in vars(HTTPChannel), name


def test_the_client_address_is_the_ipv4_address_or_the_ipv6_64():
    assert client_of(("203.0.113.7", 50000)) == "203.0.113.7"
    assert client_of(("2001:db8:1:2:3:4:5:6", 443, 0, 0)) == "2001:db8:1:2::/64"
    assert client_of(("2001:db8:1:2:ffff::1", 443, 0, 0)) == "2001:db8:1:2::/64"
    assert client_of(("::ffff:198.51.100.9", 1, 0, 0)) == "198.51.100.9"
    assert client_of(("localhost", None)) == "localhost"


def test_pipelined_requests_wait_unread_until_the_answer_before_them_is_sent():
    """A client sends three requests in one write and reads nothing: only the first is read
    and answered (its answer is more than the socket buffers hold, and less than Waitress
    buffers before it makes the thread wait); once the client reads, the others follow, in
    order. Waitress alone reads all three at once, and answers them one after the other."""
    app = Recording(size=8 * 2**20)
    with guarded(app) as server:
        client = server.connect(receive_buffer=4096)
        client.sendall(GET % 1 + GET % 2 + GET % 3)
        time.sleep(1.0)
        assert app.paths == ["/1"]
        for number in (1, 2, 3):
            head, body = read_answer(client)
            assert head.startswith(b"HTTP/1.1 200"), number
            assert len(body) == app.size, number
        assert app.paths == ["/1", "/2", "/3"]
        client.close()


def test_an_answer_the_client_does_not_read_is_cut_at_its_deadline_and_its_thread_freed():
    """One thread; a client asks for 64 MiB and never reads, which blocks the thread writing
    it once Waitress's buffer is full: the connection is cut at the answer's deadline, and the
    next client is answered."""
    big = Recording(size=64 * 2**20)

    def app(environ, start_response):
        if environ["PATH_INFO"] == "/big":
            return big(environ, start_response)
        return hello(environ, start_response)

    with guarded(app, threads=1, answer_seconds=1.0) as server:
        stuck = server.connect(receive_buffer=4096)
        stuck.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        started = time.monotonic()
        other = server.connect(OTHER_CLIENT, timeout=30)
        other.sendall(GET % 0)
        head, body = read_answer(other)
        assert head.startswith(b"HTTP/1.1 200")
        assert body == b"hello"
        assert time.monotonic() - started < 20
        assert closed_by_server(stuck, timeout=20)
        assert server.connections.cut["answer_deadline"] == 1


def test_a_request_dripped_in_is_cut_at_its_deadline():
    """A header line every 0.2 s keeps a connection busy, never silent: it is cut once its
    request is older than the deadline."""
    app = Recording()
    with guarded(app, request_seconds=1.0) as server:
        client = server.connect()
        client.sendall(b"GET / HTTP/1.1\r\n")
        started = time.monotonic()
        cut = False
        for number in range(100):
            time.sleep(0.2)
            try:
                client.sendall(b"X-Drip-%d: 1\r\n" % number)
            except OSError:
                cut = True
                break
            if closed_by_server(client, timeout=0.001):
                cut = True
                break
        assert cut
        assert 1.0 <= time.monotonic() - started < 15
        assert app.paths == []
        assert server.connections.cut["request_deadline"] == 1


def test_a_client_past_its_cap_is_refused_and_other_clients_are_not():
    with guarded(hello, per_client=3) as server:
        held = [server.connect() for _ in range(3)]
        extra = server.connect()
        head, body = read_answer(extra)
        assert head.startswith(b"HTTP/1.1 503 ")
        assert b"too_many_connections" in body
        assert closed_by_server(extra, timeout=5)
        other = server.connect(OTHER_CLIENT)
        other.sendall(GET % 1)
        assert read_answer(other)[1] == b"hello"
        held[0].close()
        deadline = time.monotonic() + 10
        while server.connections.per_client["127.0.0.1"] > 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        again = server.connect()
        again.sendall(GET % 2)
        assert read_answer(again)[1] == b"hello"
        assert server.connections.cut["per_client_cap"] == 1


def headers(count: int) -> bytes:
    return b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % n for n in range(count)) + b"\r\n"


def test_more_header_lines_than_the_bound_are_refused_unparsed():
    app = Recording()
    with guarded(app, max_headers=100) as server:
        client = server.connect()
        client.sendall(headers(100))
        assert read_answer(client)[0].startswith(b"HTTP/1.1 200")
        refused = server.connect()
        refused.sendall(headers(101))
        head, body = read_answer(refused)
        assert head.split(b" ", 2)[1] == b"431"
        assert b"more than 100 header lines (101)" in body
        assert closed_by_server(refused, timeout=5)
        assert app.paths == ["/"]


def test_a_refusal_reaches_a_client_that_is_still_sending():
    """The server answers 431 on the header lines while the client still sends 8 MB after
    them: the answer is read, not lost to a reset (the lingering close)."""
    with guarded(hello, max_headers=10) as server:
        client = server.connect()
        client.sendall(headers(20) + b"x" * 8_000_000)
        head, _ = read_answer(client)
        assert head.split(b" ", 2)[1] == b"431"


def test_content_length_with_transfer_encoding_is_answered_then_closed():
    """RFC 9112, section 6.1: the chunked body is read, the answer says close, and does."""
    app = Recording()
    with guarded(app) as server:
        client = server.connect()
        client.sendall(
            b"POST /both HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        )
        head, _ = read_answer(client)
        assert b"\r\nConnection: close" in head
        assert closed_by_server(client, timeout=5)
        plain = server.connect()
        plain.sendall(GET % 1 + GET % 2)
        assert b"Connection: close" not in read_answer(plain)[0]
        read_answer(plain)  # kept alive: the second is answered too
        assert app.paths == ["/both", "/1", "/2"]


def test_the_loop_yields_to_the_threads_when_it_queues_a_request_behind_them(monkeypatch):
    """One thread, slow answers: a request handed over while the thread is busy makes the loop
    yield the processor (and the GIL) before it reads more; one at a time, it never does."""
    yields = []
    monkeypatch.setattr(connections.os, "sched_yield", lambda: yields.append(1))

    def slow(environ, start_response):
        time.sleep(0.05)
        return hello(environ, start_response)

    with guarded(slow, threads=1) as server:
        alone = server.connect()
        for number in range(3):
            # The thread counts itself idle a moment after its answer is sent: wait for that,
            # or on a loaded machine the next request finds it still busy.
            idle_by = time.monotonic() + 10
            while server.connections.dispatcher.active_count and time.monotonic() < idle_by:
                time.sleep(0.01)
            alone.sendall(GET % number)
            assert read_answer(alone)[1] == b"hello"
        assert yields == []
        clients = [server.connect() for _ in range(6)]
        for number, client in enumerate(clients):
            client.sendall(GET % number)
        for client in clients:
            assert read_answer(client)[1] == b"hello"
    assert len(yields) >= 1


def test_only_guarded_channels_serve():
    """`api.py`'s connections are the layer's channels, counted per client."""
    with guarded(hello) as server:
        client = server.connect()
        client.sendall(GET % 1)
        read_answer(client)
        (channel,) = server.connections.channels
        assert isinstance(channel, GuardedChannel)
        assert server.connections.per_client == {"127.0.0.1": 1}
        client.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + 10
        while server.connections.channels and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.connections.per_client == {}


def test_an_idle_connection_is_not_cut_by_the_request_deadline():
    """The request deadline runs from a request's first byte: silence between requests is the
    channel timeout's (Waitress's own), not this."""
    with guarded(hello, request_seconds=0.5) as server:
        client = server.connect()
        client.sendall(GET % 1)
        read_answer(client)
        time.sleep(1.5)
        client.sendall(GET % 2)
        assert read_answer(client)[1] == b"hello"


def test_a_connection_cut_by_the_sweep_is_left_out_of_the_loop_s_poll():
    """The sweep cuts while the loop lists its connections for poll(): one cut then must not
    be listed, or its freed descriptor, reused by a connection taken in that turn, would be
    answered invalid by the poll and close the new one unanswered."""
    with guarded(Recording(), request_seconds=0.5) as server:
        client = server.connect()
        client.sendall(b"GET / HTTP/1.1\r\n")
        deadline = time.monotonic() + 10
        while not server.connections.channels:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        (channel,) = server.connections.channels
        assert channel.readable()
        assert closed_by_server(client, timeout=10)
        while channel.socket is not None:  # the loop's close, a moment after the client's EOF
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert server.connections.cut["request_deadline"] == 1
        assert (channel.readable(), channel.writable()) == (False, False)


def test_a_connection_taken_in_the_turn_the_sweep_cuts_others_is_answered(monkeypatch):
    """The request the slowloris test (tests/api/test_server.py) saw closed unanswered: a
    connection taken in by the turn of the loop whose sweep cut others, on a descriptor the
    sweep freed. Here every run makes that turn: the loop is held after the first cut until
    a new connection has sent its request, the lowest free descriptor one the sweep freed."""
    freed: list[int] = []
    cut = GuardedChannel.cut

    def recorded(channel: GuardedChannel) -> None:
        if channel.socket is not None:
            freed.append(channel.socket.fileno())
        cut(channel)

    monkeypatch.setattr(GuardedChannel, "cut", recorded)
    with guarded(Recording(), request_seconds=0.5) as server:
        layer, late, fillers, asked = server.connections, socket.socket(), [], threading.Event()
        late.settimeout(10)
        check = layer.on_tick

        def ask_in_the_turn_of_the_cut(now: float) -> None:
            check(now)
            if freed and not asked.is_set():
                while (fd := os.open(os.devnull, os.O_RDONLY)) not in freed:
                    fillers.append(fd)
                os.close(fd)  # the lowest free descriptor, which the next accept takes
                late.connect(("127.0.0.1", server.port))
                late.sendall(GET % 1)
                asked.set()

        layer.on_tick = ask_in_the_turn_of_the_cut
        held = [server.connect() for _ in range(5)]
        try:
            for client in held:
                client.sendall(b"GET / HTTP/1.1\r\n")
            assert asked.wait(10)
            assert read_answer(late)[1] == b"xxxxx"
        finally:
            for fd in fillers:
                os.close(fd)
            for client in [late, *held]:
                client.close()
