"""A real Waitress on loopback in this process, with the API's connection layer
(`cryptopredict/api/connections.py`) and drain, serving any WSGI app on its own loop thread."""

from __future__ import annotations

import signal
import socket
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, BinaryIO

from waitress.server import create_server

from cryptopredict.api.connections import Connections, Limits, Server
from cryptopredict.api.drain import Drain

WSGIApp = Callable[..., Any]
OTHER_CLIENT = "127.0.0.2"  # loopback too, but another address to the per-client cap


@dataclass
class Guarded:
    server: Server
    connections: Connections
    drain: Drain
    loop: threading.Thread

    @property
    def port(self) -> int:
        return int(self.server.effective_port)

    def connect(
        self, source: str = "127.0.0.1", timeout: float = 10, receive_buffer: int = 0
    ) -> socket.socket:
        """A connection from `source`; `receive_buffer`: a small one, set before connecting so
        that the window it opens stays small."""
        client = socket.socket()
        client.settimeout(timeout)
        if receive_buffer:
            client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        client.bind((source, 0))
        client.connect(("127.0.0.1", self.port))
        return client

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM's drain, as the signal handler starts it; waits for the loop to end."""
        self.drain.request(signal.SIGTERM, None)
        self.loop.join(timeout)


@contextmanager
def guarded(app: WSGIApp, *, threads: int = 4, **limits: Any) -> Iterator[Guarded]:
    """`app` served as `api.py` serves (poll(), the connection layer, the drain), with
    Waitress's defaults otherwise; `limits` replace those of `Limits`."""
    server = create_server(
        app, host="127.0.0.1", port=0, threads=threads, asyncore_use_poll=True, ident=""
    )
    connections = Connections(server, replace(Limits(), **limits))
    drain = Drain(connections)
    loop = threading.Thread(target=server.run, daemon=True)
    loop.start()
    running = Guarded(server, connections, drain, loop)
    try:
        yield running
    finally:
        if loop.is_alive():
            running.stop()
        drain.close()


def read_answer(client: socket.socket) -> tuple[bytes, bytes]:
    """The next HTTP answer on `client`, which must carry a Content-Length: (head, body)."""
    reader = _readers.get(client)
    if reader is None:
        reader = _readers[client] = client.makefile("rb")
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        line = reader.readline()
        if not line:
            raise ConnectionError(f"closed after {head!r}")
        head += line
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    body = reader.read(length)
    if len(body) < length:
        raise ConnectionError("closed in the body")
    return head.rstrip(b"\r\n"), body


_readers: weakref.WeakKeyDictionary[socket.socket, BinaryIO] = weakref.WeakKeyDictionary()


def closed_by_server(client: socket.socket, timeout: float) -> bool:
    """Whether the server closes `client` within `timeout` seconds (what it sends is read)."""
    client.settimeout(timeout)
    try:
        while client.recv(65536):
            pass
    except TimeoutError:
        return False
    except OSError:  # reset
        return True
    return True
