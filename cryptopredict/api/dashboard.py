"""`/`: the dashboard, history and forecast with the band, and past forecasts against prices."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, render_template, send_file, url_for

from cryptopredict.api.dates import iso_utc
from cryptopredict.api.forecast import DAY, Forecast
from cryptopredict.api.headers import page_headers
from cryptopredict.api.responses import public_cache
from cryptopredict.api.vendor import plotly_js
from cryptopredict.artifact import Artifact

# plotly.js sets style attributes as it draws (the browser test shows them refused without
# 'unsafe-inline' for styles); scripts and data stay on this origin.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
VENDOR_MAX_AGE = 86_400
CHART_DAYS = 90


def blueprint(artifact: Artifact, forecast: Forecast, *, cache_seconds: int) -> Blueprint:
    bp = Blueprint("dashboard", __name__)
    plotly = plotly_js()
    max_age = public_cache(cache_seconds)
    manifest = artifact.manifest
    card = {
        "asset": artifact.asset,
        "symbol": manifest["symbol"],
        "interval": manifest["interval"],
        "model_version": manifest["model_version"],
        "created_at": manifest["created_at"],
        "source": manifest["data"].get("source", "unknown"),
        "first": iso_utc(forecast.first),
        "last": iso_utc(forecast.last_bar),
        "forecast_end": iso_utc(forecast.grid_end),
        "interval_width": forecast.postprocess.interval_width,
        "summary": _summary_rows(artifact.backtest.get("summary") or {}),
    }
    chart_start = iso_utc(max(forecast.first, forecast.last_bar - CHART_DAYS * DAY))

    @bp.get("/")
    def dashboard() -> Response:
        page = render_template(
            "dashboard.html",
            card=card,
            forecast_url=url_for("bitcoin.forecast_range", start=chart_start),
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
