"""`create_app(artifacts, settings)`; every error, unknown routes included, answered as JSON."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from http import HTTPStatus

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from cryptopredict.api import assets, forecasts, market, model_card, openapi, pages, track_record
from cryptopredict.api.errors import ApiError
from cryptopredict.api.http import install, json_response
from cryptopredict.api.latest import LatestPrices, latest_prices
from cryptopredict.api.metrics import Metrics
from cryptopredict.api.serving.catalog import Catalog
from cryptopredict.api.types.common import Error
from cryptopredict.artifact.read import Artifact
from cryptopredict.config import ApiSettings

log = logging.getLogger(__name__)


def create_app(
    artifacts: Mapping[str, Artifact], settings: ApiSettings, latest: LatestPrices | None = None
) -> Flask:
    """The API over `artifacts` (an `ArtifactStore`, or artifacts opened already); forecasts
    start from the prices `latest` reads (the server's one a process), else a reader's own."""
    minutes = market.LiveMinutes(settings)
    latest = latest or latest_prices(settings)
    catalog = Catalog(
        artifacts,
        max_horizon_days=settings.max_horizon_days,
        note_after_hours=settings.note_after_hours,
        latest=latest.of,
    )
    stuck = lambda: minutes.reader.watchdog.stuck  # noqa: E731
    metrics = Metrics(catalog, settings, stuck=stuck, feed=latest.health)
    records = track_record.TrackRecords(catalog)
    metrics.registry.register(records)  # its gauges
    cached = {"cache_seconds": settings.cache_seconds}
    ranges = {**cached, "max_points": settings.forecast_max_points}
    candles = {**cached, "max_points": settings.candles_max_points}

    app = Flask(__name__)
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 300
    for blueprint in (
        *forecasts.blueprints(catalog, **ranges),
        assets.blueprint(catalog, **cached),
        market.candles_blueprint(catalog, minutes, **candles),
        market.live_blueprint(catalog, minutes),
        track_record.blueprint(catalog, records),
        model_card.blueprint(catalog, **cached, track_record=records.card_summary),
        model_card.health_blueprint(catalog, latest.health, settings),
        metrics.blueprint(),
    ):
        app.register_blueprint(blueprint)
    document = json.dumps(openapi.build(app, [served.slug for served in catalog]), indent=1)
    app.register_blueprint(pages.blueprint(catalog, document, **cached))
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    install(app, metrics, settings.cors_origins, lambda: tuple(latest.prices.values()))
    app.extensions["cryptopredict"] = {"catalog": catalog, "metrics": metrics, "latest": latest}
    return app


def _api_error(error: ApiError) -> Response:
    response = json_response(Error(error=error.code, detail=error.detail), status=error.status)
    response.headers.update(error.headers)
    return response


def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    if isinstance(error, NotFound):
        detail = "no such route; the API is described at /docs and /openapi.json"
    elif isinstance(error, MethodNotAllowed):
        allowed = ", ".join(error.valid_methods or ())
        method = request.method.encode("ascii", "backslashreplace").decode()[:32]
        detail = f"{method} is not allowed here; allowed: {allowed}"
    else:
        detail = error.description or HTTPStatus(status).phrase
    code = HTTPStatus(status).phrase.lower().replace(" ", "_")
    response = json_response(Error(error=code, detail=detail), status=status)
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _unexpected_error(error: Exception) -> Response:
    log.error("%s %s failed", request.method, request.path, exc_info=error)
    said = Error(error="internal_error", detail="an unexpected error; it has been logged")
    return json_response(said, status=500)
