"""The grid inside the history: what the pipeline would have served before each bar, from the
latest six-hourly origin (`HINDCAST_STEP`, the release's schedule) strictly before it, made as
the pipeline makes it there; never the in-sample fit."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cryptopredict.artifact.arrays import BarHistory, Grid, grid_knots
from cryptopredict.artifact.schema import GRID, LEVELS, HindcastCheck
from cryptopredict.band_scores import inside, tails
from cryptopredict.model.bands import Band
from cryptopredict.model.scoring import DenseOrigins

HINDCAST_STEP = 6 * 3600  # seconds; the release workflow's schedule
HINDCAST_RULE = (
    "Each bar inside the history is forecast from the latest origin strictly before it, "
    "origins every 6 hours (00, 06, 12, 18 UTC) on the last bar at or before them. The first "
    "bar has no earlier data: it is its own origin (lead 0), its close the forecast, its band "
    "of zero width. Before the first backtest refit the point forecast is the last price. "
    "Origins with fewer than 24 earlier returns take their volatility from the first 24 "
    "returns; bands whose calibration pool holds fewer than 100 errors use normal quantiles."
)


@dataclass(frozen=True)
class Hindcast:
    dense: DenseOrigins  # the prices, the model price, the refits and the damping served
    band: Band

    def origins(self, seconds: np.ndarray) -> np.ndarray:
        grid_point = (seconds - 1) // HINDCAST_STEP * HINDCAST_STEP
        # Before the first origin with a bar, the first bar (itself, for the first bar).
        return np.maximum(self.dense.market.position(grid_point), 0)

    def rows(self, seconds: np.ndarray) -> dict[str, np.ndarray]:
        dense = self.dense
        pos = self.origins(seconds)
        origin = dense.market.t[pos]
        lead = (seconds - origin) / 3600
        unique_pos, which = np.unique(pos, return_inverse=True)
        unique_lead, column = np.unique(lead, return_inverse=True)
        anchor, times = dense.anchor[unique_pos], dense.market.t[unique_pos]
        centre = dense.refits.centre(dense.config, anchor, times, unique_lead)[which, column]
        offsets = self.band.offsets(unique_pos, unique_lead)
        out = {"origin": origin.astype(np.int64), "yhat": centre}
        for level in LEVELS:
            low, high = tails(level)
            out[f"yhat_lower_{level}"] = centre * np.exp(offsets[low][which, column])
            out[f"yhat_upper_{level}"] = centre * np.exp(offsets[high][which, column])
        return out


def hindcast_coverage(grid: Grid, history: BarHistory, days: int = 365) -> HindcastCheck:
    """How often each level's served band (at its knots) held the close over the last `days`."""
    grid = grid_knots(Path(GRID), grid, int(history.ds[-1])).expand()
    recent = history.ds > history.ds[-1] - days * 86_400
    at = np.searchsorted(grid.ds, history.ds[recent])
    close = history.close[recent]
    return HindcastCheck(
        days=days,
        bars=int(recent.sum()),
        coverage_by_level={
            str(level): float(inside(close, grid.lower(level)[at], grid.upper(level)[at]).mean())
            for level in LEVELS
        },
    )
