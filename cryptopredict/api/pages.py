"""The pages: the dashboard at `/`, Swagger UI at `/docs` over `/openapi.json`, and the browser
files they load, vendored (no CDN: the pages work offline)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from flask import Blueprint, Response, render_template, send_file, send_from_directory, url_for
from werkzeug.exceptions import NotFound

from cryptopredict.api.assets import described
from cryptopredict.api.errors import StartupError
from cryptopredict.api.http import NO_STORE, page_headers, public_cache, raw_json_response

if TYPE_CHECKING:
    from cryptopredict.api.serving.catalog import Catalog

PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'{styles}; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
# plotly.js sets style attributes as it draws.
DASHBOARD_CSP = PAGE_CSP.format(styles=" 'unsafe-inline'")
DOCS_CSP = PAGE_CSP.format(styles="")
VENDOR_MAX_AGE = 86_400
# Vendored from npm by `make vendor` (ci/vendor.sh).
VENDOR_DIR = Path(__file__).with_name("vendor")
PLOTLY_JS = "plotly/plotly.min.js"
SWAGGER_UI_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png")


def blueprint(catalog: Catalog, document: str, *, cache_seconds: int) -> Blueprint:
    bp = Blueprint("pages", __name__)
    plotly = _vendored(PLOTLY_JS) / PLOTLY_JS
    swagger_dir = _vendored(*(f"swagger-ui/{name}" for name in SWAGGER_UI_FILES)) / "swagger-ui"
    max_age = public_cache(cache_seconds)

    @bp.get("/")
    def dashboard() -> Response:
        card = described(catalog[catalog.default]) if catalog.default else None  # None: training
        page = render_template("dashboard.html", card=card, assets_url=url_for("assets.assets"))
        cache = max_age if card else NO_STORE
        return page_headers(Response(page, mimetype="text/html"), csp=DASHBOARD_CSP, cache=cache)

    @bp.get("/vendor/plotly.min.js")
    def plotly_min_js() -> Response:
        return send_file(plotly, mimetype="text/javascript", max_age=VENDOR_MAX_AGE)

    @bp.get("/openapi.json")
    def openapi_json() -> Response:
        return raw_json_response(document, cache=max_age)

    @bp.get("/docs")
    def docs() -> Response:
        page = Response(render_template("docs.html"), mimetype="text/html")
        return page_headers(page, csp=DOCS_CSP, cache=max_age)

    @bp.get("/vendor/swagger-ui/<name>")
    def swagger_ui(name: str) -> Response:
        if name not in SWAGGER_UI_FILES:
            raise NotFound()
        return send_from_directory(swagger_dir, name, max_age=VENDOR_MAX_AGE)

    return bp


def _vendored(*names: str) -> Path:
    missing = [name for name in names if not (VENDOR_DIR / name).is_file()]
    if missing:
        raise StartupError(
            f"{VENDOR_DIR} lacks {', '.join(missing)}; restore it from git or run `make vendor`"
        )
    return VENDOR_DIR
