"""Types for the two small WSGI middlewares around the Flask app."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

WsgiEnviron = dict[str, Any]
StartResponse = Callable[..., Any]
WsgiApp = Callable[[WsgiEnviron, StartResponse], Iterable[bytes]]
