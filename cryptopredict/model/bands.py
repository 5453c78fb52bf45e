"""Forecast bands: the candidates the backtest chooses from, calibrated on past errors only.

A band is the point forecast times exp(offset), with a lower and an upper offset (log units)
per served level (50, 80 and 95%). Two kinds of candidate:

- `empirical`: the naive forecast's band. The offsets at horizon h are quantiles of every
  h-step log return of the last 365 days (returns that had played out by the origin); between
  the standard horizons they are interpolated, beyond the last one they grow as sqrt(h).
- `scaled`: conformal quantiles of standardized errors. The error of a forecast h steps ahead is
  divided by the square root of the variance the candidate expects over those h steps, and the
  band is the quantile of those standardized errors (from origins whose outcome was known by
  the origin served) times the expected spread now. The expected variance of each step ahead
  is

      profile(hour of week of the step) * (long + (short - long) * phi ** (step - 1))

  `short` is the (deseasonalized) variance of returns over the last `window_days`, `long` over
  the last 365 days, and phi = 0.5 ** (1 / half-life): today's volatility fades into the year's
  at the candidate's half-life (None: it never fades), a GARCH-like term structure. `profile`
  is the hour-of-week volatility pattern of the last 365 days (the day of week for daily bars),
  or flat.

A scaled band may also average its quantiles with the empirical band's per horizon
(Vincentization, `horizon_mix`), the weight linear in lead between the calibrated horizons so
the band has no jump along lead time.

Either kind can keep the drift of its past returns or errors (`drift=True`) or be centred on
the point forecast (their median removed, so that the point forecast is the band's median and
lies inside every band). The backtest chooses by interval score.

The parts: what a candidate is (`band_spec.py`), the prices and their window statistics
(`market.py`), the calibration pools (`calibration.py`); here the expected variance and the
band itself. An origin whose calibration pool holds fewer than `MIN_POOL` errors uses standard
normal quantiles in place of the calibrated ones.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

from cryptopredict.model.band_spec import WIDTH_BIN_HOURS, BandSpec
from cryptopredict.model.calibration import Pool
from cryptopredict.model.market import HOUR, TAUS, WEEK, YEAR_DAYS, Market

RECALIBRATE = WEEK  # the backtest and hindcast recalibrate their quantiles weekly
CHUNK = 1024  # origins whose offsets at every bar are computed at once
# Horizons (hours) at which quantiles are calibrated; in between they are interpolated.
BAND_HOURS = (1, 2, 3, 4, 5, 6, 8, 12, 18, 24, 36, 48, 72, 120, 168, 240, 336, 504, 720)


def expected_variance(market: Market, spec: BandSpec, pos: np.ndarray, steps: int) -> np.ndarray:
    """V[i, k - 1]: the variance of the log return over the k bars after origin i, k = 1..steps."""
    ahead = np.arange(1, steps + 1)
    profile = market.profile(pos) if spec.profile else None
    long = market.variance(pos, YEAR_DAYS, profile)
    short = market.variance(pos, spec.window_days or YEAR_DAYS, profile)
    short = np.where(np.isfinite(short), short, long)
    if spec.half_life_hours is None:
        fade = np.ones(steps)
    else:
        phi = 0.5 ** (market.interval / HOUR / spec.half_life_hours)
        fade = phi ** (ahead - 1)
    per_step = long[:, None] + (short - long)[:, None] * fade[None, :]
    if profile is not None:
        slots = market.slot_ahead(pos, ahead)
        per_step = per_step * np.take_along_axis(profile, slots, axis=1)
    return np.cumsum(per_step, axis=1)


class Band:
    """A candidate band calibrated on the errors of forecasts from `origins` (bar positions).

    `errors[h]` holds, per origin, the log error of the point forecast `h` hours ahead (NaN
    where unknown). Pools exist only at the horizons given.

    Along lead time the band never narrows: each bound's distance from the point forecast is
    its running maximum over every bar from the origin (so no calibrated horizon, mix weight or
    width bin can make a later bound tighter than an earlier one).
    """

    def __init__(
        self, spec: BandSpec, market: Market, origins: np.ndarray, errors: dict[int, np.ndarray]
    ) -> None:
        self.spec, self.market = spec, market
        self.hours = tuple(sorted(errors))
        self.pools: dict[int, Pool] = {}
        if spec.kind == "scaled":
            steps = max(self.hours) * HOUR // market.interval
            variance = expected_variance(market, spec, origins, steps)
            for h in self.hours:
                k = h * HOUR // market.interval
                spread = np.sqrt(variance[:, k - 1])
                self.pools[h] = Pool.of(
                    market.t[origins] + h * HOUR,
                    errors[h] / spread,
                    spread,
                    spec.pool_for(h),
                    bins=spec.width_bins if h <= WIDTH_BIN_HOURS else 1,
                    floor=spec.floor,
                )

    def offsets(
        self, pos: np.ndarray, lead_hours: np.ndarray, *, calibrated_at: np.ndarray | None = None
    ) -> dict[float, np.ndarray]:
        """Log offsets from the point forecast at TAUS, for origins `pos` (down) and leads
        `lead_hours` (across, whole bars). Quantiles are those known at `calibrated_at` (per
        origin; default: the start of the origin's week for scaled bands, the origin itself for
        empirical ones)."""
        pos = np.asarray(pos)
        lead_hours = np.asarray(lead_hours, dtype=np.float64)
        if calibrated_at is None:
            at = self.market.t[pos]
            if self.spec.kind == "scaled":
                at = at // RECALIBRATE * RECALIBRATE
        else:
            at = np.asarray(calibrated_at)
        # Every bar up to the longest lead, so the running maximum sees every bar between.
        bar_hours = self.market.interval / HOUR
        dense = np.union1d(
            np.arange(0.0, lead_hours.max(initial=0) + bar_hours, bar_hours), lead_hours
        )
        columns = np.searchsorted(dense, lead_hours)
        out = {tau: np.empty((len(pos), len(lead_hours))) for tau in TAUS}
        for rows in np.array_split(np.arange(len(pos)), max(1, len(pos) // CHUNK)):
            offsets = self._offsets(pos[rows], dense, at[rows])
            for tau, raw in offsets.items():
                running = np.minimum if tau < 0.5 else np.maximum
                out[tau][rows] = running.accumulate(raw, axis=1)[:, columns]
        return out

    def _offsets(
        self, pos: np.ndarray, lead_hours: np.ndarray, at: np.ndarray
    ) -> dict[float, np.ndarray]:
        """The offsets at `lead_hours` (ascending) before the running maximum."""
        if self.spec.kind == "empirical":
            # Cheap to compute exactly at each origin, as the naive forecaster does.
            return _spread(self._empirical(pos, at), self.hours, lead_hours, scale=None)
        at_origin = self.market.t[pos]
        knots = np.asarray(self.hours) * HOUR // self.market.interval
        steps = int(max(lead_hours.max() * HOUR // self.market.interval, knots.max(), 1))
        variance = expected_variance(self.market, self.spec, pos, steps)
        bars = np.maximum((lead_hours * HOUR // self.market.interval).astype(int), 1)
        spread = np.sqrt(variance[:, bars - 1]) * (lead_hours > 0)[None, :]
        quantiles = self._calibrated(at, np.sqrt(variance[:, knots - 1]))
        offsets = _spread(quantiles, self.hours, lead_hours, scale=spread)
        weight = self.spec.mix_at(lead_hours)
        if not weight.any():
            return offsets
        # Vincentization: the empirical band's offsets (calibrated at the origin itself, as
        # that band is) averaged quantile by quantile with the scaled band's.
        empirical = _spread(self._empirical(pos, at_origin), self.hours, lead_hours, None)
        return {tau: offsets[tau] * (1 - weight) + empirical[tau] * weight for tau in offsets}

    def _calibrated(self, calibrated_at: np.ndarray, spreads: np.ndarray) -> np.ndarray:
        """Per origin, horizon and tau: standardized quantiles for origins with these spreads
        at the calibrated horizons (normal ones while warming up)."""
        fallback = norm.ppf(TAUS)
        out = np.empty((len(calibrated_at), len(self.hours), len(TAUS)))
        for at in np.unique(calibrated_at):
            rows = calibrated_at == at
            for j, h in enumerate(self.hours):
                calibration = self.pools[h].calibration(int(at))
                if calibration is None:
                    out[rows, j] = fallback
                else:
                    out[rows, j] = calibration.quantiles(spreads[rows, j], self.spec.drift)
        return out

    def _empirical(self, pos: np.ndarray, calibrated_at: np.ndarray) -> np.ndarray:
        """Per origin, horizon and tau: quantiles of the year's h-step log returns known by then
        (normal quantiles of the warm-up volatility when fewer than MIN_MOVES are)."""
        out = np.empty((len(pos), len(self.hours), len(TAUS)))
        for j, h in enumerate(self.hours):
            quantiles, medians = self.market.return_quantiles(h, pos, calibrated_at)
            out[:, j] = quantiles if self.spec.drift else quantiles - medians[:, None]
        return out


def _spread(
    quantiles: np.ndarray, hours: tuple[int, ...], lead_hours: np.ndarray, scale: np.ndarray | None
) -> dict[float, np.ndarray]:
    """Offsets at `lead_hours` from quantiles at `hours` (per origin, horizon, tau).

    Scaled quantiles are standardized: interpolated between horizons, held beyond the last and
    multiplied by each lead's expected spread. Empirical ones are offsets already: linear from
    0 at lead 0 between horizons, then growing as sqrt(h).
    """
    known = np.asarray(hours, dtype=np.float64)
    leads = np.maximum(lead_hours, 0.0)
    out = {}
    for k, tau in enumerate(TAUS):
        table = quantiles[:, :, k]
        if scale is not None:
            out[tau] = _interpolate(table, known, leads) * scale
        else:
            zero = np.zeros((len(table), 1))
            inner = _interpolate(np.hstack([zero, table]), np.r_[0.0, known], leads)
            beyond = table[:, -1:] * np.sqrt(leads / known[-1])[None, :]
            out[tau] = np.where(leads[None, :] <= known[-1], inner, beyond)
    return out


def _interpolate(table: np.ndarray, known: np.ndarray, leads: np.ndarray) -> np.ndarray:
    """Each row of `table` (values at `known`) linearly at `leads`, held beyond both ends."""
    if len(known) == 1:
        return np.repeat(table[:, :1], len(leads), axis=1)
    upper = np.clip(np.searchsorted(known, leads), 1, len(known) - 1)
    lower = upper - 1
    weight = np.clip((leads - known[lower]) / (known[upper] - known[lower]), 0.0, 1.0)
    return table[:, lower] * (1 - weight) + table[:, upper] * weight
