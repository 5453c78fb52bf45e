"""The test servers on loopback (`socketserver` servers run by `serve_forever` in a thread)."""

from __future__ import annotations

import json
from typing import Any

# `shutdown()` waits for the serving loop's next poll, every half second by default: half a
# second at the end of every test that starts a server (a minute over the suite).
POLL = {"poll_interval": 0.02}


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
