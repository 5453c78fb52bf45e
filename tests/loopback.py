"""The test servers on loopback (`socketserver` servers run by `serve_forever` in a thread)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

# `shutdown()` waits for the serving loop's next poll, every half second by default: half a
# second at the end of every test that starts a server (a minute over the suite).
POLL = {"poll_interval": 0.02}


class Loopback:
    """`handler` answering on a free loopback port at `url`, each request in a thread of its
    own, from entering to leaving; it logs nothing (a test's output stays its own)."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        quiet = type(handler.__name__, (handler,), {"log_message": lambda *_: None})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), quiet)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> Self:
        threading.Thread(target=self.httpd.serve_forever, kwargs=POLL, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def reply(
    handler: Any, status: int, body: object, kind: str = "application/json", headers: Any = ()
) -> None:
    """`handler`'s answer (a BaseHTTPRequestHandler's), its length said: bytes as they are,
    anything else as JSON; `headers`, (name, value) pairs, besides."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    handler.send_response(status)
    for name, value in (("Content-Type", kind), *headers, ("Content-Length", str(len(data)))):
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(data)
