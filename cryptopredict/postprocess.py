"""How the model's raw output becomes the served forecast (pure numpy, for the API too): past
the last bar the path is anchored at the last close, its move damped by tau / (tau + h), and the
band is the centre times exp(q * scale), q calibrated error quantiles at each horizon, carried
between horizons by `along_lead`. The rules are the manifest's `PostprocessRules`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from cryptopredict.artifact.schema import ModelConfig, PostprocessRules

# Prices keep this many significant digits (their cents at least): rounding moves a price by at
# most 5e-6 of it, a band edge by under 1% of the band's width wherever that is 0.05% of the price.
SIGNIFICANT = 6


def price_decimals(smallest: float) -> int:
    """The decimals of prices shown together, `smallest` the smallest (every answer's rule)."""
    if not 0 < smallest < math.inf:  # NaN too
        return 2
    return max(2, SIGNIFICANT - 1 - math.floor(math.log10(smallest)))


def round_band(point: float, low: float, high: float) -> tuple[float, float, float]:
    decimals = price_decimals(low)
    return round(point, decimals), round(low, decimals), round(high, decimals)


def round_prices(values: np.ndarray) -> list[float | None]:
    """Prices shown together, rounded for the smallest (NaN: None)."""
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    decimals = price_decimals(float(finite.min(initial=np.inf)))
    return [None if math.isnan(v) else v for v in np.round(values, decimals).tolist()]


def hours_ahead(rules: PostprocessRules, ds: np.ndarray) -> np.ndarray:
    return (np.asarray(ds, dtype=np.int64) - rules.origin) / 3600.0


def centre(rules: PostprocessRules, raw: np.ndarray, hours: np.ndarray) -> np.ndarray:
    return centre_path(
        rules, last_close=rules.last_close, at_origin=rules.model_at_origin, raw=raw, hours=hours
    )


def centre_path(
    how: PostprocessRules | ModelConfig,
    *,
    last_close: float | np.ndarray,
    at_origin: float | np.ndarray,
    raw: np.ndarray,
    hours: np.ndarray,
) -> np.ndarray:
    """The point forecast in price: the model's move from `at_origin` damped by `how`'s tau,
    from the last close where `how` is anchored. Origins down, leads across."""
    hours = np.maximum(np.asarray(hours, dtype=np.float64), 0.0)
    damping = np.ones_like(hours)
    if how.damping_hours is not None:
        np.divide(how.damping_hours, how.damping_hours + hours, out=damping, where=hours > 0)
    move = (np.asarray(raw, dtype=np.float64) - at_origin) * damping
    start = at_origin
    if how.anchored:
        start = np.log(last_close) if how.target == "log" else last_close
    path = start + move
    return np.exp(path) if how.target == "log" else path


def empirical_offsets(
    hours: np.ndarray, known: Sequence[float], values: Sequence[float], *, upper: bool
) -> np.ndarray:
    """A bound's log offsets at `hours` from its quantiles `values` at `known`, by `along_lead`."""
    knots = np.asarray(values, dtype=np.float64)[None, :]
    return along_lead(knots, known, np.asarray(hours, dtype=np.float64), upper=upper)[0]


def along_lead(
    knots: np.ndarray, hours: Sequence[float], lead_hours: np.ndarray, *, upper: bool
) -> np.ndarray:
    """A bound's offsets at `lead_hours` from those at the calibrated `hours` (origins down),
    never narrowing and growing no faster than the lead between horizons: a power of the lead
    between two, sqrt(lead) below the first and beyond the last."""
    side = 1.0 if upper else -1.0
    distance = np.maximum.accumulate(np.maximum(knots * side, 0.0), axis=1)
    known = np.asarray(hours, dtype=np.float64)
    for k in range(len(known) - 2, -1, -1):
        distance[:, k] = np.maximum(distance[:, k], distance[:, k + 1] * known[k] / known[k + 1])
    leads = np.maximum(np.asarray(lead_hours, dtype=np.float64), 0.0)
    last = len(known) - 1
    high = np.clip(np.searchsorted(known, leads), min(1, last), last)
    low = np.maximum(high - 1, 0)
    near, far = distance[:, low], distance[:, high]
    with np.errstate(divide="ignore", invalid="ignore"):
        span = np.log(known[high] / known[low])
        share = np.where(span > 0, np.log(np.maximum(leads, 1e-12) / known[low]) / span, 0.0)
        powered = near * (far / near) ** share[None, :]
    linear = near + (far - near) * share[None, :]
    inside = np.where((near > 0) & np.isfinite(powered), powered, linear)
    below = distance[:, :1] * np.sqrt(leads / known[0])[None, :]
    beyond = distance[:, -1:] * np.sqrt(leads / known[-1])[None, :]
    at = np.where(leads[None, :] < known[0], below, inside)
    return side * np.where(leads[None, :] > known[-1], beyond, at)
