"""Times as every answer writes them: ISO-8601 in UTC, `YYYY-MM-DDTHH:MM:SSZ`."""

from __future__ import annotations

import numpy as np

from cryptopredict.utc import iso_utc

__all__ = ["iso_dates", "iso_utc", "show_epoch"]


def iso_dates(ds: np.ndarray) -> list[str]:
    """Epoch seconds as `YYYY-MM-DDTHH:MM:SSZ`, all at once."""
    return [f"{text}Z" for text in np.datetime_as_string(ds.astype("datetime64[s]")).tolist()]


def show_epoch(epoch: float) -> str:
    """An epoch for a message, also when it lies outside the years datetime can show."""
    try:
        return iso_utc(epoch)
    except (OverflowError, ValueError, OSError):
        return f"({epoch:.0f} seconds after 1970)"
