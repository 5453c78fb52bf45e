"""The OpenAPI document, Swagger UI, the dashboard and the assets they load from this server."""

from __future__ import annotations

import hashlib
import re

import pytest
from openapi_spec_validator import validate

from cryptopredict.api.pages import VENDOR_DIR
from tests.paths import ROOT

OPERATIONS = [
    "/bitcoin",
    "/bitcoin/forecast",
    "/bitcoin/forecast.csv",
    "/forecast/{asset}",
    "/forecast/{asset}/range",
    "/forecast/{asset}/range.csv",
    "/assets",
    "/candles/{asset}",
    "/candles/{asset}.csv",
    "/model",
    "/model/backtest",
    "/model/{asset}",
    "/model/{asset}/backtest",
    "/model/{asset}/backtest/origins",
    "/model/{asset}/track-record",
    "/healthz",
    "/metrics",
    "/live",
    "/price/{asset}",
]
ASSET_ROUTES = [
    "/forecast/{asset}",
    "/forecast/{asset}/range",
    "/forecast/{asset}/range.csv",
    "/candles/{asset}",
    "/candles/{asset}.csv",
]
MODEL_ROUTES = [
    "/model/{asset}",
    "/model/{asset}/backtest",
    "/model/{asset}/backtest/origins",
    "/model/{asset}/track-record",
]


def test_the_document_is_valid_openapi_3(spec):
    validate(spec)
    assert spec["openapi"].startswith("3.")


def test_the_description_promises_no_retraining_schedule(spec):
    """The same server runs where nothing retrains it (a local run): it points to the facts."""
    description = spec["info"]["description"]
    assert not re.search(r"retrain|every (six|[0-9]+) hours", description)
    assert "`/assets` says when each model was trained" in description


def test_the_document_describes_every_operation_and_its_errors(spec):
    assert sorted(spec["paths"]) == sorted(OPERATIONS)
    for path in OPERATIONS:
        operation = spec["paths"][path]["get"]
        assert operation["summary"]
        assert "200" in operation["responses"]
    for path in ("/bitcoin", "/bitcoin/forecast", "/bitcoin/forecast.csv", *ASSET_ROUTES):
        responses = spec["paths"][path]["get"]["responses"]
        for status in ("400", "404", "422"):
            if status == "404" and path.startswith("/bitcoin"):
                # BTC/USD is served: a path that names it cannot answer 404 (without it, it
                # does, and says so: test_answers_conform's WITHOUT_BITCOIN)
                assert status not in responses
                continue
            schema = responses[status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Error"}
    for path in ("/model", "/model/backtest"):  # the default asset's: always served
        assert "404" not in spec["paths"][path]["get"]["responses"]
    for path in MODEL_ROUTES:
        schema = spec["paths"][path]["get"]["responses"]["404"]["content"]["application/json"]
        assert schema["schema"] == {"$ref": "#/components/schemas/Error"}
    for path in (*ASSET_ROUTES, *MODEL_ROUTES):
        (asset,) = spec["paths"][path]["parameters"]
        assert (asset["name"], asset["in"], asset["required"]) == ("asset", "path", True)
        assert "/assets" in asset["description"]
    date = spec["paths"]["/bitcoin"]["get"]["parameters"][0]
    assert date["name"] == "date"
    assert date["required"] is True
    assert date["schema"]["pattern"].startswith("^")


def untyped_objects(node, spec, where: str, seen: set[str]) -> list[str]:
    """Where, at any depth below `node`, an object is declared with neither `properties` nor
    `additionalProperties` naming a typed schema (a free-form dictionary)."""
    if isinstance(node, list):
        return [
            found
            for i, item in enumerate(node)
            for found in untyped_objects(item, spec, f"{where}[{i}]", seen)
        ]
    if not isinstance(node, dict):
        return []
    if "$ref" in node:
        name = node["$ref"].removeprefix("#/components/schemas/")
        if name in seen:
            return []
        seen.add(name)
        return untyped_objects(spec["components"]["schemas"][name], spec, name, seen)
    found = []
    extra = node.get("additionalProperties")
    if node.get("type") == "object":
        typed_extra = isinstance(extra, dict) and bool({"type", "$ref", "anyOf"} & set(extra))
        if "properties" not in node and not typed_extra:
            found.append(where)
    for key in ("properties",):
        for name, value in node.get(key, {}).items():
            found += untyped_objects(value, spec, f"{where}.{name}", seen)
    for key in ("items", "additionalProperties", "anyOf", "allOf", "oneOf"):
        if isinstance(node.get(key), dict | list):
            found += untyped_objects(node[key], spec, f"{where}.{key}", seen)
    return found


@pytest.mark.parametrize("path", ["/model", "/model/{asset}", "/model/backtest"])
def test_the_model_card_and_backtest_are_typed_at_every_depth(spec, path):
    """Issue 35, bar 3: no free-form dictionary anywhere in the model card's or the backtest's
    schema, so a generated client types every part of them."""
    schema = spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
    assert untyped_objects(schema["schema"], spec, path, set()) == []


def test_the_untyped_object_check_finds_a_free_form_dictionary(spec):
    free = {"type": "object", "properties": {"data": {"type": "object"}}}
    assert untyped_objects(free, spec, "card", set()) == ["card.data"]


def test_the_model_card_repeats_nothing(spec):
    card = spec["components"]["schemas"]["ModelCard"]["properties"]
    assert "backtest" not in card  # the summary is `metrics`, once
    assert card["metrics"]["anyOf"][0] == {"$ref": "#/components/schemas/EvaluationScores"}


RANGE_AND_CANDLE_ROUTES = ["/forecast/{asset}/range", "/bitcoin/forecast", "/candles/{asset}"]


def test_every_200_answer_lists_json_first_and_the_range_and_candles_also_csv(client):
    """Generated clients type an answer by its first media type: JSON comes first wherever an
    operation answers JSON; the range and candle routes answer CSV too, with `format=csv`."""
    served = client.get("/openapi.json").get_json()  # in the order the document is served
    for path, item in served["paths"].items():
        content = item["get"]["responses"]["200"].get("content", {})
        if "application/json" in content:
            assert next(iter(content)) == "application/json", path
    assert set(served["components"]["schemas"]["Format"]["enum"]) == {"json", "csv"}
    for path in RANGE_AND_CANDLE_ROUTES:
        operation = served["paths"][path]["get"]
        assert list(operation["responses"]["200"]["content"]) == ["application/json", "text/csv"]
        [form] = [p for p in operation["parameters"] if p["name"] == "format"]
        assert form["schema"] == {"$ref": "#/components/schemas/Format", "default": "json"}


@pytest.mark.parametrize("path", RANGE_AND_CANDLE_ROUTES)
def test_each_csv_answer_has_an_operation_of_its_own(spec, path):
    """Issue 47, bar 4: a generated client parses a status's answer by the first media type
    declared (openapi-python-client 0.29), so `format=csv` on the JSON operation cannot give it
    text; the `.csv` twin declares CSV alone, with the same parameters but `format`."""
    twin = spec["paths"][f"{path}.csv"]
    operation = spec["paths"][path]["get"]
    assert list(twin["get"]["responses"]["200"]["content"]) == ["text/csv"]
    assert twin["get"]["responses"]["200"]["content"]["text/csv"]["schema"] == {"type": "string"}
    assert [p for p in operation["parameters"] if p["name"] != "format"] == twin["get"][
        "parameters"
    ]
    assert twin.get("parameters") == spec["paths"][path].get("parameters")
    assert {**twin["get"]["responses"], "200": None} == {**operation["responses"], "200": None}


def test_the_document_is_cached_and_served_as_json(client):
    response = client.get("/openapi.json")
    assert response.mimetype == "application/json"
    assert response.get_json()["info"]["title"] == "cryptopredict"


def local_references(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html)


def test_swagger_ui_loads_only_local_assets(client):
    html = client.get("/docs").get_data(as_text=True)
    references = local_references(html)
    assert references
    assert all(ref.startswith("/") for ref in references)
    assert not any(ref.startswith("//") for ref in references)
    for ref in references:
        assert client.get(ref).status_code == 200, ref
    assert 'data-spec-url="/openapi.json"' in html


def test_the_dashboard_shows_the_model_and_links_to_the_docs(client, facts):
    html = client.get("/").get_data(as_text=True)
    assert facts.model_version in html
    assert "snapshot" in html
    assert "/docs" in html
    assert "80% band" in html
    assert "2026-07-26T16:00:00Z" in html  # the last bar
    for ref in local_references(html):
        assert ref.startswith("/")
        assert not ref.startswith("//")
        assert client.get(ref).status_code == 200, ref
    assert '<option value="btc-usd" selected>BTC/USD</option>' in html
    for chart in ("forecast-chart", "candles-chart", "backtest-chart"):
        assert f'id="{chart}"' in html
    data = re.findall(r'data-url="([^"]+)"', html)
    assert data == ["/assets"]
    for url in data:
        assert client.get(url.replace("&amp;", "&")).status_code == 200


def test_plotly_is_served_from_the_vendored_file(client):
    response = client.get("/vendor/plotly.min.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.data == (VENDOR_DIR / "plotly" / "plotly.min.js").read_bytes()


def test_the_vendored_files_are_the_recorded_versions_with_their_licences():
    sums = (VENDOR_DIR / "SHA256SUMS").read_text().splitlines()
    assert len(sums) == 8
    for line in sums:
        digest, name = line.split(maxsplit=1)
        assert hashlib.sha256((VENDOR_DIR / name).read_bytes()).hexdigest() == digest, name
    versions = dict(line.split() for line in (VENDOR_DIR / "VERSIONS").read_text().splitlines())
    plotly = (VENDOR_DIR / "plotly" / "plotly.min.js").read_bytes()[:100]
    assert f"plotly.js v{versions['plotly.js-dist-min']}".encode() in plotly
    assert f"PLOTLY={versions['plotly.js-dist-min']}" in (ROOT / "ci" / "vendor.sh").read_text()
    assert f"SWAGGER_UI={versions['swagger-ui-dist']}" in (ROOT / "ci" / "vendor.sh").read_text()
    assert "MIT License" in (VENDOR_DIR / "plotly" / "LICENSE").read_text()
    assert "Apache License" in (VENDOR_DIR / "swagger-ui" / "LICENSE").read_text()


@pytest.mark.parametrize(
    "name", ["swagger-initializer.js", "../../swagger_ui/__init__.py", "swagger-ui-bundle.js.map"]
)
def test_only_the_listed_swagger_ui_files_are_served(client, name):
    assert client.get(f"/vendor/swagger-ui/{name}").status_code == 404


def test_every_enum_says_the_type_of_its_values(spec):
    """Swagger UI shows `any` for an enum without a type (msgspec writes an Enum's values
    alone); the asset's values are also beside its reference, where Swagger UI reads them."""
    schemas = spec["components"]["schemas"]
    enums = {name: schema for name, schema in schemas.items() if "enum" in schema}
    assert {"Asset", "Level", "Kind", "Format", "BandVerdict"} <= set(enums)
    assert {name: schema["type"] for name, schema in enums.items()} == {
        name: "integer" if name == "Level" else "string" for name in enums
    }
    (asset,) = spec["paths"]["/model/{asset}"]["parameters"]
    assert asset["schema"] == {
        "$ref": "#/components/schemas/Asset",
        "type": "string",
        "enum": schemas["Asset"]["enum"],
    }
    assert schemas["Asset"]["enum"] == ["btc-usd", "eth-usd"]


def test_no_schema_is_a_boolean(spec):
    """openapi-python-client (0.29) refuses a document holding a boolean schema, such as the
    `"items": false` msgspec writes after a tuple's `prefixItems`."""

    def booleans(node, where):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("items", "additionalProperties") and isinstance(value, bool):
                    yield f"{where}.{key}"
                yield from booleans(value, f"{where}.{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                yield from booleans(value, f"{where}[{i}]")

    assert list(booleans(spec, "$")) == []
