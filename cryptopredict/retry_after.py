"""An HTTP `Retry-After` header in seconds, for the data sources' fetches and the collector's
streams alike: whole seconds or an HTTP date (RFC 9110 allows both)."""

from __future__ import annotations

import email.utils
from collections.abc import Mapping
from datetime import UTC, datetime


def retry_after_seconds(
    headers: Mapping[str, str] | None, now: datetime | None = None
) -> float | None:
    """The wait the header asks for (0 for a date already past); None without a readable one."""
    value = (headers or {}).get("Retry-After")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
