from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.delivery.fake_site import Route, recorded_routes, serving


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
    """`routes` answering every smoke check as the recorded real server did (model VERSION,
    asked for DATE)."""
    routes.update(recorded_routes())
    return routes
