"""The application factory: `create_app(artifacts, settings)`; nothing is read at import."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask

from cryptopredict.api import (
    assets_routes,
    bitcoin,
    candles_routes,
    dashboard,
    docs,
    errors,
    forecast_routes,
    headers,
    health,
    model_card,
    observe,
)
from cryptopredict.api.catalog import BITCOIN, Catalog
from cryptopredict.api.fastpath import FastBitcoin
from cryptopredict.api.metrics import Metrics
from cryptopredict.api.responses import public_cache
from cryptopredict.artifact import Artifact
from cryptopredict.config import Settings


def create_app(artifacts: Mapping[str, Artifact], settings: Settings) -> Flask:
    """The API over every artifact in `artifacts` (loaded and verified by the caller).

    Without a BTC/USD artifact the others are served and `/bitcoin` answers 404
    `unknown_asset`; `/model`, `/healthz`, `/metrics` and the dashboard's first view describe
    the catalog's default asset (BTC/USD when served).
    """
    catalog = Catalog(artifacts, max_horizon_days=settings.max_horizon_days)
    default = catalog.default.artifact
    metrics = Metrics(default)
    cache_seconds = settings.cache_seconds

    app = Flask(__name__)
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 300
    forecasts = {"cache_seconds": cache_seconds, "max_points": settings.forecast_max_points}
    app.register_blueprint(bitcoin.blueprint(catalog, **forecasts))
    app.register_blueprint(forecast_routes.blueprint(catalog, **forecasts))
    app.register_blueprint(assets_routes.blueprint(catalog, cache_seconds=cache_seconds))
    app.register_blueprint(
        candles_routes.blueprint(
            catalog, cache_seconds=cache_seconds, max_points=settings.candles_max_points
        )
    )
    app.register_blueprint(model_card.blueprint(default, cache_seconds=cache_seconds))
    app.register_blueprint(health.blueprint(default))
    app.register_blueprint(metrics.blueprint())
    app.register_blueprint(docs.blueprint(cache_seconds=cache_seconds))
    app.register_blueprint(dashboard.blueprint(catalog, cache_seconds=cache_seconds))
    errors.install(app)
    if BITCOIN in catalog:
        app.wsgi_app = FastBitcoin(
            app.wsgi_app, catalog[BITCOIN].point, cache=public_cache(cache_seconds)
        )
    headers.install(app, settings.cors_origins)
    app.wsgi_app = observe.Observed(app.wsgi_app, metrics)
    app.extensions["cryptopredict"] = {"catalog": catalog}
    return app
