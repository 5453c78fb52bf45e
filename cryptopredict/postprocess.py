"""How the model's raw output becomes the served forecast: anchoring, damping, calibrated bands.

Prophet's fitted trend sits away from the last observed price, and its intervals do not widen
with the horizon the way a price does. So, past the last bar (the origin):

- the path is anchored: it starts at the last close, moving as the model's own path moves;
- the model's move away from the origin is damped by tau / (tau + h) at horizon h (when tau is
  set), a damped trend that tends to a finite limit instead of growing forever;
- the band is the centre times exp(q * scale): q are empirical quantiles of past log errors at
  each horizon, measured in units of the volatility at their origin (conformal calibration on
  backtest residuals), and `scale` is the volatility now; so the band widens and narrows with the
  market. Between calibrated horizons a bound's distance grows as a power of the lead, past the
  last as sqrt(h), and never falls (`along_lead`).

Pure numpy, so the API can apply it to predictions past the precomputed grid without the
training code. The rules are the manifest's (`cryptopredict.artifact.schema.PostprocessRules`);
`target` says what the model was fitted on: `log` (log close) or `price` (close).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from cryptopredict.artifact.schema import PostprocessRules

# Prices keep their cents, and below 1 (in the quote currency) this many significant digits:
# 0.0161750 for a pair quoted at 0.016175, where cents alone would say 0.02.
SIGNIFICANT = 6


def price_decimals(smallest: float) -> int:
    """The decimals that keep the cents of a price from 1 up, and `SIGNIFICANT` digits of one
    below (of `smallest`, for a set of prices shown together)."""
    if not 0 < smallest < 1:  # NaN too
        return 2
    return max(2, SIGNIFICANT - 1 - math.floor(math.log10(smallest)))


def round_band(point: float, low: float, high: float) -> tuple[float, float, float]:
    """A point and its band as an answer shows them: rounded as `price_decimals` says for the
    band's lower bound."""
    decimals = price_decimals(low)
    return round(point, decimals), round(low, decimals), round(high, decimals)


def round_prices(values: np.ndarray) -> list[float | None]:
    """Prices shown together, rounded as `price_decimals` says for the smallest (NaN: None)."""
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    decimals = price_decimals(float(finite.min(initial=np.inf)))
    return [None if math.isnan(v) else v for v in np.round(values, decimals).tolist()]


def hours_ahead(rules: PostprocessRules, ds: np.ndarray) -> np.ndarray:
    return (np.asarray(ds, dtype=np.int64) - rules.origin) / 3600.0


def centre(rules: PostprocessRules, raw: np.ndarray, hours: np.ndarray) -> np.ndarray:
    """The point forecast, in price, from the model's raw predictions at `hours` ahead."""
    return centre_path(
        rules.target,
        rules.anchored,
        rules.damping_hours,
        last_close=rules.last_close,
        at_origin=rules.model_at_origin,
        raw=raw,
        hours=hours,
    )


def forecast(
    rules: PostprocessRules, ds: np.ndarray, raw: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`yhat, yhat_lower, yhat_upper` at times `ds` past the origin."""
    hours = hours_ahead(rules, ds)
    path = centre(rules, raw, hours)
    table = (rules.band_hours, rules.band_lower, rules.band_upper)
    lower, upper = band(path, hours, table, rules.band_scale)
    return path, lower, upper


def centre_path(
    target: str,
    anchored: bool,
    tau: float | None,
    *,
    last_close: float | np.ndarray,
    at_origin: float | np.ndarray,
    raw: np.ndarray,
    hours: np.ndarray,
) -> np.ndarray:
    """The point forecast, in price: the model's move from its value at the origin
    (`at_origin`, model space), damped by tau, from the last close (when `anchored`) or from
    the model's own value. Arrays broadcast: one origin per row, one lead per column."""
    raw = np.asarray(raw, dtype=np.float64)
    move = (raw - at_origin) * damping_factor(tau, hours)
    start = at_origin
    if anchored:
        start = np.log(last_close) if target == "log" else last_close
    path = start + move
    return np.exp(path) if target == "log" else path


def damping_factor(tau: float | None, hours: np.ndarray) -> np.ndarray:
    """tau / (tau + h): the share of the model's move kept at `hours` ahead (1 when tau is None)."""
    hours = np.maximum(np.asarray(hours, dtype=np.float64), 0.0)
    if tau is None:
        return np.ones_like(hours)
    return np.divide(tau, tau + hours, out=np.ones_like(hours), where=hours > 0)


QuantileTable = tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]


def band(
    centre: np.ndarray, hours: np.ndarray, table: QuantileTable, scale: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """`centre` times exp(scale * the error quantiles at `hours` ahead).

    `table` is (hours, lower quantiles, upper quantiles) at the calibrated horizons; between
    and beyond them, `along_lead`.
    """
    known, lower, upper = table
    low = empirical_offsets(hours, known, lower, upper=False) * scale
    high = empirical_offsets(hours, known, upper, upper=True) * scale
    return centre * np.exp(low), centre * np.exp(high)


def empirical_offsets(
    hours: np.ndarray, known: Sequence[float], values: Sequence[float], *, upper: bool
) -> np.ndarray:
    """A band's log offsets at `hours` ahead from its quantiles `values` at the calibrated
    horizons `known`, the `upper` bound's or the lower's, as `along_lead` carries them (as
    `cryptopredict.model.bands.Band` serves them)."""
    knots = np.asarray(values, dtype=np.float64)[None, :]
    return along_lead(knots, known, np.asarray(hours, dtype=np.float64), upper=upper)[0]


def along_lead(
    knots: np.ndarray, hours: Sequence[float], lead_hours: np.ndarray, *, upper: bool
) -> np.ndarray:
    """A bound's offsets at `lead_hours` from those at the calibrated `hours` (origins down):
    smooth in lead and never narrowing. Its distance from the point forecast at a calibrated
    horizon is the largest at any up to it (a band is never narrower further out, and no
    pool's noise can pull it in), and never grows faster than the lead itself from one
    calibrated horizon to the next (where the next would, the earlier distances are widened to
    its share: a noisy quantile cannot make a step); between two, it grows as a power of the
    lead, at most the first (a straight line in log distance against log lead: its relative
    change from one hour to the next is at most 1 / lead); below the first as sqrt(lead) from
    zero at lead 0, beyond the last as sqrt(lead), as a random walk's."""
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
