"""Instants as the project writes them everywhere (answers, manifests, reports, messages):
ISO-8601 in UTC to the second, `YYYY-MM-DDTHH:MM:SSZ`."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the release tools import this module with nothing installed
    import numpy as np

ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def iso_utc(epoch: float) -> str:
    """`YYYY-MM-DDTHH:MM:SS[.ffffff]Z` (a fraction only when the epoch has one); only for
    epochs inside years 1 to 9999."""
    whole = int(epoch)
    if whole == epoch and whole >= 0:  # the usual case (strftime pads no year below 1000)
        return time.strftime(ISO_FORMAT, time.gmtime(whole))
    return datetime.fromtimestamp(epoch, UTC).replace(tzinfo=None).isoformat() + "Z"


def iso_dates(ds: np.ndarray) -> list[str]:
    """Epoch seconds as `YYYY-MM-DDTHH:MM:SSZ`, all at once."""
    return [f"{text}Z" for text in ds.astype("datetime64[s]").astype(str).tolist()]


def show_epoch(epoch: float) -> str:
    """An epoch for a message, also when it lies outside the years datetime can show."""
    try:
        return iso_utc(epoch)
    except (OverflowError, ValueError, OSError):
        return f"({epoch:.0f} seconds after 1970)"


def iso_moment(moment: datetime) -> str:
    """A datetime (a pandas Timestamp too) to the second; a naive one is taken as UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime(ISO_FORMAT)


def utc_datetime(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)
