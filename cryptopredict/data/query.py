"""What a source is asked for, and the interface every source implements."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import pandas as pd

from cryptopredict.assets import Asset
from cryptopredict.candles import Interval


@dataclass(frozen=True)
class BarQuery:
    """Bars of `asset` at `interval` whose open time is in [start, end)."""

    asset: Asset
    interval: Interval
    start: pd.Timestamp
    end: pd.Timestamp

    def windows(self, bars_per_window: int) -> Iterator[tuple[pd.Timestamp, pd.Timestamp]]:
        span = self.interval.delta * bars_per_window
        start = self.start
        while start < self.end:
            end = min(start + span, self.end)
            yield start, end
            start = end

    def bar_count(self) -> int:
        return max(0, -(-(self.end - self.start) // self.interval.delta))


class BarSource(Protocol):
    name: str

    def fetch(self, query: BarQuery) -> pd.DataFrame:
        """Canonical-column bars for the query, in the order received."""
        ...
