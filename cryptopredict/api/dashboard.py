"""`/`: the dashboard: any served asset's history and forecast with the band, its candles, and
the default model's past forecasts against prices.

The page shows the default asset's card; `dashboard.js` lists the assets from `/assets` and
draws the selected one's charts from `/forecast/{asset}/range` and `/candles/{asset}`.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, render_template, send_file, url_for

from cryptopredict.api.catalog import Catalog
from cryptopredict.api.dates import iso_utc
from cryptopredict.api.headers import page_headers
from cryptopredict.api.responses import public_cache
from cryptopredict.api.vendor import plotly_js

# plotly.js sets style attributes as it draws (the browser test shows them refused without
# 'unsafe-inline' for styles); scripts and data stay on this origin.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
VENDOR_MAX_AGE = 86_400


def blueprint(catalog: Catalog, *, cache_seconds: int) -> Blueprint:
    bp = Blueprint("dashboard", __name__)
    plotly = plotly_js()
    max_age = public_cache(cache_seconds)
    artifact, forecast = catalog.default.artifact, catalog.default.forecast
    manifest = artifact.manifest
    card = {
        "asset": artifact.asset,
        "symbol": manifest["symbol"],
        "interval": manifest["interval"],
        "model_version": manifest["model_version"],
        "created_at": manifest["created_at"],
        "source": manifest["data"].get("source", "unknown"),
        "first": iso_utc(int(artifact.history["ds"][0])),
        "last": iso_utc(forecast.last_bar),
        "forecast_end": iso_utc(forecast.grid_end),
        "interval_width": forecast.postprocess.interval_width,
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
        return page_headers(Response(page, mimetype="text/html"), csp=CSP, cache=max_age)

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
