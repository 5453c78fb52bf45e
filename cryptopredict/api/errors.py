"""Errors the API answers with, as `{"error": code, "detail": message}` and an HTTP status."""

from __future__ import annotations

import logging
from http import HTTPStatus

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from cryptopredict.api.responses import json_response

log = logging.getLogger(__name__)


class StartupError(Exception):
    """The API cannot start (a missing static asset, an unusable setting); the message says why."""


class ApiError(Exception):
    """A request the API cannot answer as asked; subclasses set the status and the error code."""

    status = 400
    code = "bad_request"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class BadRequestError(ApiError):
    """Malformed input: a missing, repeated or unparsable parameter."""


class OutOfRangeError(ApiError):
    """Well-formed input the model cannot answer: a date outside the valid range."""

    status = 422
    code = "out_of_range"


class TooManyPointsError(ApiError):
    status = 422
    code = "too_many_points"


class UnknownAssetError(ApiError):
    """An `{asset}` in the path that this server has no artifact for."""

    status = 404
    code = "unknown_asset"


class UnsupportedIntervalError(ApiError):
    """A well-formed candle interval the stored bars cannot be aggregated to."""

    status = 422
    code = "unsupported_interval"


class ModelUnavailableError(ApiError):
    """The pickled model, needed past the precomputed grid, cannot be used."""

    status = 503
    code = "model_unavailable"


def install(app: Flask) -> None:
    """Answer every error, including unknown routes and wrong methods, as JSON."""
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)


def _api_error(error: ApiError) -> Response:
    return _error_response(error.status, error.code, error.detail)


def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    if isinstance(error, NotFound):
        detail = "no such route; the API is described at /docs and /openapi.json"
    elif isinstance(error, MethodNotAllowed):
        allowed = ", ".join(error.valid_methods or ())
        detail = f"{_printable(request.method)} is not allowed here; allowed: {allowed}"
    else:
        detail = error.description or HTTPStatus(status).phrase
    response = _error_response(status, HTTPStatus(status).phrase.lower().replace(" ", "_"), detail)
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _unexpected_error(error: Exception) -> Response:
    log.error("%s %s failed", request.method, request.path, exc_info=error)
    return _error_response(500, "internal_error", "an unexpected error; it has been logged")


def _error_response(status: int, code: str, detail: str) -> Response:
    return json_response({"error": code, "detail": detail}, status=status)


def _printable(text: str) -> str:
    return text.encode("ascii", "backslashreplace").decode()[:32]
