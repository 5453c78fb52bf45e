"""A pair's symbol in a path: `/forecast/eth%2Fusd` is `/forecast/eth-usd`.

The server hands the application the path decoded (PEP 3333), where the symbol's encoded slash
would split it in two and no route would match. `SymbolsInPaths` reads the path as the client
sent it (`REQUEST_URI`, which Waitress and Werkzeug give) and decodes each segment on its own,
an encoded slash inside one read as the slug's dash; the catalog then finds the asset in any
case (`catalog.canonical`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

ENCODED_SLASH = "%2f"


class SymbolsInPaths:
    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        sent = environ.get("REQUEST_URI", "")
        if ENCODED_SLASH in sent.lower():
            environ["PATH_INFO"] = segments_read_alone(urlsplit(sent).path)
        return self.app(environ, start_response)


def segments_read_alone(path: str) -> str:
    """`path` decoded segment by segment, a slash decoded inside one read as `-`, as a WSGI
    path (bytes as latin-1, as the server decodes it)."""
    return "/".join(
        unquote_to_bytes(segment).decode("latin-1").replace("/", "-") for segment in path.split("/")
    )
