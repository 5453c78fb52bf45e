from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

Route = tuple[int, str, bytes]
VERSION = "0.2.0-20260309180007"
JSON = "application/json"


@pytest.fixture
def routes() -> dict[str, Route]:
    """path (with query) -> (status, content type, body); tests fill it in."""
    return {}


@pytest.fixture
def site(routes: dict[str, Route]) -> Iterator[str]:
    """A loopback server answering from `routes` (404 for anything else); yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, content_type, body = routes.get(self.path, (404, "text/plain", b"no route"))
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def healthy(routes: dict[str, Route]) -> dict[str, Route]:
    """`routes` answering every smoke check as a working server of model VERSION does."""
    routes.update(
        {
            "/healthz": (200, JSON, json.dumps({"model_version": VERSION}).encode()),
            "/bitcoin?date=2026-07-01": (200, JSON, b'{"date": "2026-07-01", "price": 64000.5}'),
            "/bitcoin?date=not-a-date": (400, JSON, b'{"error": "date must be YYYY-MM-DD"}'),
            "/docs": (200, "text/html", b"<html><div id='swagger-ui'></div></html>"),
            "/openapi.json": (200, JSON, b'{"openapi": "3.1.0", "paths": {"/bitcoin": {}}}'),
        }
    )
    return routes
