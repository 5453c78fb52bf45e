"""The errors the API answers with (`{"error": code, "detail": message}`), and StartupError."""

from __future__ import annotations


class StartupError(Exception): ...


class ApiError(Exception):
    status, code = 400, "bad_request"
    headers: dict[str, str] = {}  # noqa: RUF012 (never changed)

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class BadRequestError(ApiError): ...


class OutOfRangeError(ApiError):
    status, code = 422, "out_of_range"


class TooManyPointsError(ApiError):
    status, code = 422, "too_many_points"


class UnknownAssetError(ApiError):
    status, code = 404, "unknown_asset"


class UnsupportedIntervalError(ApiError):
    status, code = 422, "unsupported_interval"


class UnavailableAssetError(ApiError):
    status, code = 503, "asset_unavailable"


class StillTrainingError(ApiError):
    status, code = 503, "still_training"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": str(retry_after)}
