"""Responses built by hand: the hot path skips Flask's JSON provider and schema serialization."""

from __future__ import annotations

import json
from typing import Any

from flask import Response

NO_STORE = "no-store"
# One encoder for every answer: json.dumps with options builds a new one on each call.
ENCODER = json.JSONEncoder(allow_nan=False, separators=(",", ":"))


def public_cache(seconds: int) -> str:
    return f"public, max-age={seconds}"


def json_response(payload: Any, *, cache: str = NO_STORE, status: int = 200) -> Response:
    return raw_json_response(ENCODER.encode(payload), cache=cache, status=status)


def raw_json_response(body: str | bytes, *, cache: str, status: int = 200) -> Response:
    response = Response(body, status, content_type="application/json")
    response.headers.add("Cache-Control", cache)  # cheaper than headers= in the constructor
    return response
