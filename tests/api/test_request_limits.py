"""A request body or header block past its bound is refused before it is read, by a real
`python api.py` on loopback (issue 38, acceptance bar 1): every route is GET or HEAD, so no
body is worth reading."""

from __future__ import annotations

import http.client
import json
import select
import socket
import urllib.parse
from collections.abc import Iterator

import pytest

from tests.live_server import LiveServer, start_server

pytestmark = pytest.mark.slow

MB = 1_000_000
HUNDRED_MB = 100 * MB
CHUNK = 64 * 1024


def connect(server: LiveServer) -> socket.socket:
    address = urllib.parse.urlsplit(server.url)
    client = socket.create_connection((address.hostname, address.port), timeout=30)
    # A small send buffer: what the kernel accepted is close to what the server read.
    client.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, CHUNK)
    return client


def send_until_answered(client: socket.socket, body: Iterator[bytes]) -> tuple[bytes, int]:
    """Send `body` while the server has not answered; returns the answer's first bytes and how
    many bytes of the body the kernel took (more than the server can have read)."""
    sent = 0
    pending = b""
    while True:
        readable, writable, _ = select.select([client], [client], [], 30)
        if readable:
            return client.recv(65536), sent
        assert writable, "the server neither read nor answered for 30 s"
        pending = pending or next(body, b"")
        if not pending:  # the whole body went: the server read it
            readable, _, _ = select.select([client], [], [], 30)
            return client.recv(65536), sent
        try:
            taken = client.send(pending)
        except (BrokenPipeError, ConnectionResetError):  # it answered and closed meanwhile
            return client.recv(65536), sent
        sent += taken
        pending = pending[taken:]


def fixed_body(size: int) -> Iterator[bytes]:
    chunk = b"x" * CHUNK
    for _ in range(size // CHUNK):
        yield chunk
    yield chunk[: size % CHUNK]


def chunked_body(size: int) -> Iterator[bytes]:
    frame = f"{CHUNK:x}\r\n".encode() + b"x" * CHUNK + b"\r\n"
    for _ in range(size // CHUNK):
        yield frame
    yield b"0\r\n\r\n"


def post(server: LiveServer, headers: str, body: Iterator[bytes]) -> tuple[bytes, int]:
    with connect(server) as client:
        client.sendall(f"POST /bitcoin HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode())
        return send_until_answered(client, body)


def test_a_100_mb_body_is_refused_on_its_length_before_it_is_read(live_server):
    answer, sent = post(live_server, f"Content-Length: {HUNDRED_MB}\r\n", fixed_body(HUNDRED_MB))
    assert answer.startswith(b"HTTP/1.1 413 "), answer
    assert sent < 10 * MB, f"{sent:,} bytes of the body went before the answer"


def test_a_chunked_body_is_refused_once_it_passes_the_bound(live_server):
    answer, sent = post(live_server, "Transfer-Encoding: chunked\r\n", chunked_body(HUNDRED_MB))
    assert answer.startswith(b"HTTP/1.1 413 "), answer
    assert sent < 10 * MB, f"{sent:,} bytes of the body went before the answer"


def test_a_small_body_gets_the_json_405(live_server):
    address = urllib.parse.urlsplit(live_server.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    try:
        connection.request("POST", "/bitcoin", body=b"hello")
        answer = connection.getresponse()
        assert answer.status == 405
        assert json.loads(answer.read())["error"] == "method_not_allowed"
    finally:
        connection.close()


def test_a_header_block_past_the_bound_is_refused(live_server):
    with connect(live_server) as client:
        client.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: ")
        answer, sent = send_until_answered(client, fixed_body(10 * MB))
    assert answer.split(b" ", 2)[1] == b"431", answer  # HTTP/1.0: the request line never ended
    assert sent < 10 * MB


@pytest.fixture
def stock_limits(artifact_dir, tmp_path) -> Iterator[LiveServer]:
    """The API with Waitress's own bound on bodies (1 GiB), as it served before issue 38."""
    server = start_server(
        artifact_dir,
        tmp_path / "api.log",
        DATABASE_URL=f"sqlite:///{tmp_path}/none.db",
        MAX_REQUEST_BODY_SIZE=str(2**30),
    )
    yield server
    server.process.terminate()
    server.process.wait(timeout=10)


def test_with_waitress_own_bound_the_whole_body_is_read_first(stock_limits):
    """The measurement above can fail: with the stock bound, all 100 MB go before the 405."""
    answer, sent = post(stock_limits, f"Content-Length: {HUNDRED_MB}\r\n", fixed_body(HUNDRED_MB))
    assert answer.startswith(b"HTTP/1.1 405 "), answer
    assert sent == HUNDRED_MB
