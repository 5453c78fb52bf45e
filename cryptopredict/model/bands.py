"""Forecast bands, calibrated on past errors only (the method, `empirical` and `scaled`:
docs/model.md): the point forecast times exp(offset), a lower and an upper log offset per served
level, calibrated at BAND_HOURS and between them `along_lead`, centred on the point forecast
unless `drift`. What a candidate is: `band_spec.py`; the prices' window statistics: `market.py`;
the pools: `calibration.py`.
"""

from __future__ import annotations

import copy
import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from scipy.special import ndtri  # the normal's quantiles: scipy.stats takes seconds to import

from cryptopredict.artifact.schema import DEFAULT_LEVEL, BandSpec
from cryptopredict.model.band_spec import WIDTH_BIN_HOURS, weight_at
from cryptopredict.model.calibration import Calibration, Pool
from cryptopredict.model.har import Har
from cryptopredict.model.market import HOUR, TAUS, WEEK, YEAR_DAYS, Market
from cryptopredict.model.panel_choice import PANEL_POOL, stored_pools
from cryptopredict.postprocess import along_lead
from cryptopredict.standard_error import tails

MISS_RATE = 1 - DEFAULT_LEVEL / 100  # the 80% band's misses the adaptive step aims at
RECALIBRATE = WEEK  # the backtest and hindcast recalibrate their quantiles weekly
WEEK_DAYS = 7
CHUNK = 1024  # origins whose offsets at every bar are computed at once
# Horizons (hours) at which quantiles are calibrated; in between they are interpolated.
BAND_HOURS = (1, 2, 3, 4, 5, 6, 8, 12, 18, 24, 36, 48, 72, 120, 168, 240, 336, 504, 720)


@dataclass(frozen=True)
class Adaptive:
    """The band's adaptive step (docs/model.md): at a calibrated horizon h with step g > 0, the
    offsets at an origin are the calibrated ones times exp(g * S), S the sum over the band's
    earlier forecasts h ahead known by then of (missed - 0.2) (with `adapt_binned`, in the
    origin's own width bin). Per calibrated horizon: when each outcome was known, and g * S
    ((one longer: 0 before the first) x bins)."""

    states: list[tuple[np.ndarray, np.ndarray]]

    def log_scale(self, at: np.ndarray, bins: np.ndarray | None = None) -> np.ndarray:
        """The log scale at times `at` (down) per horizon (across), in `bins` (None: the first)."""
        which = np.zeros((len(at), len(self.states)), dtype=np.int64) if bins is None else bins
        return np.stack(
            [
                sums[np.searchsorted(known, at, "right"), which[:, k]]
                for k, (known, sums) in enumerate(self.states)
            ],
            axis=1,
        )


def tracked(
    times: np.ndarray,
    hours: tuple[int, ...],
    *,
    steps: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    errors: dict[int, np.ndarray],
    bins: np.ndarray | None = None,
) -> Adaptive:
    """The update over the origins `times`: the 80% band's unscaled log offsets (origins x
    horizons) against the point forecast's log errors (NaN: unknown)."""
    states = []
    which = np.zeros((len(times), len(hours)), dtype=np.int64) if bins is None else bins
    for k, h in enumerate(hours):
        known = times + h * 3600
        sums = np.zeros((len(times) + 1, int(which.max(initial=0)) + 1))
        if steps[k] > 0:  # S per width bin, each forecast judged by the state its origin knew
            seen = np.searchsorted(known, times, "right")
            bins_k, low, high = which[:, k], lower[:, k], upper[:, k]
            running = np.zeros(sums.shape[1])
            for j, error in enumerate(errors[h].tolist()):
                b = bins_k[j]
                if not math.isnan(error):  # known
                    scale = math.exp(steps[k] * sums[seen[j], b])
                    missed = error < low[j] * scale or error > high[j] * scale
                    running[b] += float(missed) - MISS_RATE
                sums[j + 1] = running
            sums = steps[k] * sums
        states.append((known, sums))
    return Adaptive(states)


def spreads(
    market: Market, spec: BandSpec, pos: np.ndarray, knots: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """At each origin (down) and each of `knots` bars ahead (across): the spread the band
    expects (the square root of the log return's variance over those bars, averaged in logs
    with HAR-RV's where `horizon_har` weighs it), and that spread relative to the one it would
    expect were today's variance the year's."""
    per_step, calm = _per_step(market, spec, pos, int(knots.max()))
    variance = np.cumsum(per_step, axis=1)[:, knots - 1]
    spread, relative = np.sqrt(variance), np.sqrt(variance / np.cumsum(calm, axis=1)[:, knots - 1])
    weight = weight_at(spec.horizon_har, knots * market.interval / HOUR)
    if weight.any():
        har = har_spreads(market, spec, pos, knots[weight > 0])
        ratio = np.where(np.isfinite(har), har / spread[:, weight > 0], 1.0) ** weight[weight > 0]
        spread[:, weight > 0] *= ratio
        relative[:, weight > 0] *= ratio
    return spread, relative


def har_spreads(market: Market, spec: BandSpec, pos: np.ndarray, hours: np.ndarray) -> np.ndarray:
    """HAR-RV's spread (`har.Har`, on the view and profile the band reads at each week's start)
    at each origin and lead of `hours` (an hourly pair's); NaN before its year holds enough."""
    view = market.ranged if spec.range_variance else market
    starts, at = np.unique(market.t[pos] // WEEK * WEEK, return_inverse=True)
    profiles = profile_of(market, spec, market.position(starts))
    out = np.empty((len(pos), len(hours)))
    for k, start in enumerate(starts.tolist()):
        profile = np.ones(market.slots) if profiles is None else profiles[k]
        out[at == k] = Har(view, profile, start).spread(pos[at == k], hours.tolist())
    return out


def _per_step(
    market: Market, spec: BandSpec, pos: np.ndarray, steps: int
) -> tuple[np.ndarray, np.ndarray]:
    """The variance the band expects of each of the `steps` bars after each origin, and the
    same were today's variance the year's (one profile and one year's variance for both)."""
    ahead = np.arange(1, steps + 1)
    market, profile, long, short = _variances(market, spec, pos)
    if spec.half_life_hours is None:
        fade = np.ones(steps)
    else:
        phi = 0.5 ** (market.interval / HOUR / spec.half_life_hours)
        fade = phi ** (ahead - 1)
    per_step = long[:, None] + (short - long)[:, None] * fade[None, :]
    if spec.fast_half_life_hours is not None:
        bars = spec.fast_half_life_hours * HOUR / market.interval
        fast = market.ewma_variance(pos, bars, profile, robust=spec.robust_variance)
        weight = 1.0 if spec.fast_weight is None else spec.fast_weight
        per_step += weight * (fast - short)[:, None] * (0.5 ** ((ahead - 1) / bars))[None, :]
    calm = np.repeat(long[:, None], steps, axis=1)
    if profile is not None:
        slots = (market.slot[pos][:, None] + ahead[None, :]) % market.slots
        shape = np.take_along_axis(profile, slots, axis=1)
        per_step, calm = per_step * shape, calm * shape
    return per_step, calm


def profile_of(market: Market, spec: BandSpec, pos: np.ndarray) -> np.ndarray | None:
    """The band's hour-of-week profile at each origin (mean 1), at its strength
    (`profile_power`); None where the band follows none."""
    if not spec.profile:
        return None
    market = market.ranged if spec.range_variance else market
    profile = market.profile(pos, factored=spec.profile_factored)
    if spec.profile_power is None:
        return profile
    weaker = profile**spec.profile_power
    return weaker / weaker.mean(axis=1, keepdims=True)


def short_variance(
    market: Market,
    spec: BandSpec,
    pos: np.ndarray,
    profile: np.ndarray | None,
    long: np.ndarray,
) -> np.ndarray:
    """Today's (deseasonalized) variance per bar at each origin, as the band expects it: over the
    last `window_days`, a window shorter than a week averaged with the week's (docs/model.md
    says why); the year's when unknown."""
    days = spec.window_days or YEAR_DAYS
    robust = spec.robust_variance
    short = market.variance(pos, days, profile, robust=robust)
    if days < WEEK_DAYS:
        short = (short + market.variance(pos, WEEK_DAYS, profile, robust=robust)) / 2
    return np.where(np.isfinite(short), short, long)


def variance_ratio(market: Market, spec: BandSpec, pos: np.ndarray) -> np.ndarray:
    """The band's own ratio of today's variance to the year's at each origin (1 for the
    empirical band, which has none)."""
    if spec.kind != "scaled":
        return np.ones(len(pos))
    _, _, long, short = _variances(market, spec, pos)
    return short / long


def _variances(
    market: Market, spec: BandSpec, pos: np.ndarray
) -> tuple[Market, np.ndarray | None, np.ndarray, np.ndarray]:
    """The market's view the band reads (`Market.ranged`), its profile, the year's and today's."""
    market = market.ranged if spec.range_variance else market
    profile = profile_of(market, spec, pos)
    long = market.variance(pos, YEAR_DAYS, profile)
    return market, profile, long, short_variance(market, spec, pos, profile, long)


PoolInputs = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
# At origins (bar positions) and knots (bars ahead): a spread and that spread relative to the
# year's, as `spreads` gives the band's own (or another forecast's, calibrated the band's way).
Spreads = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def pool_inputs(
    spread_of: Spreads, market: Market, origins: np.ndarray, errors: dict[int, np.ndarray]
) -> dict[int, PoolInputs]:
    """Per horizon of `errors`, what a scaled band's pool holds of the forecasts from `origins`:
    when each outcome was known, the error over the spread the band expected for it, that
    spread, and that spread relative to the year's (`spread_of`: the band's `spreads`)."""
    hours = sorted(errors)
    spread, relative = spread_of(origins, np.asarray(hours) * HOUR // market.interval)
    return {
        h: (market.t[origins] + h * HOUR, errors[h] / spread[:, j], spread[:, j], relative[:, j])
        for j, h in enumerate(hours)
    }


def _week_starts(market: Market, pos: np.ndarray) -> np.ndarray:
    """When a scaled band at these origins was last calibrated."""
    return market.t[pos] // RECALIBRATE * RECALIBRATE


def bounds(
    centre: np.ndarray, offsets: Mapping[float, np.ndarray], level: int
) -> tuple[np.ndarray, np.ndarray]:
    """The `level`% band's lower and upper bounds in price from log offsets by tau."""
    low, high = tails(level)
    return centre * np.exp(offsets[low]), centre * np.exp(offsets[high])


class Calibrated(Protocol):
    """A pool, or a pool's calibrations as stored: its quantiles at a time."""

    def calibration(self, at: int) -> Calibration | None: ...


class Band:
    """A candidate band calibrated on the errors of forecasts from `origins` (bar positions):
    `errors[h]`, per origin, the log error of the point forecast `h` hours ahead (NaN where
    unknown); pools only at those horizons."""

    def __init__(
        self,
        spec: BandSpec,
        market: Market,
        origins: np.ndarray,
        errors: dict[int, np.ndarray],
        shared: Mapping[int, Calibrated] | None = None,
        *,
        spread_of: Spreads | None = None,
    ) -> None:
        """`shared`: the panel's pools, by horizon, where `spec` calibrates on them; `spread_of`:
        the spread calibrated, where not the band's own (`spreads`)."""
        self.spec, self.market = spec, market
        self.spread_of = spread_of or functools.partial(spreads, market, spec)
        self.hours = tuple(sorted(errors))
        self.pools: dict[int, Calibrated] = {}
        self.adaptive: Adaptive | None = None
        if spec.kind != "scaled":
            return
        if shared is None and any(spec.shared_for(h) for h in self.hours):
            shared = stored_pools()
        own = {h: errors[h] for h in self.hours if not spec.shared_for(h)}  # its own pools'
        inputs = pool_inputs(self.spread_of, market, origins, own) if own else {}
        for h, (known_at, values, spread, _) in inputs.items():
            bins = spec.width_bins if h <= WIDTH_BIN_HOURS else 1
            self.pools[h] = Pool(
                known_at, values, spread, spec.pool_for(h), bins=bins, floor=spec.floor
            )
        for h in set(self.hours) - set(own):
            if shared is None or h not in shared:
                raise ValueError(
                    f"the band calibrates at {h} h on the panel's shared pool, which "
                    f"{PANEL_POOL.name} does not hold: run `make panel`"
                )
            self.pools[h] = shared[h]
        steps = np.array([spec.adapt_for(h) for h in self.hours])
        if steps.any():
            chunks = np.array_split(origins, max(1, len(origins) // CHUNK))
            found = [self._base_knots(pos, _week_starts(market, pos)) for pos in chunks]
            knots = np.concatenate([knots for knots, _ in found])
            low, high = (TAUS.index(tau) for tau in tails(DEFAULT_LEVEL))
            times = market.t[origins]
            self.adaptive = tracked(
                times,
                self.hours,
                steps=steps,
                lower=knots[:, :, low],
                upper=knots[:, :, high],
                errors=errors,
                bins=np.concatenate([bins for _, bins in found]),
            )

    def at_hours(self, hours: Sequence[int]) -> Band:
        """The band calibrated at `hours` (some of its own) alone: what a band built on the
        errors at those horizons is, each horizon's pool and adaptive state being its own."""
        band = copy.copy(self)
        band.hours = tuple(hours)
        band.pools = {h: self.pools[h] for h in hours if h in self.pools}
        if self.adaptive is not None:
            band.adaptive = Adaptive([self.adaptive.states[self.hours.index(h)] for h in hours])
        return band

    def adapted_scale(self, at: int) -> tuple[tuple[int, float], ...]:
        """The adaptive step's scale at time `at` per calibrated horizon, of the width bin the
        band is in then where its state is kept per bin (none: no step)."""
        if self.adaptive is None:
            return ()
        pos = self.market.position(np.array([at]))
        _, bins = self._base_knots(pos, _week_starts(self.market, pos))
        scale = np.exp(self.adaptive.log_scale(np.array([at]), bins)[0])
        return tuple((h, float(value)) for h, value in zip(self.hours, scale, strict=True))

    def offsets(
        self, pos: np.ndarray, lead_hours: np.ndarray, *, calibrated_at: np.ndarray | None = None
    ) -> dict[float, np.ndarray]:
        """Log offsets from the point forecast at TAUS, for origins `pos` (down) and leads
        `lead_hours` (across). Quantiles are those known at `calibrated_at` (per origin;
        default: the start of the origin's week for scaled bands, the origin itself for
        empirical ones); between the calibrated horizons, `along_lead`."""
        pos = np.asarray(pos)
        lead_hours = np.asarray(lead_hours, dtype=np.float64)
        if calibrated_at is None:
            at = (
                _week_starts(self.market, pos) if self.spec.kind == "scaled" else self.market.t[pos]
            )
        else:
            at = np.asarray(calibrated_at)
        out = {tau: np.empty((len(pos), len(lead_hours))) for tau in TAUS}
        for rows in np.array_split(np.arange(len(pos)), max(1, len(pos) // CHUNK)):
            knots = self._at_knots(pos[rows], at[rows])
            for k, tau in enumerate(TAUS):
                upper = tau > 0.5
                out[tau][rows] = along_lead(knots[:, :, k], self.hours, lead_hours, upper=upper)
        return out

    def _at_knots(self, pos: np.ndarray, at: np.ndarray) -> np.ndarray:
        """Per origin, calibrated horizon and tau: the offsets there, scaled by the adaptive
        step's state at the origin where the band adapts."""
        knots, bins = self._base_knots(pos, at)
        if self.adaptive is None:
            return knots
        return knots * np.exp(self.adaptive.log_scale(self.market.t[pos], bins))[:, :, None]

    def _base_knots(self, pos: np.ndarray, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`_at_knots` before the adaptive step, and each origin's width bin per horizon where
        the adaptive step keeps its state per bin (else 0)."""
        bins = np.zeros((len(pos), len(self.hours)), dtype=np.int64)
        if self.spec.kind == "empirical":
            # Cheap to compute exactly at each origin, as the naive forecaster does.
            return self._empirical(pos, at), bins
        knots = np.asarray(self.hours) * HOUR // self.market.interval
        spread, relative = self.spread_of(pos, knots)
        shared = np.array([self.spec.shared_for(h) for h in self.hours])
        calibrated, bins = self._calibrated(at, np.where(shared, relative, spread))
        offsets = calibrated * spread[:, :, None]
        weight = weight_at(self.spec.horizon_mix, np.asarray(self.hours, dtype=np.float64))
        # Vincentization: the empirical band's offsets (calibrated at the origin itself, as
        # that band is) averaged quantile by quantile with the scaled band's where it weighs.
        mixed = np.flatnonzero(weight)
        empirical = self._empirical(pos, self.market.t[pos], mixed)
        w = weight[mixed][None, :, None]
        offsets[:, mixed] = offsets[:, mixed] * (1 - w) + empirical * w
        return offsets, bins

    def _calibrated(
        self, calibrated_at: np.ndarray, spreads: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per origin, horizon and tau: standardized quantiles for origins with these spreads
        at the calibrated horizons (relative ones where the pool is shared; normal quantiles
        while warming up); and per origin and horizon the width bin, where the adaptive step
        keeps its state per bin (else 0)."""
        fallback = ndtri(TAUS)
        out = np.empty((len(calibrated_at), len(self.hours), len(TAUS)))
        bins = np.zeros((len(calibrated_at), len(self.hours)), dtype=np.int64)
        binned = [self.spec.adapt_binned and h <= WIDTH_BIN_HOURS for h in self.hours]
        for at in np.unique(calibrated_at):
            rows = calibrated_at == at
            for j, h in enumerate(self.hours):
                calibration = self.pools[h].calibration(int(at))
                if calibration is None:
                    out[rows, j] = fallback
                else:
                    out[rows, j] = calibration.quantiles(spreads[rows, j], self.spec.drift)
                    if binned[j]:
                        bins[rows, j] = np.searchsorted(calibration.edges, spreads[rows, j])
        return out, bins

    def _empirical(
        self, pos: np.ndarray, calibrated_at: np.ndarray, which: np.ndarray | None = None
    ) -> np.ndarray:
        """Per origin, horizon (`which` of the calibrated ones: default all) and tau: quantiles
        of the year's h-step log returns known by then (normal quantiles of the warm-up
        volatility when fewer than MIN_MOVES are)."""
        hours = self.hours if which is None else [self.hours[j] for j in which]
        out = np.empty((len(pos), len(hours), len(TAUS)))
        for j, h in enumerate(hours):
            quantiles, medians = self.market.return_quantiles(h, pos, calibrated_at)
            out[:, j] = quantiles if self.spec.drift else quantiles - medians[:, None]
        return out
