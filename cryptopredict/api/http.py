"""What every request and answer goes through, around the routes: the path and the query read,
the answer's body and headers written, and each request counted, timed and logged.

- A pair's symbol in a path: the server hands the application the path decoded (PEP 3333),
  where `/forecast/eth%2Fusd`'s encoded slash would split it in two. `_symbols_in_paths` reads
  the path as the client sent it (`REQUEST_URI`, which Waitress and Werkzeug give) and decodes
  each segment on its own, an encoded slash inside one read as the slug's dash; the catalog then
  finds the asset in any case.
- The query: `read` takes a route's `Query` type (`cryptopredict.api.types`), the same fields
  the OpenAPI document declares. Each parameter is given at most once; msgspec converts and
  checks each by its type and constraints, and `_parse` reads the two kinds it does not know:
  dates (`Instant`: `YYYY-MM-DD` or an ISO-8601 datetime, with or without an offset) and
  intervals (`IntervalLabel`). A refusal says what was wrong and what is expected: the field's
  declared `REFUSED` text, else the reader's own.
- Answers are msgspec types, encoded by msgspec (`json_response`), or CSV. Every answer gets
  `X-Content-Type-Options: nosniff` and, unless it has its own (the HTML pages: `page_headers`,
  with no framing and no referrer), a Content-Security-Policy for data,
  `default-src 'none'; frame-ancestors 'none'`; `no-store` unless it sets its cache policy.
  flask-cors, configured with the allowed origins, answers preflights and adds the CORS headers:
  `Access-Control-Allow-Origin: *` on every answer when any origin is allowed, or, with a list of
  origins, `Vary: Origin` on every answer, so that shared caches keep answers for different
  origins apart.
- `/metrics` counts and times each request by route (its URL rule, without the client's values,
  so labels stay few), method and status; the access log (`cryptopredict.api.access`, INFO) has
  a line for each, without the query string.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from functools import cache
from time import perf_counter
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qsl, unquote_to_bytes, urlsplit

import msgspec
from flask import Flask, Response, g, request
from flask_cors import CORS

from cryptopredict.api.errors import BadRequestError
from cryptopredict.api.types.common import (
    DATE_EXAMPLES,
    DATE_PATTERN,
    MAX_LENGTH,
    REFUSED,
    Instant,
    IntervalLabel,
)
from cryptopredict.candles import Interval, IntervalError
from cryptopredict.utc import iso_utc

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from cryptopredict.api.metrics import Metrics

NO_STORE = "no-store"
API_CSP = "default-src 'none'; frame-ancestors 'none'"
# One encoder for every answer (`cryptopredict.api.types`).
ENCODER = msgspec.json.Encoder()
MAX_PATH = 200  # characters of a path the access log keeps
LINE = "method=%s path=%s status=%d duration_ms=%.3f"
METHODS = frozenset({"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"})
Q = TypeVar("Q", bound=msgspec.Struct)
_DATE = re.compile(DATE_PATTERN, re.ASCII)
_OFFSET = 9  # DATE_PATTERN's group of an offset
DATE, VALUE = "date", "value"  # what a required parameter is

access_log = logging.getLogger("cryptopredict.api.access")


def install(app: Flask, metrics: Metrics, cors_origins: str) -> None:
    """Around every request of `app`: the path read, the headers, CORS, the metrics and log."""
    origins = [origin.strip() for origin in cors_origins.split(",") if origin.strip()]
    anyone = origins == ["*"]

    @app.before_request
    def started() -> None:
        g.started = perf_counter()

    @app.after_request
    def answered(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", API_CSP)
        headers.setdefault("Cache-Control", NO_STORE)
        if not anyone:
            headers.setdefault("Vary", "Origin")
        headers.add("X-Content-Type-Options", "nosniff")
        rule = request.url_rule
        method = request.method
        key = (
            "unmatched" if rule is None else rule.rule,
            method if method in METHODS else "other",
            response.status_code,
        )
        seconds = perf_counter() - g.started
        metrics.requests.labels(*key).inc()
        metrics.latency.labels(*key).observe(seconds)
        if access_log.isEnabledFor(logging.INFO):
            path = request.environ.get("PATH_INFO", "")[:MAX_PATH]
            args = (_quoted(method[:16]), _quoted(path), key[2], seconds * 1000)
            # makeRecord and handle, as Logger.info does, minus its search of the call stack
            # for a file name and line number that this line does not show.
            access_log.handle(
                access_log.makeRecord(access_log.name, logging.INFO, __file__, 0, LINE, args, None)
            )
        return response

    CORS(  # its after_request runs before `answered`, registered first
        app,
        origins=origins,
        methods=["GET", "HEAD"],
        supports_credentials=False,
        # With `*`, every answer says `*`, so caches can share one copy across origins. With a
        # list, the origin is echoed only when listed (`Vary: Origin` on every answer, above).
        send_wildcard=anyone,
        always_send=anyone,
        max_age=86_400,
    )
    app.wsgi_app = _symbols_in_paths(app.wsgi_app)  # type: ignore[method-assign,assignment]


def _symbols_in_paths(app: WSGIApplication) -> WSGIApplication:
    def read_alone(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        sent = environ.get("REQUEST_URI", "")
        if "%2f" in sent.lower():
            environ["PATH_INFO"] = "/".join(
                unquote_to_bytes(segment).decode("latin-1").replace("/", "-")
                for segment in urlsplit(sent).path.split("/")
            )
        return app(environ, start_response)

    return read_alone


def _quoted(text: str) -> str:
    """`text` in double quotes, JSON-escaped if needed: no line breaks or quotes get through."""
    if text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    return json.dumps(text)


def read(kind: type[Q], environ: WSGIEnvironment) -> Q:
    """The query parameters `kind` declares (the defaults for those not given); BadRequestError
    for one that is repeated, missing while required, or refused. The query string is decoded
    as Flask decodes `request.args` (UTF-8, `+` as space, undecodable bytes replaced)."""
    fields = _fields(kind)
    given: dict[str, list[str]] = {}
    for name, value in parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True):
        if name in fields:
            given.setdefault(name, []).append(value)
    for name, (required, _) in fields.items():
        values = given.get(name, ())
        if len(values) > 1:
            raise BadRequestError(f"{name} is given {len(values)} times; give it once")
        if required and not values:
            said = _example(name) if required == DATE else ""
            raise BadRequestError(f"the query parameter {name} is missing{said}")
    texts = {name: given[name][0] for name in fields if name in given}
    try:
        return msgspec.convert(texts, kind, strict=False, dec_hook=_parse)
    except msgspec.ValidationError as error:
        said, _, where = str(error).rpartition(" - at `$.")
        name = where.rstrip("`")
        refused = fields[name][1]
        if refused is None:  # the reader's own words (`_parse`)
            raise BadRequestError(f"{name}{said}") from None
        raise BadRequestError(f"{name}={texts[name][:20]!r}{refused}") from None


def _example(name: str) -> str:
    """What to ask for a missing date: the next hour, as the answers write it, or its day (a
    route without a date guesses none: docs/api.md, "Dates")."""
    hour = iso_utc((int(time.time()) // 3600 + 1) * 3600)
    return (
        f"; give the instant to forecast, e.g. {name}={hour} (the next hour) or {name}={hour[:10]}"
    )


@cache
def _fields(kind: type[msgspec.Struct]) -> dict[str, tuple[str | None, str | None]]:
    """Each field of `kind`: None if it may be left out, else what it is (DATE, an instant, or
    VALUE); and its declared refusal."""
    found = {}
    for field in msgspec.inspect.type_info(kind).fields:  # type: ignore[attr-defined]
        declared = field.type
        extra = getattr(declared, "extra", None) or {}
        instant = getattr(getattr(declared, "type", declared), "cls", None) is Instant
        found[field.name] = (
            (DATE if instant else VALUE) if field.required else None,
            extra.get(REFUSED),
        )
    return found


def _parse(kind: type, text: Any) -> Any:
    """A date as seconds since 1970 UTC, an interval as its label; a ValueError saying what
    follows the parameter's name in the refusal."""
    if kind is IntervalLabel:
        try:
            return IntervalLabel(Interval.parse(text).label)
        except IntervalError as error:
            raise ValueError(f"={error}") from None
    if kind is not Instant:
        raise NotImplementedError(kind)
    if len(text) > MAX_LENGTH:
        raise ValueError(f" is {len(text)} characters long; expected a date like {DATE_EXAMPLES}")
    found = _DATE.fullmatch(text)
    if not found:
        raise ValueError(
            f"={text!r} is not an ISO-8601 date; expected e.g. {DATE_EXAMPLES} "
            "(in a URL, write an offset's + as %2B)"
        )
    offset = found.start(_OFFSET)
    if text[offset : offset + 1] == " ":  # a + decoded as a space
        text = f"{text[:offset]}+{text[offset + 1 :]}"
    try:
        when = datetime.fromisoformat(text.upper())
    except ValueError as error:
        raise ValueError(f"={text!r} is not a valid date: {error}") from None
    return Instant((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp())


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
