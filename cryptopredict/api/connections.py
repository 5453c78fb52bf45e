"""The API's connections: Waitress, with the bounds its settings do not reach.

Waitress's adjustments bound how many connections are open, how long an idle one may stay
silent, and the bytes of a request (`server.waitress_options`). What they do not reach is
added here, on Waitress's own loop and channels (`Connections`):

- A deadline per request that dripping cannot extend: from its first byte, the request line,
  headers and body must arrive within `request_seconds`; from when a thread takes it up, its
  answer must be sent within `answer_seconds`. Past either, the connection is cut: a client
  that never reads its answer frees the thread writing it, and its buffers. (The time a
  request waits for a thread is the server's, not the client's: it is not counted.)
- One request of a connection at a time: requests pipelined behind it stay unread (in the
  kernel's buffers, which push back on the client) until the answer before them is sent.
- At most `per_client` connections from one address (one /64 for IPv6): past it a connection
  is answered 503 and closed as soon as it is accepted.
- At most `max_headers` header lines (Waitress bounds their bytes, not their number): more are
  answered 431 without being parsed.
- A request with both Content-Length and Transfer-Encoding is answered, then the connection is
  closed (RFC 9112, section 6.1).
- A connection closed after its answer while the client is still sending is closed gently:
  shut for writing, then what arrives is read and dropped for up to `LINGER_SECONDS`, so the
  client reads the answer rather than a reset.
- When the loop hands a request to a thread while every thread is busy, it yields the
  processor (the GIL is released for the call), so the threads it woke run before it reads
  more: without a pause the loop read whole bursts of requests holding the GIL, and `/bitcoin`
  at 64 connections fell to a quarter of the stock server (docs/performance.md).
- The drain on SIGTERM (`drain.py` says when): requests received are answered with
  `Connection: close`, connections waiting in the listen queue are taken in and answered, an
  idle connection gets `IDLE_GRACE` seconds for a request already on its way.

Waitress internals are used here and nowhere else in the project; each is checked against the
pinned release (`WAITRESS_VERSION`) by tests/api/test_connections.py, so an upgrade that moves
one fails loudly:
- `HTTPChannel` subclassed: `received`, `readable` (its test restated), `handle_read`,
  `handle_close`, `del_channel`, `service`, and its `request`, `requests`, `requests_lock`,
  `total_outbufs_len`, `will_close`, `close_when_flushed`, `sent_continue`, `send_continue`,
  `connected`;
- `HTTPRequestParser` subclassed: `parse_header`, `headers`, `chunked`, `error`;
  `waitress.utilities.RequestHeaderFieldsTooLarge`;
- a listening server's `handle_accept` (replaced by `Connections.take_in`, which does what it
  does, in bursts), `accept`, `set_socket_options`, `fix_addr`, `adj`, its socket map (`_map`,
  or `map` of a `MultiSocketServer`) and its `task_dispatcher` (`queue`, `threads`,
  `stop_count`, `active_count`, as `add_task` reads them, and its `shutdown`);
- `wasyncore.file_dispatcher` (the `Hook` in the loop) and `trigger.del_channel`.
"""

from __future__ import annotations

import collections
import functools
import ipaddress
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import BaseWSGIServer, MultiSocketServer
from waitress.trigger import trigger
from waitress.utilities import RequestHeaderFieldsTooLarge

WAITRESS_VERSION = "3.0.2"
ACCEPT_BURST = 64  # connections taken in at most in one turn of the loop
SWEEP_SECONDS = 0.25  # how often deadlines are looked at
LINGER_SECONDS = 2.0  # as Apache's lingering close
IDLE_GRACE = 1.0  # seconds a drained idle connection waits for a request on its way
LOG_EVERY = 10.0  # seconds between two summaries of cut connections
TOO_MANY = (
    b'{"error":"too_many_connections","detail":"this address has too many connections open to '
    b'the API; close some, or reuse them (keep-alive)"}'
)
REFUSAL = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
    b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(TOO_MANY), TOO_MANY)
)

log = logging.getLogger("api")

# A BaseWSGIServer (one listening socket), or a MultiSocketServer (several); Waitress ships no
# type information.
Server: TypeAlias = Any


@dataclass(frozen=True)
class Limits:
    request_seconds: float = 5.0
    answer_seconds: float = 15.0
    per_client: int = 100  # 0: no cap
    max_headers: int = 100


class Connections:
    """One server's connections under `limits`; everything here runs on Waitress's loop
    thread, except `wake`, which a signal handler may call."""

    def __init__(self, server: Server, limits: Limits) -> None:
        self.server = server
        self.limits = limits
        self.sockets: dict[int, wasyncore.dispatcher] = (
            server.map if isinstance(server, MultiSocketServer) else server._map
        )
        self.dispatcher = server.task_dispatcher
        if server.adj.channel_request_lookahead:
            raise ValueError("the connection layer reads one request of a connection at a time")
        self.per_client: collections.Counter[str] = collections.Counter()
        self.channels: set[GuardedChannel] = set()
        self.cut: collections.Counter[str] = collections.Counter()  # why, for /metrics
        self._unlogged: collections.Counter[str] = collections.Counter()
        self._next_log = 0.0
        self._next_sweep = 0.0
        self.draining_since = 0.0
        self.on_wake: Callable[[], None] = lambda: None
        self.on_tick: Callable[[float], None] = lambda now: None
        for listener in self.listeners():
            listener.handle_accept = functools.partial(self.take_in, listener)
        self.hook = Hook(self)

    def listeners(self) -> list[BaseWSGIServer]:
        return [each for each in self.sockets.values() if isinstance(each, BaseWSGIServer)]

    def requests_wait(self) -> bool:
        """Whether requests wait for a thread: Waitress's own test before it warns of the
        queue's depth (read without its lock: a hint)."""
        dispatcher = self.dispatcher
        idle = len(dispatcher.threads) - dispatcher.stop_count - dispatcher.active_count
        return len(dispatcher.queue) > idle

    def take_in(self, listener: BaseWSGIServer) -> None:
        """`listener`'s `handle_accept`: Waitress's takes in one connection each turn of the
        loop; under a flood of connections a client waits behind thousands in the listen
        queue. This takes in what is queued, up to `ACCEPT_BURST` and the connection limit."""
        room = listener.adj.connection_limit - len(self.sockets)
        for _ in range(max(1, min(ACCEPT_BURST, room))):
            try:
                accepted = listener.accept()
                if accepted is None:  # none waiting
                    return
                sock, addr = accepted
                listener.set_socket_options(sock)
            except OSError:  # a connection gone before it was taken in
                continue
            self.accept(listener, sock, listener.fix_addr(addr))

    def accept(self, listener: BaseWSGIServer, sock: socket.socket, addr: Any) -> None:
        """A channel for a new connection, unless its address has `per_client` connections
        open already: then it is answered 503 and closed."""
        client = client_of(addr)
        if self.limits.per_client and self.per_client[client] >= self.limits.per_client:
            _refuse(sock)
            self.count("per_client_cap")
            return
        try:
            GuardedChannel(
                listener, sock, addr, listener.adj, self.sockets, connections=self, client=client
            )
        except OSError:  # the client went already
            sock.close()

    def wake(self) -> None:
        """Wake the loop, which then calls `on_wake` (safe in a signal handler)."""
        os.write(self.hook.wake_fd, b"x")

    def tick(self, now: float) -> None:
        """Called by the loop before each wait: cut the connections past a deadline (looked
        at every `SWEEP_SECONDS`), then `on_tick`."""
        if now >= self._next_sweep:
            self._next_sweep = now + SWEEP_SECONDS
            self._sweep(now)
        self.on_tick(now)

    def _sweep(self, now: float) -> None:
        for channel in list(self.channels):
            reason = channel.overdue(now)
            if reason:
                self.count(reason)
            if reason is not None:
                channel.cut()
        if self.draining_since and now >= self.draining_since + IDLE_GRACE:
            for channel in list(self.channels):
                if channel.idle() and not channel.unread():
                    channel.cut()
        if self._unlogged and now >= self._next_log:
            self._next_log = now + LOG_EVERY
            said = ", ".join(f"{n} by {why}" for why, n in sorted(self._unlogged.items()))
            log.warning("connections cut or refused in the last %.0f s: %s", LOG_EVERY, said)
            self._unlogged.clear()

    def count(self, reason: str) -> None:
        self.cut[reason] += 1
        self._unlogged[reason] += 1

    def drain(self) -> None:
        """Stop listening, once the connections already waiting in the listen queue are taken
        in; from now on every answer closes its connection."""
        self.draining_since = time.monotonic()
        for listener in self.listeners():
            for _ in range(listener.adj.backlog // ACCEPT_BURST + 1):
                self.take_in(listener)
            wasyncore.dispatcher.close(listener)  # the listening socket only: not the trigger
        for channel in self.channels:
            channel.close_after_answer()

    def busy(self) -> list[GuardedChannel]:
        return list(self.channels)

    def stop(self) -> list[trigger]:
        """Cut every connection left and empty the socket map, which ends Waitress's loop.
        Returns its triggers, out of the map but open: a request thread still finishing pulls
        one; close them once the threads have stopped."""
        for channel in list(self.channels):
            channel.cut()
        triggers = [each for each in self.sockets.values() if isinstance(each, trigger)]
        for each in triggers:
            each.del_channel()
        self.hook.close_all()
        return triggers

    def stop_threads(self, triggers: list[trigger]) -> None:
        """After the loop: stop the request threads (a second at most), then close `triggers`
        (what `stop` returned), which a thread still finishing may pull until then."""
        self.dispatcher.shutdown(timeout=1)
        for each in triggers:
            each.close()


class Hook(wasyncore.file_dispatcher):
    """The read end of a pipe in Waitress's loop: asked before every wait whether it is
    readable, it runs `Connections.tick`; a byte on it runs `Connections.on_wake`."""

    def __init__(self, connections: Connections) -> None:
        self.connections = connections
        read, self.wake_fd = os.pipe()
        super().__init__(read, map=connections.sockets)
        os.close(read)  # file_dispatcher keeps its own duplicate

    def readable(self) -> bool:
        self.connections.tick(time.monotonic())
        return True

    def writable(self) -> bool:
        return False

    def handle_read(self) -> None:
        self.recv(64)
        self.connections.on_wake()

    def close_all(self) -> None:
        os.close(self.wake_fd)
        self.close()


class GuardedParser(HTTPRequestParser):
    """Waitress's parser, with a bound on the number of header lines, and a close after a
    request that carries both Content-Length and Transfer-Encoding."""

    max_headers = Limits.max_headers

    def parse_header(self, header_plus: bytes) -> None:
        # The block ends with a blank line: each line break before it ends the request line or
        # a header line but the last.
        lines = header_plus.rstrip().count(b"\n")
        if lines > self.max_headers:
            # As Waitress answers a header block past its size: parse a stand-in request line
            # (the answer needs a version), and answer the error.
            super().parse_header(b"GET / HTTP/1.0\r\n")
            self.error = RequestHeaderFieldsTooLarge(
                f"more than {self.max_headers} header lines ({lines})"
            )
            return
        super().parse_header(header_plus)
        if self.chunked and "CONTENT_LENGTH" in self.headers:
            self.headers["CONNECTION"] = "close"


class GuardedChannel(HTTPChannel):
    """Waitress's channel, one request at a time, with deadlines, a lingering close, and a
    count per client address."""

    request: GuardedParser | None
    sent_continue: bool

    def __init__(
        self,
        server: BaseWSGIServer,
        sock: socket.socket,
        addr: Any,
        adj: Any,
        map: Any,
        *,
        connections: Connections,
        client: str,
    ) -> None:
        self.connections = connections
        self.limits = connections.limits
        self.client = client
        self.pipelined = b""  # bytes after the request in progress: read, not yet parsed
        self.started = 0.0  # when the request being received sent its first byte
        self.answer_by = 0.0  # by when the answer being written must be sent
        self.lingering = 0.0  # until when a lingering close reads and drops
        self.closing = False  # drained: close once the answer in progress is sent
        super().__init__(server, sock, addr, adj, map)
        connections.per_client[client] += 1
        connections.channels.add(self)

    def parser(self) -> GuardedParser:
        parser = GuardedParser(self.adj)
        parser.max_headers = self.limits.max_headers
        return parser

    # Reading: one request at a time.

    def received(self, data: bytes) -> bool:
        if not data:
            return False
        with self.requests_lock:
            if self.will_close or self.close_when_flushed:
                return False
            while data:
                if self.request is None:
                    if self.requests:  # one in progress: the rest waits
                        self.pipelined = data
                        break
                    self.request = self.parser()
                    self.started = time.monotonic()
                consumed = self.request.received(data)
                request = self.request
                if (
                    request.expect_continue
                    and request.headers_finished
                    and not self.requests
                    and not self.sent_continue
                ):
                    self.send_continue()
                if request.completed:
                    self.sent_continue = False
                    self.started = 0.0
                    self.request = None
                    if not request.empty:
                        if self.closing:
                            request.headers["CONNECTION"] = "close"
                        self.requests.append(request)
                        self.answer_by = 0.0  # set once a thread takes it up (`service`)
                        self.server.add_task(self)
                        if self.connections.requests_wait():
                            # Every thread is busy: let them run (the GIL is released for the
                            # call) before this loop reads more requests.
                            os.sched_yield()
                if consumed >= len(data):
                    break
                data = data[consumed:]
        return True

    def readable(self) -> bool:
        """Waitress's test (nothing is read while a request is in progress, an answer unsent,
        or the connection closing), then the layer's. The loop asks every connection before
        each wait, so the common answers come first, and cheaply. A connection closed already
        is neither readable nor writable: the sweep cuts connections while the loop lists
        them for its poll (`Hook.readable`), and one listed after its cut would have its freed
        descriptor polled; a connection taken in the same turn may reuse that descriptor,
        and the poll's answer for the old one (invalid) would close the new one unanswered."""
        if self.socket is None or self.requests or self.total_outbufs_len:
            return False
        if self.pipelined:  # the answer before them is sent: on to the next request
            pipelined, self.pipelined = self.pipelined, b""
            self.received(pipelined)
            return self.readable()
        if self.lingering:
            return True
        return not (self.will_close or self.close_when_flushed)

    def writable(self) -> bool:
        return self.socket is not None and bool(super().writable())

    def handle_read(self) -> None:
        if self.lingering:
            self._drop_input()
        else:
            super().handle_read()

    def service(self) -> None:
        """On a request thread: answer the request in progress, within `answer_seconds`."""
        self.answer_by = time.monotonic() + self.limits.answer_seconds
        super().service()

    # Deadlines and the drain.

    def overdue(self, now: float) -> str | None:
        """Why this connection must be cut now ("" for the end of a lingering close), or None."""
        if self.lingering:
            return "" if now >= self.lingering else None
        if self.started and now - self.started > self.limits.request_seconds:
            return "request_deadline"
        if self.answer_by and now > self.answer_by and (self.requests or self.total_outbufs_len):
            return "answer_deadline"
        return None

    def idle(self) -> bool:
        """No request in progress, none partly received, nothing left to send."""
        return not (
            self.requests
            or self.request is not None
            or self.pipelined
            or self.total_outbufs_len
            or self.lingering
        )

    def close_after_answer(self) -> None:
        """Answer the request in progress (and any received later) with `Connection: close`."""
        self.closing = True
        with self.requests_lock:
            for request in self.requests:
                request.headers["CONNECTION"] = "close"

    def unread(self) -> bool:
        """Whether the client sent anything this channel has not handled yet."""
        if self.pipelined or self.request is not None:
            return True
        try:
            return bool(self.socket.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT))
        except OSError:  # nothing there (BlockingIOError), or the connection is gone
            return False

    # Closing.

    def handle_close(self) -> None:
        """Waitress closes here after an answer, an idle timeout or a socket error; when the
        client is still sending, shut for writing and drop what comes for a while first."""
        if self.lingering or self.socket is None or self.requests or self.total_outbufs_len:
            self.cut()
        elif self.unread():
            self._linger()
        else:
            self.cut()

    def cut(self) -> None:
        """Close now, as Waitress does (a thread waiting to write is woken, and gives up)."""
        self.lingering = 0.0
        super().handle_close()

    def _linger(self) -> None:
        try:
            self.socket.shutdown(socket.SHUT_WR)
        except OSError:
            self.cut()
            return
        self.connected = False
        self.will_close = self.close_when_flushed = False
        self.pipelined = b""
        self.request = None
        self.started = 0.0
        self.lingering = time.monotonic() + LINGER_SECONDS

    def _drop_input(self) -> None:
        try:
            data = self.socket.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.cut()

    def del_channel(self, map: Any = None) -> None:
        if self in self.connections.channels:
            self.connections.channels.discard(self)
            self.connections.per_client[self.client] -= 1
            if not self.connections.per_client[self.client]:
                del self.connections.per_client[self.client]
        super().del_channel(map)


def client_of(addr: Any) -> str:
    """The address connections are counted by: the IPv4 address, or the IPv6 /64 (one host's
    share of a network)."""
    host = addr[0] if isinstance(addr, tuple) and addr else str(addr)
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return str(host)
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def _refuse(sock: socket.socket) -> None:
    try:
        sock.setblocking(False)
        sock.send(REFUSAL)
    except OSError:
        pass
    finally:
        sock.close()
