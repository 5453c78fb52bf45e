"""One log line and the metrics for every request, timed around the whole Flask app.

A WSGI middleware rather than Flask hooks: it runs once per request, sees every answer
(errors included) and adds nothing to Flask's own hook loop.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from time import perf_counter

from cryptopredict.api.fastpath import ROUTE_KEY
from cryptopredict.api.metrics import Metrics
from cryptopredict.api.wsgi import StartResponse, WsgiApp, WsgiEnviron

MAX_PATH = 200
LINE = "method=%s path=%s status=%d duration_ms=%.3f"

log = logging.getLogger("cryptopredict.api.access")


class Observed:
    def __init__(self, app: WsgiApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    def __call__(self, environ: WsgiEnviron, start_response: StartResponse) -> Iterable[bytes]:
        started = perf_counter()
        answered: list[tuple[str, str]] = []

        def start(status: str, headers: list[tuple[str, str]], exc_info=None):
            # The fast path names its route; otherwise Flask still holds its request (at
            # `werkzeug.request`) when the response starts, and its URL rule names the route
            # without the client's values, so labels stay few.
            route = environ.get(ROUTE_KEY)
            if route is None:
                rule = getattr(environ.get("werkzeug.request"), "url_rule", None)
                route = "unmatched" if rule is None else rule.rule
            answered.append((status, route))
            return start_response(status, headers, exc_info)

        try:
            return self.app(environ, start)
        finally:
            status, route = answered[-1] if answered else ("500", "unmatched")
            self._record(environ, route, int(status[:3]), perf_counter() - started)

    def _record(self, environ: WsgiEnviron, route: str, status: int, seconds: float) -> None:
        method = environ.get("REQUEST_METHOD", "")
        self.metrics.observe(route, method, status, seconds)
        if log.isEnabledFor(logging.INFO):
            args = (
                _quoted(method[:16]),
                _quoted(environ.get("PATH_INFO", "")[:MAX_PATH]),
                status,
                seconds * 1000,
            )
            # makeRecord and handle, as Logger.info does, minus its search of the call stack
            # for a file name and line number that this line does not show.
            log.handle(log.makeRecord(log.name, logging.INFO, __file__, 0, LINE, args, None))


def _quoted(text: str) -> str:
    """`text` in double quotes, JSON-escaped if needed: no line breaks or quotes get through."""
    if text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    return json.dumps(text)
