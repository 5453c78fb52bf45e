"""What every answer carries: JSON and CSV bodies built by hand, dates in UTC, cache policy,
and the headers added to every answer (CORS, security headers, a cache default).

Answers are msgspec types (`cryptopredict.api.types`), encoded by msgspec: the hot path skips
Flask's JSON provider. Every answer gets
`X-Content-Type-Options: nosniff` and a Content-Security-Policy (for data, `default-src 'none';
frame-ancestors 'none'`, which also forbids framing); the HTML pages add their own policy,
`X-Frame-Options` and `Referrer-Policy` (`page_headers`). These are appended to the WSGI header
list, the cheapest place on the hot path: each header costs Werkzeug and Waitress about a
microsecond and a half per answer.

flask-cors, configured with the allowed origins, answers preflights and adds the CORS headers.
Every answer carries `Access-Control-Allow-Origin: *` when any origin is allowed, or, with a
list of origins, `Vary: Origin`, so that shared caches keep answers for different origins apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import msgspec
from flask import Flask, Response
from flask_cors import CORS

from cryptopredict.api.serving.answers import ENCODER

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

NO_STORE = "no-store"
NOSNIFF = ("X-Content-Type-Options", "nosniff")
API_CSP = ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")


def public_cache(seconds: int) -> str:
    return f"public, max-age={seconds}"


def json_response(answer: msgspec.Struct, *, cache: str = NO_STORE, status: int = 200) -> Response:
    """`answer`, one of the types of `cryptopredict.api.types` (which the document declares)."""
    return raw_json_response(ENCODER.encode(answer), cache=cache, status=status)


def raw_json_response(body: str | bytes, *, cache: str, status: int = 200) -> Response:
    response = Response(body, status, content_type="application/json")
    response.headers.add("Cache-Control", cache)  # cheaper than headers= in the constructor
    return response


def csv_response(
    header: Sequence[str], rows: Iterable[Iterable[object]], *, cache: str, name: str
) -> Response:
    """A CSV download named `name`; None is an empty cell, booleans are `true`/`false`."""
    lines = [",".join(header)]
    lines += [",".join(_cell(value) for value in row) for row in rows]
    return Response(
        "\n".join(lines) + "\n",
        mimetype="text/csv",
        headers={"Cache-Control": cache, "Content-Disposition": f'inline; filename="{name}"'},
    )


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def page_headers(response: Response, *, csp: str, cache: str) -> Response:
    """The headers of an HTML page: its own CSP, no framing, no referrer, its cache policy."""
    response.headers["Content-Security-Policy"] = csp
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = cache
    return response


def install_headers(app: Flask, cors_origins: str) -> None:
    origins = [origin.strip() for origin in cors_origins.split(",") if origin.strip()]
    anyone = origins == ["*"]
    CORS(
        app,
        origins=origins,
        methods=["GET", "HEAD"],
        supports_credentials=False,
        # With `*`, every answer says `*`, so caches can share one copy across origins. With a
        # list, the origin is echoed only when listed, with `Vary: Origin`.
        send_wildcard=anyone,
        always_send=anyone,
        max_age=86_400,
    )
    every_answer = [("Access-Control-Allow-Origin", "*")] if anyone else [("Vary", "Origin")]
    app.wsgi_app = SecureHeaders(app.wsgi_app, every_answer)  # type: ignore[method-assign]


class SecureHeaders:
    """Adds the security headers, a cache default, and `every_answer`'s headers where the answer
    lacks them: the `/bitcoin` fast path answers without flask-cors, and with a list of origins
    flask-cors adds `Vary: Origin` only to the answers it allows."""

    def __init__(self, app: WSGIApplication, every_answer: list[tuple[str, str]]) -> None:
        self.app = app
        self.every_answer = every_answer

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            names = {name.lower() for name, _ in headers}
            if "content-security-policy" not in names:
                headers.append(API_CSP)
            if "cache-control" not in names:
                headers.append(("Cache-Control", NO_STORE))
            headers.extend(h for h in self.every_answer if h[0].lower() not in names)
            headers.append(NOSNIFF)
            return start_response(status, headers, exc_info)

        return self.app(environ, start)
