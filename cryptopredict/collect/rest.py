"""An exchange's REST API read over urllib, and how an exchange fails: it refuses us (move to
the next exchange), or is unavailable for now (poll again later)."""

from __future__ import annotations

import http.client
import logging
import math
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import TypeVar

import msgspec

from cryptopredict.assets import Asset
from cryptopredict.logs import snippet
from cryptopredict.minutes.bars import MalformedBarError, MinuteBar, stamp
from cryptopredict.retry_after import retry_after_seconds

log = logging.getLogger(__name__)
T = TypeVar("T")


class RefusedError(RuntimeError):
    """The source will not serve this client (HTTP 451 or 403, say): retrying will not help."""


class UnavailableError(RuntimeError):
    """A failure worth another try later: a dropped connection, a timeout, 429 or 5xx, an answer
    of another shape; the message says why, in one line."""

    def __init__(self, detail: str, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


def get_json(
    url: str,
    shape: type[T],
    *,
    source: str,
    timeout: float,
    refused: Collection[int],
    headers: Mapping[str, str] | None = None,
) -> T:
    """The JSON at `url`, as `shape`. RefusedError for an HTTP status in `refused`;
    UnavailableError for any other failure (with the wait another status's Retry-After asks)."""
    host = urllib.parse.urlsplit(url).netloc
    sent = {"Accept": "application/json", "User-Agent": "cryptopredict", **(headers or {})}
    request = urllib.request.Request(url, headers=sent)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
    except urllib.error.HTTPError as error:
        detail = f"HTTP {error.code} from {host}"
        if error.code in refused:
            raise RefusedError(f"{source} refused: {detail}: {snippet(error.read())}") from None
        raise UnavailableError(detail, retry_after_seconds(dict(error.headers.items()))) from None
    except (OSError, http.client.HTTPException) as error:
        reason = getattr(error, "reason", error)
        raise UnavailableError(f"cannot reach {host}: {reason}") from None
    try:
        return msgspec.json.decode(body, type=shape)
    except msgspec.DecodeError as error:
        raise UnavailableError(
            f"{host} answered in another shape ({error}): {snippet(body)}"
        ) from None


@dataclass(frozen=True)
class Page:
    """One answer of an exchange's minutes: the bars, where the next page starts (None after the
    last), and how many rows were malformed (skipped; their minutes are asked for again)."""

    bars: list[MinuteBar]
    following: int | None
    malformed: int


def within(
    rows: list[object],
    parse: Callable[[object, Asset], MinuteBar],
    asset: Asset,
    start: int,
    end: int,
    *,
    what: str,
) -> tuple[list[MinuteBar], int]:
    """The bars of `rows` opening in [start, end), and how many rows were malformed (skipped)."""
    bars, malformed = [], 0
    for row in rows:
        try:
            bar = parse(row, asset)
        except MalformedBarError as error:
            malformed += 1
            log.warning("%s: skipped a malformed %s: %s", asset.slug, what, error)
            continue
        if start <= bar.ts < end:
            bars.append(bar)
        else:
            log.warning("%s: skipped a %s opening %s", asset.slug, what, stamp(bar.ts))
    return bars, malformed


def positive(text: str | float, symbol: str) -> float:
    """A price an exchange gave; UnavailableError for one that is no positive number."""
    try:
        price = float(text)
    except ValueError:
        price = math.nan
    if not math.isfinite(price) or price <= 0:
        said = f"a price of {symbol} that is no positive number: {str(text)[:40]!r}"
        raise UnavailableError(said)
    return price
