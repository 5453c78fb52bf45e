"""The application factory: `create_app(artifacts, settings)`; nothing is read at import."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask

from cryptopredict.api import (
    bitcoin,
    dashboard,
    docs,
    errors,
    headers,
    health,
    model_card,
    observe,
)
from cryptopredict.api.fastpath import FastBitcoin
from cryptopredict.api.forecast import Forecast
from cryptopredict.api.metrics import Metrics
from cryptopredict.api.responses import public_cache
from cryptopredict.artifact import Artifact, ArtifactError
from cryptopredict.config import Settings

ASSET = "btc-usd"


def create_app(artifacts: Mapping[str, Artifact], settings: Settings) -> Flask:
    """The API over the BTC/USD artifact among `artifacts` (loaded and verified by the caller)."""
    artifact = artifacts.get(ASSET)
    if artifact is None:
        found = ", ".join(sorted(artifacts)) or "none"
        raise ArtifactError(
            f"no {ASSET} artifact to serve (found: {found}); run `python train.py --symbol BTC/USD`"
        )
    manifest = artifact.manifest
    forecast = Forecast(artifact, max_horizon_days=settings.max_horizon_days)
    metrics = Metrics(artifact)

    app = Flask(__name__)
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 300
    model_version = str(manifest["model_version"])
    point = bitcoin.PointAnswer(forecast, model_version=model_version)
    app.register_blueprint(
        bitcoin.blueprint(
            forecast,
            point,
            model_version=model_version,
            interval=str(manifest["interval"]),
            cache_seconds=settings.cache_seconds,
            max_points=settings.forecast_max_points,
        )
    )
    app.register_blueprint(model_card.blueprint(artifact, cache_seconds=settings.cache_seconds))
    app.register_blueprint(health.blueprint(artifact))
    app.register_blueprint(metrics.blueprint())
    app.register_blueprint(docs.blueprint(cache_seconds=settings.cache_seconds))
    app.register_blueprint(
        dashboard.blueprint(artifact, forecast, cache_seconds=settings.cache_seconds)
    )
    errors.install(app)
    app.wsgi_app = FastBitcoin(app.wsgi_app, point, cache=public_cache(settings.cache_seconds))
    headers.install(app, settings.cors_origins)
    app.wsgi_app = observe.Observed(app.wsgi_app, metrics)
    app.extensions["cryptopredict"] = {"forecast": forecast}
    return app
