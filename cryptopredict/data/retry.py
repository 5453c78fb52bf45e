"""Bounded retries of data-source requests: on 429, 5xx, timeouts and dropped connections, after
exponential backoff or `Retry-After`, within an attempt limit and the fetch's deadline; anything
else fails at once. A paged fetch's `progress`, in log lines."""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Mapping
from typing import TypeVar

import requests
import tenacity
import urllib3.exceptions

from cryptopredict.config import HistorySettings
from cryptopredict.data.errors import DataError, SourceError, TransientSourceError
from cryptopredict.logs import snippet
from cryptopredict.retry_after import retry_after_seconds

log = logging.getLogger(__name__)
T = TypeVar("T")

RETRYABLE_STATUS = frozenset({418, 429, 500, 502, 503, 504})  # 418: Binance bans after 429s
MAX_BACKOFF = 8.0


class NetworkSource:
    """A source asked over the network: HTTP_ATTEMPTS tries a request, none started past its
    fetch's `deadline`, FETCH_TIMEOUT after the fetch began."""

    name: str

    def __init__(
        self, settings: HistorySettings, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.settings = settings
        self.sleep = sleep

    def deadline(self) -> float:
        """The time.monotonic() after which a fetch that begins now starts no new attempt."""
        return time.monotonic() + self.settings.fetch_timeout

    def call(self, deadline: float, request: Callable[[], T]) -> T:
        """`request`, retrying TransientSourceError; SourceError when out of tries or time."""
        attempts = self.settings.http_attempts

        def wait(state: tenacity.RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            hinted = getattr(error, "retry_after", None)
            backoff = min(MAX_BACKOFF, 0.5 * 2 ** (state.attempt_number - 1))
            delay = hinted if hinted is not None else backoff
            left = deadline - time.monotonic()
            if delay > left:
                raise SourceError(
                    self.name,
                    f"{error}; the next try would start after the fetch deadline "
                    f"(waiting {delay:.0f} s, {max(left, 0):.0f} s left)",
                )
            log.info("%s: %s; retrying in %.1f s", self.name, error, delay)
            return delay

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(TransientSourceError),
            stop=tenacity.stop_after_attempt(attempts),
            wait=wait,
            sleep=self.sleep,
            reraise=True,
        )
        try:
            return retrying(request)
        except TransientSourceError as error:
            raise SourceError(self.name, f"{error} (gave up after {attempts} attempts)") from error


def status_error(source: str, status: int, headers: Mapping[str, str], body: str) -> DataError:
    """Transient for 429/5xx, permanent otherwise."""
    summary = f"HTTP {status}: {snippet(body)}"
    if status in RETRYABLE_STATUS:
        return TransientSourceError(summary, retry_after=retry_after_seconds(headers))
    return SourceError(source, summary, status=status)


def transport_error(source: str, error: requests.RequestException) -> DataError:
    """Timeouts and dropped connections are worth another try."""
    if _is_name_resolution_failure(error):
        return SourceError(source, f"cannot resolve {_host(error)} (no network or DNS)")
    if isinstance(error, requests.Timeout | requests.ConnectionError):
        return TransientSourceError(f"{type(error).__name__} talking to {_host(error)}")
    return SourceError(source, f"request failed: {error}")


def malformed(source: str, body: str) -> SourceError:
    """An answer in a shape the client does not read: no retry helps, a person must update it."""
    return SourceError(
        source,
        f"answered in a shape its client does not read ({snippet(body)!r}): it needs a person to "
        f"update the client, cryptopredict/data/{source}.py",
    )


def _is_name_resolution_failure(error: BaseException) -> bool:
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, urllib3.exceptions.NameResolutionError):
            return True
        reason = getattr(seen, "reason", None)
        nested = seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else None
        seen = reason if isinstance(reason, BaseException) else nested
    return False


def _host(error: requests.RequestException) -> str:
    request = getattr(error, "request", None)
    url = getattr(request, "url", None) or ""
    return url.split("/")[2] if url.count("/") >= 2 else "the server"


def progress(total: int, description: str) -> Callable[[], None]:
    """A function to call once per finished page: a log line, which reaches the run's display
    from a worker (a bar of its own there would draw over the run's)."""
    done = itertools.count(1)
    return lambda: log.info("%s: %d/%d pages", description, next(done), total)
