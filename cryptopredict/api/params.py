"""Query parameters: each given at most once."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import parse_qsl

from cryptopredict.api.errors import BadRequestError
from cryptopredict.api.wsgi import WsgiEnviron


def query(environ: WsgiEnviron) -> list[tuple[str, str]]:
    """The query string's pairs, decoded as Flask decodes `request.args` (UTF-8, `+` as space,
    undecodable bytes replaced), without building its MultiDict: half the time, per request.
    """
    return parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)


def single(pairs: Iterable[tuple[str, str]], name: str, *, required: bool) -> str | None:
    """The one value of query parameter `name`; BadRequestError if it is repeated or missing."""
    values = [value for key, value in pairs if key == name]
    if len(values) > 1:
        raise BadRequestError(f"{name} is given {len(values)} times; give it once")
    if not values:
        if required:
            raise BadRequestError(f"the query parameter {name} is missing")
        return None
    return values[0]


def output_format(pairs: Iterable[tuple[str, str]]) -> str:
    """`format`: json (the default) or csv; BadRequestError for anything else, empty included."""
    form = single(pairs, "format", required=False)
    if form is None:
        return "json"
    if form not in ("json", "csv"):
        raise BadRequestError(f"format={form[:16]!r} is not known; use json or csv")
    return form
