"""Bar intervals such as 1m, 5m, 1h, 4h, 1d and 1w."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

_UNITS = {"m": "min", "h": "h", "d": "D", "w": "W"}
_PATTERN = re.compile(r"^([1-9][0-9]*)([mhdw])$")
# Weekly bars open on Monday 00:00 UTC, as exchanges count weeks; the epoch was a Thursday.
_WEEK_ORIGIN = pd.Timestamp("1970-01-05", tz="UTC")
_EPOCH = pd.Timestamp("1970-01-01", tz="UTC")


@dataclass(frozen=True)
class Interval:
    amount: int
    unit: str

    @classmethod
    def parse(cls, text: str | Interval) -> Interval:
        if isinstance(text, Interval):
            return text
        match = _PATTERN.match(text.strip().lower())
        if not match:
            raise ValueError(
                f"unknown interval {text!r}: use a whole number and a unit m, h, d or w, e.g. 1h"
            )
        return cls(int(match.group(1)), match.group(2))

    @property
    def label(self) -> str:
        return f"{self.amount}{self.unit}"

    @property
    def delta(self) -> pd.Timedelta:
        amount = self.amount * 7 if self.unit == "w" else self.amount
        unit = "D" if self.unit == "w" else _UNITS[self.unit]
        return pd.Timedelta(amount, unit=unit)

    @property
    def origin(self) -> pd.Timestamp:
        """The instant bucket boundaries are counted from."""
        return _WEEK_ORIGIN if self.unit == "w" else _EPOCH

    def is_multiple_of(self, base: Interval) -> bool:
        return self.delta >= base.delta and self.delta % base.delta == pd.Timedelta(0)

    def floor(self, stamps: pd.Series) -> pd.Series:
        """The open time of the bar of this interval that holds each timestamp."""
        floored = self.origin + ((stamps - self.origin) // self.delta) * self.delta
        return floored.astype(stamps.dtype)

    def __str__(self) -> str:
        return self.label
