"""What every request and answer goes through: the path and the query read, the answer's body
and headers written, each request counted, timed and logged.

- A pair's symbol in a path: `_symbols_in_paths` reads the path as sent (`REQUEST_URI`), an
  encoded slash inside a segment read as the slug's dash (PEP 3333 hands it decoded).
- The query: `read` takes a route's `Query` type; msgspec converts and checks each field, `_parse`
  reads dates (`Instant`) and intervals (`IntervalLabel`); a refusal says the field's declared
  `REFUSED` text, else the reader's own.
- Every answer: `nosniff`, a data CSP unless it has its own (`page_headers`), `no-store` unless
  it sets its cache; flask-cors answers preflights (with a list of origins, `Vary: Origin`).
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qsl, unquote_to_bytes, urlencode

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
ENCODER = msgspec.json.Encoder()
MAX_PATH = 200  # characters of a path the access log keeps
KEEP_BYTES, KEEP_SECONDS, KEPT = 16_384, 60, 32  # answers kept as bytes: `_kept`
LINE = "client=%s method=%s path=%s status=%d duration_ms=%.3f"
METHODS = frozenset({"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"})
Q = TypeVar("Q", bound=msgspec.Struct)
_DATE = re.compile(DATE_PATTERN, re.ASCII)
_OFFSET = 9  # DATE_PATTERN's group of an offset
_AUTHORITY = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*")  # an absolute URI's scheme and host

access_log = logging.getLogger("cryptopredict.api.access")


def install(app: Flask, metrics: Metrics, cors_origins: str, prices: Callable[[], object]) -> None:
    origins = [origin.strip() for origin in cors_origins.split(",") if origin.strip()]
    anyone = origins == ["*"]
    kept: dict[tuple, tuple[bytes, list]] = {}
    for endpoint, view in app.view_functions.items():
        app.view_functions[endpoint] = _kept(view, kept, prices)

    @app.before_request
    def started() -> None:
        g.started = time.perf_counter()

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
        seconds = time.perf_counter() - g.started
        metrics.requests.labels(*key).inc()
        metrics.latency.labels(key[0]).observe(seconds)
        if access_log.isEnabledFor(logging.INFO):
            path = request.environ.get("PATH_INFO", "")[:MAX_PATH]
            client = request.environ.get("REMOTE_ADDR", "")
            access_log.info(
                LINE, client, _quoted(method[:16]), _quoted(path), key[2], seconds * 1000
            )
        return response

    CORS(  # its after_request runs before `answered`, registered first
        app,
        origins=origins,
        methods=["GET", "HEAD"],
        send_wildcard=anyone,
        always_send=anyone,
        max_age=86_400,
    )
    app.wsgi_app = _symbols_in_paths(app.wsgi_app)  # type: ignore[method-assign,assignment]


def _kept(view: Callable[..., Any], kept: dict, prices: Callable[[], object]) -> Any:
    """`view`, its public answers of KEEP_BYTES or more kept as bytes with an ETag (at most KEPT,
    for their path in any case, as an asset's is read, the query parameters the view declares,
    the others ignored, and latest prices within KEEP_SECONDS): a HEAD or 304 builds none."""
    operation = getattr(view, "openapi", None)
    declared = operation.query.__struct_fields__ if operation and operation.query else ()

    def answer(**args: Any) -> Any:  # a Response
        asked = sorted(item for item in request.args.items(multi=True) if item[0] in declared)
        key = (request.path.lower(), *asked, prices(), time.monotonic() // KEEP_SECONDS)
        if (held := kept.get(key)) is None:
            response = view(**args)
            public = response.status_code == 200 and response.cache_control.public
            if not (public and response.is_sequence and len(response.get_data()) >= KEEP_BYTES):
                return response
            response.add_etag()
            held = kept[key] = (response.get_data(), list(response.headers))
            if len(kept) > KEPT:  # the oldest, or what others asked for, are built again
                kept.clear()
        return Response(held[0], headers=held[1]).make_conditional(request)

    return answer


def _symbols_in_paths(app: WSGIApplication) -> WSGIApplication:
    def read_alone(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        sent = environ.get("REQUEST_URI", "")
        if "%2f" in sent.lower():
            environ["PATH_INFO"] = "/".join(
                unquote_to_bytes(segment).decode("latin-1").replace("/", "-")
                for segment in _AUTHORITY.sub("", sent).partition("?")[0].split("/")
            )
        return app(environ, start_response)

    return read_alone


def _quoted(text: str) -> str:
    """`text` in double quotes, JSON-escaped if needed: no line breaks or quotes get through."""
    if text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    return json.dumps(text)


def read(kind: type[Q], environ: WSGIEnvironment) -> Q:
    """The query parameters `kind` declares; BadRequestError for one repeated, missing while
    required (only dates are), or refused."""
    fields = kind.__struct_fields__
    given: dict[str, list[str]] = {}
    for name, value in parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True):
        if name in fields:
            given.setdefault(name, []).append(value)
    for name, values in given.items():
        if len(values) > 1:
            raise BadRequestError(f"{name} is given {len(values)} times; give it once")
    texts = {name: values[0] for name, values in given.items()}
    try:
        return msgspec.convert(texts, kind, strict=False, dec_hook=_parse)
    except msgspec.ValidationError as error:
        said, _, where = str(error).rpartition(" - at `$.")
        if not said:  # Object missing required field `date`
            name = str(error).split("`")[1]
            hour = iso_utc((int(time.time()) // 3600 + 1) * 3600)
            raise BadRequestError(
                f"the query parameter {name} is missing; give the instant to forecast, e.g. "
                f"{name}={hour} (the next hour) or {name}={hour[:10]}"
            ) from None
        name = where.rstrip("`")
        info = msgspec.inspect.type_info(kind)
        declared = next(field.type for field in info.fields if field.name == name)  # type: ignore[attr-defined]
        refused = (getattr(declared, "extra", None) or {}).get(REFUSED)
        if refused is None:  # the reader's own words (`_parse`)
            raise BadRequestError(f"{name}{said}") from None
        raise BadRequestError(f"{name}={texts[name][:20]!r}{refused}") from None


def _parse(kind: type, text: Any) -> Any:
    """A date as seconds since 1970 UTC, an interval as its label; a ValueError's text follows
    the parameter's name in the refusal."""
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


def next_page(offset: int, limit: int | None, total: int) -> str | None:  # this one's query
    if limit is None or offset + limit >= total:
        return None
    pairs = parse_qsl(request.query_string.decode(), keep_blank_values=True)
    kept = [(key, value) for key, value in pairs if key != "offset"]
    query = urlencode([*kept, ("offset", str(offset + limit))])
    return f"{request.script_root}{request.path}?{query}"


def public_cache(seconds: int) -> str:
    return f"public, max-age={seconds}"


def json_response(answer: msgspec.Struct, *, cache: str = NO_STORE, status: int = 200) -> Response:
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
    response.headers["Content-Security-Policy"] = csp
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = cache
    return response
