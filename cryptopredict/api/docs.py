"""`/openapi.json` and `/docs`: the OpenAPI document generated from the code, and Swagger UI."""

from __future__ import annotations

import json
from functools import cache

from flask import Blueprint, Flask, Response, current_app, render_template, send_from_directory
from werkzeug.exceptions import NotFound

from cryptopredict.api.headers import page_headers
from cryptopredict.api.responses import public_cache, raw_json_response
from cryptopredict.api.vendor import SWAGGER_UI_FILES, swagger_ui_dir

# Swagger UI needs its own scripts and styles, data: images (its icons) and fetches to this origin.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
VENDOR_MAX_AGE = 86_400


def blueprint(*, cache_seconds: int) -> Blueprint:
    bp = Blueprint("docs", __name__)
    assets = swagger_ui_dir()
    max_age = public_cache(cache_seconds)

    @cache
    def document(app: Flask) -> bytes:
        from cryptopredict.api import openapi_document  # noqa: PLC0415 (see `openapi`)

        return json.dumps(openapi_document.build(app), indent=1).encode()

    @bp.get("/openapi.json")
    def openapi_json() -> Response:
        return raw_json_response(document(current_app._get_current_object()), cache=max_age)

    @bp.get("/docs")
    def docs() -> Response:
        page = Response(render_template("docs.html"), mimetype="text/html")
        return page_headers(page, csp=CSP, cache=max_age)

    @bp.get("/vendor/swagger-ui/<name>")
    def swagger_ui(name: str) -> Response:
        if name not in SWAGGER_UI_FILES:
            raise NotFound()
        return send_from_directory(assets, name, max_age=VENDOR_MAX_AGE)

    return bp
