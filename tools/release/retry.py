"""Retry transient failures after each delay of $RELEASE_RETRY_DELAYS (default 10 30 90 s)."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from time import sleep
from typing import TypeVar

DEFAULT_DELAYS = "10 30 90"
# The longest wait a rate limit may ask of a try, within any job's time (production's 10 minutes).
LONGEST_WAIT = 300.0
# What a transient failure says, in gh's words and ours: an HTTP status of 429 or 5xx, or no
# answer at all (gh: "error connecting to api.github.com", "check your internet connection").
_TRANSIENT = re.compile(
    r"(HTTP|error:) (429|5\d\d)\b|time(d)? ?out|deadline exceeded|connection (refused|reset)|"
    r"could not be reached|could not resolve host|unexpected EOF|TLS handshake|"
    r"error connecting to|check your internet connection|no such host|network is unreachable|"
    r"rate limit",
    re.IGNORECASE,
)
RERUN = (
    "a transient failure, not a fault of the release: nothing needs changing. Re-run the failed "
    "jobs, or leave it to the next scheduled run, which tries again by itself"
)

T = TypeVar("T")


def delays() -> list[float]:
    text = os.environ.get("RELEASE_RETRY_DELAYS")
    return [float(part) for part in (text or DEFAULT_DELAYS).split()]


def transient(said: str) -> bool:
    return _TRANSIENT.search(said) is not None


def retried(call: Callable[[], T], again: Callable[[T | Exception], bool]) -> T:
    """`call`'s result, called again after each delay while `again(result or error)` holds, or
    after the longer wait a rate limit asks (`wait`: none past LONGEST_WAIT); each wait said on
    standard error, with its cause and when the next try starts."""
    for backoff in delays():
        try:
            result: T | Exception = call()
        except Exception as error:
            result = error
        delay = max(backoff, getattr(result, "wait", None) or 0.0)
        if not again(result) or delay > LONGEST_WAIT:
            break
        said = " ".join(str(getattr(result, "stderr", None) or result).split())[-300:]
        at = datetime.now() + timedelta(seconds=delay)
        print(f"{said}; trying again at {at:%H:%M:%S} (in {delay:g} s)", file=sys.stderr)
        sleep(delay)
    else:
        return call()
    if isinstance(result, Exception):
        raise result
    return result
