"""What can go wrong while getting a price history, by kind."""


class DataError(Exception):
    pass


class SourceError(DataError):
    """A source could not deliver bars; the message says why and what to do."""

    def __init__(self, source: str, reason: str, *, status: int | None = None) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason
        self.status = status

    def __reduce__(self) -> tuple:
        # Errors travel from training's workers back to the process that reports them.
        return (type(self), (self.source, self.reason), {"status": self.status})


class TransientSourceError(DataError):
    """A failure worth retrying (429, 5xx, timeout, dropped connection)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after

    def __reduce__(self) -> tuple:
        return (type(self), (str(self), self.retry_after))


class ValidationError(DataError):
    """The history breaks a rule that cannot be repaired; the message names the first bad bar."""


class StaleDataError(ValidationError):
    """Strict mode: the newest bar is older than allowed, or the data came from the snapshot."""
