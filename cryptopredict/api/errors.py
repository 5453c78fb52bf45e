"""The errors the API answers with, as `{"error": code, "detail": message}` and an HTTP status
(`app.py` installs the handlers), and the one that stops it starting."""

from __future__ import annotations


class StartupError(Exception):
    """The API cannot start (a missing static asset, an unusable setting); the message says why."""


class ApiError(Exception):
    """A request the API cannot answer as asked; subclasses set the status and the error code."""

    status = 400
    code = "bad_request"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def headers(self) -> dict[str, str]:
        """Headers the answer carries besides the error."""
        return {}


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


class UnavailableAssetError(ApiError):
    """A served asset whose artifact cannot be opened (corrupt, missing, of another schema)."""

    status = 503
    code = "asset_unavailable"


class StillTrainingError(ApiError):
    """An asset that the training run into the model directory has not written yet."""

    status = 503
    code = "still_training"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}
