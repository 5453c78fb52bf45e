"""Answers checked against the OpenAPI document the app serves."""

from __future__ import annotations

from typing import Any

from openapi_schema_validator import OAS30Validator


def check_conforms(spec: dict[str, Any], path: str, response) -> None:
    """Fail unless `response` is an answer `spec` declares for `path`, with its schema."""
    declared = spec["paths"][path]["get"]["responses"]
    assert str(response.status_code) in declared, f"{path} {response.status_code} undeclared"
    content = declared[str(response.status_code)].get("content", {})
    media = response.mimetype
    assert media in content, f"{path} {response.status_code} {media} undeclared"
    if media == "application/json":
        schema = resolve(content[media]["schema"], spec)
        OAS30Validator(schema).validate(response.get_json())


def resolve(node: Any, spec: dict[str, Any]) -> Any:
    """`node` with every `$ref` to a component schema replaced by the schema."""
    if isinstance(node, dict):
        if "$ref" in node:
            name = node["$ref"].removeprefix("#/components/schemas/")
            return resolve(spec["components"]["schemas"][name], spec)
        return {key: resolve(value, spec) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve(value, spec) for value in node]
    return node
