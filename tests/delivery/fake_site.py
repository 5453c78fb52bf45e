"""A loopback web site answering from a table of routes, and the answers a real server gave
(`recorded_api.json`, written by `python -m tests.delivery.record_api`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from tests.loopback import Loopback, reply

Route = tuple[int, str, bytes]
JSON = "application/json"
RECORDED = json.loads(Path(__file__).with_name("recorded_api.json").read_text())
VERSION: str = RECORDED["model_version"]  # what the recorded server's /healthz reports
DATE: str = RECORDED["date"]  # the date its /bitcoin and /forecast answers were asked for
ASSETS: list[str] = RECORDED["assets"]


def recorded_routes() -> dict[str, Route]:
    """path (with query) -> (status, content type, body), as the recorded server answered."""
    return {
        path: (answer["status"], answer["content_type"], answer["body"].encode())
        for path, answer in RECORDED["routes"].items()
    }


@contextmanager
def serving(routes: dict[str, Route]) -> Iterator[str]:
    """A loopback server answering from `routes` (404 for anything else); yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, content_type, body = routes.get(self.path, (404, "text/plain", b"no route"))
            reply(self, status, body, content_type)

    with Loopback(Handler) as served:
        yield served.url
