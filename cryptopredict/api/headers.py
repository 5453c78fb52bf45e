"""Headers on every answer: CORS (flask-cors), security headers and a cache default.

Every answer gets `X-Content-Type-Options: nosniff` and a Content-Security-Policy (for data,
`default-src 'none'; frame-ancestors 'none'`, which also forbids framing); the HTML pages add
their own policy, `X-Frame-Options` and `Referrer-Policy` (`page_headers`). These are appended
to the WSGI header list, the cheapest place on the hot path: each header costs Werkzeug and
Waitress about a microsecond and a half per answer.

flask-cors handles every request that carries an `Origin` header: every cross-origin request
and preflight a browser makes. A request without one is no CORS request; it skips flask-cors
and gets the header flask-cors would give it, `Access-Control-Allow-Origin: *` when any origin
is allowed, or, with a list of origins, `Vary: Origin` so that shared caches keep answers for
different origins apart.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import Flask, Response, request
from flask_cors import CORS

from cryptopredict.api.errors import StartupError
from cryptopredict.api.wsgi import StartResponse, WsgiApp, WsgiEnviron

NOSNIFF = ("X-Content-Type-Options", "nosniff")
API_CSP = ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
NO_STORE = ("Cache-Control", "no-store")


def page_headers(response: Response, *, csp: str, cache: str) -> Response:
    """The headers of an HTML page: its own CSP, no framing, no referrer, its cache policy."""
    response.headers["Content-Security-Policy"] = csp
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = cache
    return response


def install(app: Flask, cors_origins: str) -> None:
    origins = [origin.strip() for origin in cors_origins.split(",") if origin.strip()]
    anyone = origins == ["*"]
    _install_cors(app, origins, anyone)
    without_origin = [("Access-Control-Allow-Origin", "*")] if anyone else [("Vary", "Origin")]
    app.wsgi_app = SecureHeaders(app.wsgi_app, without_origin)


def _install_cors(app: Flask, origins: list[str], anyone: bool) -> None:
    hooks = app.after_request_funcs.setdefault(None, [])
    before = list(hooks)
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
    added = [hook for hook in hooks if hook not in before]
    if len(added) != 1:
        raise StartupError(f"flask-cors registered {len(added)} after-request hooks, not one")
    cors_headers = added[0]
    hooks.remove(cors_headers)

    @app.after_request
    def cors(response: Response) -> Response:
        return cors_headers(response) if "HTTP_ORIGIN" in request.environ else response


class SecureHeaders:
    def __init__(self, app: WsgiApp, without_origin: list[tuple[str, str]]) -> None:
        self.app = app
        self.without_origin = without_origin

    def __call__(self, environ: WsgiEnviron, start_response: StartResponse) -> Iterable[bytes]:
        cross_origin = "HTTP_ORIGIN" in environ

        def start(status: str, headers: list[tuple[str, str]], exc_info=None):
            names = {name.lower() for name, _ in headers}
            if "content-security-policy" not in names:
                headers.append(API_CSP)
            if "cache-control" not in names:
                headers.append(NO_STORE)
            if not cross_origin:
                # Flask's error answers may already carry them (flask-cors wraps its handlers).
                headers.extend(h for h in self.without_origin if h[0].lower() not in names)
            headers.append(NOSNIFF)
            return start_response(status, headers, exc_info)

        return self.app(environ, start)
