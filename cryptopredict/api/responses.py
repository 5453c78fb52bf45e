"""What every answer carries: JSON and CSV bodies built by hand, dates in UTC, cache policy,
and the headers added to every answer (CORS, security headers, a cache default).

The hot path skips Flask's JSON provider and schema serialization. Every answer gets
`X-Content-Type-Options: nosniff` and a Content-Security-Policy (for data, `default-src 'none';
frame-ancestors 'none'`, which also forbids framing); the HTML pages add their own policy,
`X-Frame-Options` and `Referrer-Policy` (`page_headers`). These are appended to the WSGI header
list, the cheapest place on the hot path: each header costs Werkzeug and Waitress about a
microsecond and a half per answer.

flask-cors handles every request that carries an `Origin` header: every cross-origin request
and preflight a browser makes. A request without one is no CORS request; it skips flask-cors
and gets the header flask-cors would give it, `Access-Control-Allow-Origin: *` when any origin
is allowed, or, with a list of origins, `Vary: Origin` so that shared caches keep answers for
different origins apart.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from flask import Flask, Response, request
from flask_cors import CORS

from cryptopredict.api.errors import StartupError

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

NO_STORE = "no-store"
# One encoder for every answer: json.dumps with options builds a new one on each call.
ENCODER = json.JSONEncoder(allow_nan=False, separators=(",", ":"))
NOSNIFF = ("X-Content-Type-Options", "nosniff")
API_CSP = ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")


def public_cache(seconds: int) -> str:
    return f"public, max-age={seconds}"


def json_response(payload: Any, *, cache: str = NO_STORE, status: int = 200) -> Response:
    return raw_json_response(ENCODER.encode(payload), cache=cache, status=status)


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


def iso_utc(epoch: float) -> str:
    """`YYYY-MM-DDTHH:MM:SS[.ffffff]Z`; only for epochs inside years 1 to 9999."""
    whole = int(epoch)
    if whole == epoch and whole >= 0:  # the usual case (strftime pads no year below 1000)
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(whole))
    return datetime.fromtimestamp(epoch, UTC).replace(tzinfo=None).isoformat() + "Z"


def iso_dates(ds: np.ndarray) -> list[str]:
    """Epoch seconds as `YYYY-MM-DDTHH:MM:SSZ`, all at once."""
    return [f"{text}Z" for text in np.datetime_as_string(ds.astype("datetime64[s]")).tolist()]


def show_epoch(epoch: float) -> str:
    """An epoch for a message, also when it lies outside the years datetime can show."""
    try:
        return iso_utc(epoch)
    except (OverflowError, ValueError, OSError):
        return f"({epoch:.0f} seconds after 1970)"


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
    _install_cors(app, origins, anyone)
    without_origin = [("Access-Control-Allow-Origin", "*")] if anyone else [("Vary", "Origin")]
    app.wsgi_app = SecureHeaders(app.wsgi_app, without_origin)  # type: ignore[method-assign]


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
    def __init__(self, app: WSGIApplication, without_origin: list[tuple[str, str]]) -> None:
        self.app = app
        self.without_origin = without_origin

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        cross_origin = "HTTP_ORIGIN" in environ

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            names = {name.lower() for name, _ in headers}
            if "content-security-policy" not in names:
                headers.append(API_CSP)
            if "cache-control" not in names:
                headers.append(("Cache-Control", NO_STORE))
            if not cross_origin:
                # Flask's error answers may already carry them (flask-cors wraps its handlers).
                headers.extend(h for h in self.without_origin if h[0].lower() not in names)
            headers.append(NOSNIFF)
            return start_response(status, headers, exc_info)

        return self.app(environ, start)
