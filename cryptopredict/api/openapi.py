"""The OpenAPI 3.1 document, generated once from what each view declares with `@document(...)`:
msgspec writes the JSON Schema of its answer and query types, a query type's fields become the
operation's parameters, the view's docstring its summary (first line) and description, its
blueprint its tag; an `{asset}` in the path is one of the served slugs (`ASSET`)."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, TypeVar

import flask
import msgspec

from cryptopredict.api.types.common import DATE_EXAMPLES, Error, Query, schema_of

View = TypeVar("View", bound=Callable[..., Any])
OPENAPI_VERSION = "3.1.0"
COMPONENTS = "#/components/schemas/{name}"
# Every route that reads an asset's artifact may answer 503 with this.
ASSET_UNAVAILABLE = (
    "The asset's artifact cannot be served (corrupt, missing, or of another schema; "
    "`asset_unavailable`), or the training run serving while it trains has not written it yet "
    "(`still_training`, with `Retry-After` and its progress); the detail says which. The other "
    "assets are served."
)
UNKNOWN_ASSET = "No such asset is served; the detail names the served ones."
ASSET_ERRORS = {404: UNKNOWN_ASSET, 503: ASSET_UNAVAILABLE}  # of every route of one asset
CSV_TWIN = (
    "As `{route}` with `format=csv`, in an operation of its own that answers only CSV, so that "
    "a generated client returns the text (it parses an answer by the first media type its "
    "operation declares)."
)
DESCRIPTION = f"""\
Forecasts of crypto prices (BTC/USD, and every other asset `/assets` lists): a point forecast
(the last close, where training keeps none of Prophet's move) with a band calibrated on past
errors and backtested, untested past the longest lead it was scored at (`untested`); and candles
of the price history. `/assets` says when each model was trained and on which bars;
`/model/{{asset}}` says what each point forecast and band is and how the band fared against the
naive forecast's, with the scores behind each verdict.

Every answer comes from a grid precomputed to the horizon (deterministic, well under a
millisecond). Dates are `YYYY-MM-DD` or ISO-8601 datetimes such as {DATE_EXAMPLES} (UTC when no
offset is given).

Errors are JSON `{{"error": code, "detail": message}}`: 400 for malformed input, 422 for dates
out of range, unsupported candle intervals or too many points, 404 for unknown routes and
assets, 405 for methods other than GET, 503 for an asset whose artifact cannot be served.
"""
_PATH_ARGUMENT = re.compile(r"<(?:[^<>:]+:)?([^<>]+)>")
ASSET = "asset"  # the path parameter, one of the served slugs: the component `Asset`


class Blueprint(flask.Blueprint):
    def __init__(self, name: str, import_name: str, *, description: str) -> None:
        super().__init__(name, import_name)
        self.description = description  # of its operations' tag


@dataclass(frozen=True)
class Operation:
    """What a GET view answers, declared as its decorator (`document`): `ok` describes its 200
    answer, JSON of type `answer` and/or text of media type `text`; `errors` each error status
    it may answer (with an `Error`)."""

    ok: str
    answer: type | None = None
    _: KW_ONLY
    text: str | None = None
    query: type[Query] | None = None
    errors: Mapping[int, str] = field(default_factory=dict)
    description: str | None = None  # else the docstring's, after its first line

    def __call__(self, view: View) -> View:
        view.openapi = self  # type: ignore[attr-defined]
        return view


document = Operation


def build(app: flask.Flask, slugs: Sequence[str]) -> dict[str, Any]:
    """The document of `app`'s declared views, in the order their routes were added."""
    declared = [
        (rule, operation, view)
        for rule in app.url_map.iter_rules()
        if isinstance(
            operation := getattr(view := app.view_functions[rule.endpoint], "openapi", None),
            Operation,
        )
    ]
    named: list[type] = [Error]
    for _, operation, _ in declared:
        named += [kind for kind in (operation.answer, operation.query) if kind is not None]
    types = list(dict.fromkeys(named))
    refs, components = msgspec.json.schema_components(
        types, schema_hook=schema_of, ref_template=COMPONENTS
    )
    components = _for_tools(components)
    ref: dict[type, dict[str, Any]] = dict(zip(types, refs, strict=True))
    # A query type becomes parameters: its schema is no component of the document.
    queries: dict[type, dict[str, Any]] = {
        kind: components.pop(kind.__name__) for kind in types if issubclass(kind, Query)
    }
    paths: dict[str, dict[str, Any]] = {}
    for rule, operation, view in declared:
        item: dict[str, Any] = {"get": _operation(rule, operation, view, ref, queries)}
        if (rule.defaults or {}).get(ASSET) in slugs:  # `/model`: a served asset is no 404
            item["get"]["responses"].pop("404", None)
        if ASSET in rule.arguments and not rule.defaults:  # `/bitcoin` names its asset
            item["parameters"] = [_asset(slugs, components)]
        paths[_PATH_ARGUMENT.sub(r"{\1}", rule.rule)] = item
    tags = dict.fromkeys(rule.endpoint.split(".")[0] for rule, _, _ in declared)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": "cryptopredict", "version": "1.0", "description": DESCRIPTION},
        "tags": [
            {"name": name, "description": getattr(app.blueprints[name], "description", "")}
            for name in tags
        ],
        "paths": paths,
        "components": {"schemas": components},
    }


def _asset(slugs: Sequence[str], components: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "enum": list(slugs)}
    components.setdefault("Asset", {"title": "Asset", **schema})
    # The values again beside the reference: Swagger UI offers a choice of them only when
    # they are there (generated clients follow the reference: one enum for every route).
    return {
        "in": "path",
        "name": ASSET,
        "description": "A served asset, as `/assets` lists it (its slug; its symbol or any case "
        "is read as the slug, e.g. `ETH-USD` or `eth%2Fusd` as `eth-usd`).",
        "required": True,
        "schema": {"$ref": COMPONENTS.format(name="Asset"), **schema},
    }


_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string"}


def _for_tools(node: Any) -> Any:
    """`node` as the tools that read the document understand it, meaning the same: a tuple
    without its `"items": false` (openapi-python-client refuses a boolean schema), an enum with
    its values' JSON type (Swagger UI says `any` without one), descriptions without their
    docstrings' indentation."""
    if isinstance(node, list):
        return [_for_tools(value) for value in node]
    if not isinstance(node, dict):
        return node
    closed = "prefixItems" in node and node.get("maxItems") == len(node["prefixItems"])
    readable = {
        key: inspect.cleandoc(value)
        if key == "description" and isinstance(value, str)
        else _for_tools(value)
        for key, value in node.items()
        if not (closed and key == "items" and value is False)
    }
    kinds = {_JSON_TYPES.get(type(value)) for value in node.get("enum", [None])}
    if "type" not in node and len(kinds) == 1 and None not in kinds:
        readable["type"] = kinds.pop()
    return readable


def _operation(
    rule: Any,
    operation: Operation,
    view: Callable[..., Any],
    ref: Mapping[type, dict[str, Any]],
    queries: Mapping[type, dict[str, Any]],
) -> dict[str, Any]:
    summary, _, rest = inspect.cleandoc(view.__doc__ or "").partition("\n")
    documented: dict[str, Any] = {"tags": [rule.endpoint.split(".")[0]], "summary": summary}
    description = operation.description or rest.strip()
    if description:
        documented["description"] = description
    if operation.query is not None:
        documented["parameters"] = _parameters(queries[operation.query])
    ok: dict[str, Any] = {}
    if operation.answer is not None:
        ok["application/json"] = {"schema": ref[operation.answer]}
    if operation.text is not None:
        ok[operation.text] = {"schema": {"type": "string"}}
    responses: dict[str, Any] = {"200": {"description": operation.ok, "content": ok}}
    for status, text in operation.errors.items():
        error = {"application/json": {"schema": ref[Error]}}
        responses[str(status)] = {"description": text, "content": error}
    documented["responses"] = responses
    return documented


def _parameters(schema: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A query type's fields as query parameters, each with its description and example."""
    required = set(schema.get("required", ()))
    parameters = []
    for name, declared in schema["properties"].items():
        field_schema = dict(declared)
        parameter: dict[str, Any] = {"in": "query", "name": name, "required": name in required}
        if "description" in field_schema:
            parameter["description"] = field_schema.pop("description")
        if "examples" in field_schema:
            parameter["example"] = field_schema.pop("examples")[0]
        parameter["schema"] = field_schema
        parameters.append(parameter)
    return parameters
