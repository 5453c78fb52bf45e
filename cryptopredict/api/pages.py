"""The pages: `/`, the dashboard (any served asset's history and forecast with the band, its
candles, and the default model's past forecasts against prices); `/docs`, Swagger UI over
`/openapi.json`, the document generated from the code; and the browser files they load.

The dashboard shows the default asset's card; `dashboard.js` lists the assets from `/assets`
and draws the selected one's charts from `/forecast/{asset}/range` and `/candles/{asset}`.
Third-party browser files are served from this server (no CDN): the pages work offline.
"""

from __future__ import annotations

import importlib.util
import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    render_template,
    send_file,
    send_from_directory,
    url_for,
)
from werkzeug.exceptions import NotFound

from cryptopredict.api.errors import StartupError
from cryptopredict.api.responses import iso_utc, page_headers, public_cache, raw_json_response

if TYPE_CHECKING:
    from cryptopredict.api.assets import Catalog

# plotly.js sets style attributes as it draws (the browser test shows them refused without
# 'unsafe-inline' for styles); scripts and data stay on this origin.
DASHBOARD_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
# Swagger UI needs its own scripts and styles, data: images (its icons) and fetches to this origin.
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
VENDOR_MAX_AGE = 86_400
SWAGGER_UI_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png")


def dashboard_blueprint(catalog: Catalog, *, cache_seconds: int) -> Blueprint:
    bp = Blueprint("dashboard", __name__)
    plotly = _plotly_js()
    max_age = public_cache(cache_seconds)
    default = catalog.default
    artifact, forecast, manifest = default.artifact, default.forecast, default.artifact.manifest
    card = {
        "asset": artifact.asset,
        "symbol": manifest.symbol,
        "interval": manifest.interval,
        "model_version": manifest.model_version,
        "created_at": iso_utc(manifest.created_at.timestamp()),
        "source": manifest.data.source,
        "first": iso_utc(int(artifact.history.ds[0])),
        "last": iso_utc(forecast.last_bar),
        "forecast_end": iso_utc(forecast.end),
        "interval_width": forecast.interval_width,
        "summary": _summary_rows(artifact.backtest.get("summary") or {}),
    }

    @bp.get("/")
    def dashboard() -> Response:
        page = render_template(
            "dashboard.html",
            card=card,
            assets_url=url_for("assets.assets"),
            backtest_url=url_for("model.model_backtest"),
        )
        return page_headers(Response(page, mimetype="text/html"), csp=DASHBOARD_CSP, cache=max_age)

    @bp.get("/vendor/plotly.min.js")
    def plotly_min_js() -> Response:
        return send_file(plotly, mimetype="text/javascript", max_age=VENDOR_MAX_AGE)

    return bp


def _summary_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per backtest horizon: MAPE of the model and of the naive forecast, coverage."""
    rows = []
    for horizon, scores in summary.items():
        if not isinstance(scores, dict):
            continue
        prophet = scores.get("prophet", {})
        rows.append(
            {
                "horizon": horizon,
                "mape": prophet.get("mape"),
                "naive_mape": scores.get("naive", {}).get("mape"),
                "coverage": prophet.get("coverage"),
            }
        )
    return rows


def docs_blueprint(*, cache_seconds: int) -> Blueprint:
    bp = Blueprint("docs", __name__)
    swagger_dir = _swagger_ui_dir()
    max_age = public_cache(cache_seconds)

    @cache
    def document(app: Flask) -> bytes:
        from cryptopredict.api import openapi  # noqa: PLC0415 (see `openapi.build`)

        return json.dumps(openapi.build(app), indent=1).encode()

    @bp.get("/openapi.json")
    def openapi_json() -> Response:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        return raw_json_response(document(app), cache=max_age)

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


def _swagger_ui_dir() -> Path:
    """Swagger UI's distribution files, from the `swagger-ui-py` package."""
    return _require(_package_dir("swagger_ui", "swagger-ui-py") / "static", SWAGGER_UI_FILES)


def _plotly_js() -> Path:
    """plotly.js, from the `plotly` package."""
    directory = _package_dir("plotly", "plotly") / "package_data"
    return _require(directory, ("plotly.min.js",)) / "plotly.min.js"


def _package_dir(module: str, distribution: str) -> Path:
    """The package's directory, found without importing it (importing plotly costs time and
    memory)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise StartupError(
            f"the {distribution} package is not installed; "
            "run `pip install -r requirements-api.txt`"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _require(directory: Path, names: tuple[str, ...]) -> Path:
    missing = [name for name in names if not (directory / name).is_file()]
    if missing:
        raise StartupError(
            f"{directory} lacks {', '.join(missing)}; reinstall with "
            "`pip install --force-reinstall -r requirements-api.txt`"
        )
    return directory
