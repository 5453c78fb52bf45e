"""Prophet's paths from the refit origins (`forecasters.refit_at`) as the point forecast at every
origin, the closes they are scored against, and the drift path beside them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cryptopredict.artifact.schema import ModelConfig
from cryptopredict.model.market import Market
from cryptopredict.model.plan import HOUR
from cryptopredict.postprocess import centre_path


@dataclass
class Refits:
    """Prophet's predictions (model space) from each refit origin, a bar apart."""

    times: np.ndarray
    raw: np.ndarray  # (refits, steps)
    interval: int

    def centre(
        self,
        config: ModelConfig,
        anchor: np.ndarray,
        origins: np.ndarray,
        lead_hours: np.ndarray,
    ) -> np.ndarray:
        """The point forecast from `origins` (model price `anchor`) at `lead_hours`: the latest
        refit's path re-anchored there (before the first, the last price)."""
        lead_hours = np.asarray(lead_hours, dtype=np.float64)
        which = np.searchsorted(self.times, origins, "right") - 1
        out = np.repeat(np.asarray(anchor, dtype=np.float64)[:, None], len(lead_hours), axis=1)
        has = which >= 0
        if not has.any() or len(self.times) == 0:
            return out
        rows = which[has]
        start = (origins[has] - self.times[rows]) // self.interval
        ahead = (lead_hours * HOUR // self.interval).astype(np.int64)
        last = self.raw.shape[1] - 1
        at_origin = self.raw[rows, np.minimum(start, last)]
        columns = np.minimum(start[:, None] + ahead[None, :], last)
        raw = self.raw[rows[:, None], columns]
        out[has] = centre_path(
            config,
            last_close=anchor[has][:, None],
            at_origin=at_origin[:, None],
            raw=raw,
            hours=lead_hours[None, :],
        )
        return out

    @classmethod
    def none(cls, interval: int) -> Refits:
        return cls(np.empty(0, dtype=np.int64), np.empty((0, 1)), interval)


def actual_at(market: Market, seconds: np.ndarray) -> np.ndarray:
    at = np.minimum(np.searchsorted(market.t, seconds), len(market.t) - 1)
    return np.where(market.t[at] == seconds, np.exp(market.log_price[at]), np.nan)


def outcome(market: Market, times: np.ndarray, lead_hours: np.ndarray) -> np.ndarray:
    """The close `lead_hours` after each origin (origins down), NaN across a gap."""
    times = np.asarray(times, dtype=np.int64)
    leads = np.asarray(lead_hours, dtype=np.float64)
    seconds = times[:, None] + (leads * HOUR).astype(np.int64)[None, :]
    steps = (leads * HOUR // market.interval).astype(np.int64)
    start = market.position(times)
    end = np.clip(start[:, None] + steps[None, :], 0, len(market.t) - 1)
    whole = market.t[end] == seconds  # every bar between is there: the bars are one apart
    return np.where(whole, actual_at(market, seconds), np.nan)


def drift_centre(
    market: Market, anchor: np.ndarray, pos: np.ndarray, leads: np.ndarray, days: int | None
) -> np.ndarray:
    """The random walk with drift from each origin: its drift the mean log change per hour over
    the last `days` (None: all)."""
    seconds = market.t
    reach = days * 86_400 if days is not None else seconds[-1] - seconds[0]
    start = np.searchsorted(seconds, seconds[pos] - reach, "right")
    start = np.minimum(start, pos)
    hours = np.maximum((seconds[pos] - seconds[start]) / 3600, 1.0)
    slope = np.log(anchor[pos] / anchor[start]) / hours
    return anchor[pos][:, None] * np.exp(slope[:, None] * np.asarray(leads)[None, :])
