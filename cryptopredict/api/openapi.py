"""The OpenAPI document: declared beside each view, generated on the first request for it.

Views carry their documentation (`@document(...)`), naming schemas from `schemas` by name.
`build` makes the document from them with flask-smorest when `/openapi.json` is first asked
for: each documented view of the serving app is registered, with its documentation, on a
flask-smorest blueprint of a scratch app, and the document is that scratch app's spec. So
neither flask-smorest nor marshmallow (about 80 ms of imports, a third of the startup) is
imported before then, and no view has a documentation wrapper at request time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import flask

from cryptopredict.api.query import DATE_EXAMPLES

View = TypeVar("View", bound=Callable[..., Any])
# Every route that reads an asset's artifact may answer 503 with this.
ASSET_UNAVAILABLE = (
    "The asset's artifact cannot be served (corrupt, missing, or of another schema); the detail "
    "says why. The other assets are served."
)
DESCRIPTION = f"""\
Forecasts of crypto prices (BTC/USD, and every other asset `/assets` lists) by Prophet models
with backtested bands, and candles of the price history;
`/assets` says when each model was trained and on which bars. `/model/{{asset}}` says what each
point forecast is (the last close, when training keeps none of Prophet's move: then the band
around it is what the model adds) and how the band fared against the naive forecast's, with the
scores behind each verdict.

Every answer comes from a grid precomputed to the horizon (deterministic, well under a
millisecond). Dates are `YYYY-MM-DD` or ISO-8601 datetimes such as {DATE_EXAMPLES} (UTC when no
offset is given).

Errors are JSON `{{"error": code, "detail": message}}`: 400 for malformed input, 422 for dates
out of range, unsupported candle intervals or too many points, 404 for unknown routes and
assets, 405 for methods other than GET, 503 for an asset whose artifact cannot be served.
"""


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
    """Documented responses: 200 with `schema` (JSON, listed first: generated clients type the
    first media type they find) and any other `content`, and the `errors`."""
    ok: dict[str, Any] = {}
    if schema is not None:
        ok["application/json"] = {"schema": schema}
    ok.update(content or {})
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


def build(app: flask.Flask) -> dict[str, Any]:
    """The OpenAPI document of `app`'s documented views."""
    import flask_smorest  # noqa: PLC0415 (costly imports, only for the document)

    from cryptopredict.api import schemas  # noqa: PLC0415

    class Api(flask_smorest.Api):
        # Every operation declares its own error answers; no catch-all "default" response.
        DEFAULT_ERROR_RESPONSE_NAME = None
        ERROR_SCHEMA = schemas.Error

        def _register_pagination_header(self) -> None:
            """Nothing here paginates: keep the pagination schema out of the document."""

    scratch = flask.Flask(app.import_name)
    scratch.config.update(API_TITLE="cryptopredict", API_VERSION="1.0", OPENAPI_VERSION="3.0.3")
    api = Api(scratch, spec_kwargs={"info": {"description": DESCRIPTION}})
    for name, blueprint in app.blueprints.items():
        if not isinstance(blueprint, Blueprint):
            continue
        documented = flask_smorest.Blueprint(
            name, app.import_name, description=blueprint.description
        )
        for rule in app.url_map.iter_rules():
            view = app.view_functions[rule.endpoint]
            if not rule.endpoint.startswith(f"{name}.") or not hasattr(view, "openapi"):
                continue
            path: list[dict[str, Any]] = getattr(view, "openapi_path", [])
            documented.route(
                rule.rule,
                endpoint=rule.endpoint.removeprefix(f"{name}."),
                methods=["GET"],
                parameters=[dict(parameter) for parameter in path],
            )(documented.doc(**_with_schemas(view.openapi, schemas))(view))
        api.register_blueprint(documented)
    document: dict[str, Any] = _nullable_refs(api.spec.to_dict())
    return document


# apispec writes a nullable nested schema as `anyOf` a free-form object and the schema: a
# generated client then parses every such answer as the free-form object, untyped. Declared
# instead: the schema, or null (an object that can only be null, as OpenAPI 3.0 writes null).
_NULL_OBJECT = {"type": "object", "nullable": True}
_NULL = {"type": "object", "nullable": True, "enum": [None]}


def _nullable_refs(node: Any) -> Any:
    """`node` with each nullable nested schema declared as the schema or null."""
    if isinstance(node, list):
        return [_nullable_refs(value) for value in node]
    if not isinstance(node, dict):
        return node
    choices = node.get("anyOf")
    if isinstance(choices, list) and len(choices) == 2 and _NULL_OBJECT in choices:
        (schema,) = (choice for choice in choices if choice != _NULL_OBJECT)
        return {**node, "anyOf": [_nullable_refs(schema), _NULL]}
    return {key: _nullable_refs(value) for key, value in node.items()}


def _with_schemas(node: Any, schemas: Any) -> Any:
    """The declaration with each `"schema": "Name"` replaced by the schema class."""
    if isinstance(node, dict):
        return {
            key: getattr(schemas, value)
            if key == "schema" and isinstance(value, str) and value[:1].isupper()
            else _with_schemas(value, schemas)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_with_schemas(value, schemas) for value in node]
    return node
