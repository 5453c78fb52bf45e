from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.delivery.fake_site import JSON, VERSION, Route, serving


@pytest.fixture
def routes() -> dict[str, Route]:
    """path (with query) -> (status, content type, body); tests fill it in."""
    return {}


@pytest.fixture
def site(routes: dict[str, Route]) -> Iterator[str]:
    """A loopback server answering from `routes` (404 for anything else); yields its base URL."""
    with serving(routes) as url:
        yield url


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
