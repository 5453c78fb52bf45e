"""OpenAPI documentation declared beside each view, turned into a document on first request.

Views carry their documentation (`@document(...)`), naming schemas from `schemas` by name.
`openapi_document` builds the document from them with flask-smorest when `/openapi.json` is
first asked for. So neither flask-smorest nor marshmallow (about 80 ms of imports, a third of
the startup) is imported before then, and no view has a documentation wrapper at request time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import flask

View = TypeVar("View", bound=Callable[..., Any])


class Blueprint(flask.Blueprint):
    """A Flask blueprint with the description its operations are grouped under."""

    def __init__(self, name: str, import_name: str, *, description: str) -> None:
        super().__init__(name, import_name)
        self.description = description


def document(
    *, path: list[dict[str, Any]] | None = None, **operation: Any
) -> Callable[[View], View]:
    """Attach an OpenAPI operation (parameters, responses, ...) to a GET view, and the
    documentation of the route's `path` parameters.

    The view's docstring gives the summary (first line) and description (the rest). Schemas
    are named by their class name in `cryptopredict.api.schemas`.
    """

    def attach(view: View) -> View:
        view.openapi = operation  # type: ignore[attr-defined]
        view.openapi_path = path or []  # type: ignore[attr-defined]
        return view

    return attach


def in_path(name: str, description: str, *, values: Iterable[str] = ()) -> dict[str, Any]:
    """A path parameter's documentation (its type comes from the route), with the `values` it
    may take when they are known."""
    documented: dict[str, Any] = {"in": "path", "name": name, "description": description}
    if values:
        documented["schema"] = {"type": "string", "enum": list(values)}
    return documented


def in_query(schema: str) -> list[dict[str, str]]:
    """Query parameters, one per field of `schema`."""
    return [{"in": "query", "schema": schema}]


def answers(
    description: str,
    schema: str | None = None,
    *,
    errors: Mapping[int, str] | None = None,
    content: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Documented responses: 200 with `schema` (JSON) or `content`, and the `errors`."""
    ok: dict[str, Any] = dict(content or {})
    if schema is not None:
        ok["application/json"] = {"schema": schema}
    documented = {"200": {"description": description, "content": ok}}
    for status, text in (errors or {}).items():
        documented[str(status)] = {
            "description": text,
            "content": {"application/json": {"schema": "Error"}},
        }
    return documented


def asset_in_path(slugs: Iterable[str]) -> list[dict[str, Any]]:
    """The `{asset}` path parameter: one of the served assets, which `/assets` lists."""
    return [in_path("asset", "A served asset, as `/assets` lists it.", values=slugs)]
