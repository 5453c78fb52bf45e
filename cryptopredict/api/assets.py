"""`/assets`: every served asset with its model, data range and endpoints."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Response, url_for

from cryptopredict.api.openapi import Blueprint, answers, document
from cryptopredict.api.responses import json_response, public_cache
from cryptopredict.api.serving.utc import iso_utc

if TYPE_CHECKING:
    from cryptopredict.api.serving.catalog import Catalog, ServedAsset


def blueprint(catalog: Catalog, *, cache_seconds: int) -> Blueprint:
    bp = Blueprint("assets", __name__, description="What is served.")
    cache = public_cache(cache_seconds)

    @bp.get("/assets")
    @document(responses=answers("Every served asset.", "AssetList"))
    def assets() -> Response:
        """The assets served

        For each asset: its model, the range of its history, how far its forecast is
        precomputed and accepted, and the URLs of its endpoints. `default` is the asset the
        dashboard opens with and `/model` and `/model/backtest` describe.
        """
        return json_response(
            {"default": catalog.default.slug, "assets": [_describe(served) for served in catalog]},
            cache=cache,
        )

    return bp


def _describe(served: ServedAsset) -> dict[str, Any]:
    manifest = served.artifact.manifest
    forecast = served.forecast
    history = served.artifact.history.ds
    return {
        "asset": served.slug,
        "symbol": served.symbol,
        "interval": served.interval,
        "model_version": served.model_version,
        "created_at": iso_utc(manifest.created_at.timestamp()),
        "source": manifest.data.source,
        "first_bar": iso_utc(int(history[0])),
        "last_bar": iso_utc(int(history[-1])),
        "grid_end": iso_utc(forecast.grid_end),
        "valid_from": iso_utc(forecast.first),
        "valid_until": iso_utc(forecast.end),
        "interval_width": forecast.interval_width,
        "links": {
            "forecast": url_for("forecast.forecast_point", asset=served.slug),
            "range": url_for("forecast.forecast_range", asset=served.slug),
            "candles": url_for("candles.candles", asset=served.slug),
            "model": url_for("model.asset_model", asset=served.slug),
            "backtest": url_for("model.asset_backtest", asset=served.slug),
        },
    }
