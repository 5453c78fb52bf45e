"""Answers checked against the OpenAPI document the app serves: the status, the media type and,
for JSON, the body against the declared schema, its formats (`date-time`) included."""

from __future__ import annotations

from typing import Any

from openapi_schema_validator import OAS31Validator, oas31_format_checker


def check_conforms(spec: dict[str, Any], path: str, response) -> None:
    """Fail unless `response` is an answer `spec` declares for `path`, with its schema."""
    declared = spec["paths"][path]["get"]["responses"]
    assert str(response.status_code) in declared, f"{path} {response.status_code} undeclared"
    content = declared[str(response.status_code)].get("content", {})
    media = response.mimetype
    assert media in content, f"{path} {response.status_code} {media} undeclared"
    if media == "application/json":
        schema = resolve(content[media]["schema"], spec)
        OAS31Validator(schema, format_checker=oas31_format_checker).validate(response.get_json())
    else:
        assert content[media]["schema"] == {"type": "string"}
        assert response.get_data(as_text=True)


def resolve(node: Any, spec: dict[str, Any]) -> Any:
    """`node` with every `$ref` to a component schema replaced by the schema."""
    if isinstance(node, dict):
        if "$ref" in node:
            name = node["$ref"].removeprefix("#/components/schemas/")
            siblings = {key: value for key, value in node.items() if key != "$ref"}
            return {**resolve(spec["components"]["schemas"][name], spec), **siblings}
        return {key: resolve(value, spec) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve(value, spec) for value in node]
    return node
