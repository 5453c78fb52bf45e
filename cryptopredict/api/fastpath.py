"""`GET /bitcoin` answered ahead of Flask whenever it succeeds: the API's hot path.

Flask's request context, routing and response hooks cost a request about as much time again as
building the answer does (bench/README.md). A plain `GET /bitcoin` that is no CORS request (no
`Origin` header) and that the forecast can answer is answered here, with the same body and
headers as the Flask view (both use `PointAnswer`). Everything else goes on to Flask: other
routes and methods, CORS requests, and every request the answer fails for, which Flask then
answers with its JSON error. `tests/api/test_fastpath.py` checks that the two agree.
"""

from __future__ import annotations

from collections.abc import Iterable

from cryptopredict.api.forecast_answers import PointAnswer
from cryptopredict.api.wsgi import StartResponse, WsgiApp, WsgiEnviron

PATH = "/bitcoin"
# Where the fast path names the route it answered, for the access log and the metrics.
ROUTE_KEY = "cryptopredict.route"


class FastBitcoin:
    def __init__(self, app: WsgiApp, point: PointAnswer, *, cache: str) -> None:
        self.app = app
        self.point = point
        self.cache = cache

    def __call__(self, environ: WsgiEnviron, start_response: StartResponse) -> Iterable[bytes]:
        if (
            environ.get("PATH_INFO") != PATH
            or environ.get("REQUEST_METHOD") != "GET"
            or "HTTP_ORIGIN" in environ
        ):
            return self.app(environ, start_response)
        try:
            body = self.point(environ).encode()
        except Exception:  # Flask answers it again: with its JSON error, or a logged 500
            return self.app(environ, start_response)
        environ[ROUTE_KEY] = PATH
        start_response(
            "200 OK",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                ("Cache-Control", self.cache),
            ],
        )
        return [body]
