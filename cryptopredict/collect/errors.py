"""How a source fails: it refuses us (move elsewhere) or is unavailable for now (retry later)."""

from __future__ import annotations


class RefusedError(RuntimeError):
    """The source will not serve this client (HTTP 451 or 403): retrying will not help."""

    def __init__(self, source: str, detail: str, status: int) -> None:
        super().__init__(f"{source} refused: {detail}")
        self.status = status


class MissingKeysError(RuntimeError):
    """A source that needs API keys has none configured."""


class UnavailableError(RuntimeError):
    """A failure worth another try later: a dropped connection, a timeout, 429 or 5xx."""

    def __init__(self, detail: str, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
