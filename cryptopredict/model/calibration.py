"""A band's calibration: past forecasts' standardized errors at one horizon by when their outcome
was known (`Pool`), their quantiles at a time per width bin with the spread floor
(`Calibration`; none below `MIN_POOL` errors), and a panel's pool as `make panel` stores it
(`Stored`, a calibration at each week start).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cryptopredict.model.market import DAY, TAUS

MIN_POOL = 100  # errors a calibration pool needs before its quantiles are used


@dataclass(frozen=True)
class Calibration:
    tables: np.ndarray  # (bins, len(TAUS) + 1): quantiles at TAUS, then the median
    edges: np.ndarray  # (bins - 1,): the spreads between bins, ascending
    floor: float  # the narrowest spread served (0: no floor)

    def quantiles(self, spread: np.ndarray, drift: bool) -> np.ndarray:
        """Quantiles at TAUS per origin: its width bin's, lifted to the floor."""
        table = self.tables[np.searchsorted(self.edges, spread)]
        quantiles = table[:, :-1] if drift else table[:, :-1] - table[:, -1:]
        with np.errstate(divide="ignore", invalid="ignore"):
            lift = np.where(spread > 0, np.maximum(1.0, self.floor / spread), 1.0)
        return quantiles * lift[:, None]


@dataclass
class Pool:
    """Errors `values` with their spreads, kept in the order their outcomes were known
    (`known_at`; a non-finite value or spread is left out)."""

    known_at: np.ndarray
    values: np.ndarray
    spreads: np.ndarray
    days: int | None
    bins: int = 1
    floor: float | None = None
    _tables: dict[int, Calibration | None] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        keep = np.isfinite(self.values) & np.isfinite(self.spreads)
        order = np.argsort(self.known_at[keep], kind="stable")
        arrays = (self.known_at, self.values, self.spreads)
        self.known_at, self.values, self.spreads = (array[keep][order] for array in arrays)

    def calibration(self, at: int) -> Calibration | None:
        """The errors known by `at` within `days`, binned by spread where every bin holds
        MIN_POOL (None below MIN_POOL)."""
        if at in self._tables:
            return self._tables[at]
        count = int(np.searchsorted(self.known_at, at, "right"))
        first = 0
        if self.days is not None:
            first = int(np.searchsorted(self.known_at, at - self.days * DAY, "right"))
        self._tables[at] = None
        if count - first >= MIN_POOL:
            values, spreads = self.values[first:count], self.spreads[first:count]
            bins = self.bins if count - first >= MIN_POOL * self.bins else 1
            edges = np.quantile(spreads, np.arange(1, bins) / bins) if bins > 1 else np.empty(0)
            which = np.searchsorted(edges, spreads)
            quantiles = [np.quantile(values[which == b], (*TAUS, 0.5)) for b in range(bins)]
            floor = 0.0 if self.floor is None else float(np.quantile(spreads, self.floor))
            self._tables[at] = Calibration(np.array(quantiles), edges, floor)
        return self._tables[at]


@dataclass(frozen=True)
class Stored:
    """A pool's calibrations at week starts: at a time, the latest."""

    weeks: np.ndarray  # ascending
    tables: np.ndarray  # (weeks, bins, len(TAUS) + 1); NaN rows past a week's own bins
    edges: np.ndarray  # (weeks, bins - 1); NaN past a week's own
    floors: np.ndarray  # (weeks,)

    def calibration(self, at: int) -> Calibration | None:
        week = int(np.searchsorted(self.weeks, at, "right")) - 1
        if week < 0:
            return None
        bins = int(np.isfinite(self.tables[week, :, 0]).sum())
        if bins == 0:
            return None
        return Calibration(
            self.tables[week, :bins], self.edges[week, : bins - 1], float(self.floors[week])
        )
