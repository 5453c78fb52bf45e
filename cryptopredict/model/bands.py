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

Warm-up, for the first rows of the hindcast: an origin with fewer than `MIN_RETURNS` returns
before it takes its volatility from the first `MIN_RETURNS` returns of the history (the only
use of later data, confined to those first rows), and an origin whose calibration pool holds
fewer than `MIN_POOL` errors uses standard normal quantiles in place of the calibrated ones.
"""

from __future__ import annotations

import bisect
import functools
import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy.stats import norm

from cryptopredict.artifact.schema import LEVELS, BandSetting
from cryptopredict.model.scores import tails

HOUR = 3600
DAY = 24 * HOUR
WEEK = 7 * DAY
YEAR_DAYS = 365
MIN_RETURNS = 24  # returns an origin needs before its own volatility is used
MIN_MOVES = 30  # h-step returns the empirical band needs before its quantiles are used
MIN_POOL = 100  # errors a calibration pool needs before its quantiles are used
PROFILE_PRIOR = 4  # observations of the mean shrinking each slot of the profile
RECALIBRATE = WEEK  # the backtest and hindcast recalibrate their quantiles weekly
# Mondrian calibration by band width applies up to this horizon: beyond it a year of origins
# 7 hours apart holds too few independent outcomes per width bin (fewer than 70 per fifth).
WIDTH_BIN_HOURS = 24
WIDTH_BINS = 5  # the scaled candidates calibrate within fifths of band width
FLOOR = 0.1  # ... and keep the spread above the pool's calmest tenth
CHUNK = 1024  # origins whose offsets at every bar are computed at once
# Horizons (hours) at which quantiles are calibrated; in between they are interpolated.
BAND_HOURS = (1, 2, 3, 4, 5, 6, 8, 12, 18, 24, 36, 48, 72, 120, 168, 240, 336, 504, 720)
TAUS = tuple(sorted(p for level in LEVELS for p in tails(level)))


@dataclass(frozen=True)
class BandSpec:
    kind: str  # "empirical" or "scaled"
    window_days: float | None = None  # scaled: the short volatility window
    half_life_hours: float | None = None  # scaled: None keeps the short volatility for ever
    profile: bool = False  # scaled: follow the hour-of-week volatility profile
    drift: bool = False  # keep the median of past returns / errors in the band
    pool_days: int | None = 365  # scaled: calibrate on errors known in these days (None: all)
    # scaled: (hours, days) pairs, hours ascending, overriding `pool_days` per horizon: each
    # calibrated horizon takes the days of the first pair whose hours reach it (`pool_for`).
    horizon_pools: tuple[tuple[int, int | None], ...] = ()
    # scaled: (hours, weight) pairs, hours ascending: the band's quantiles averaged with the
    # empirical band's (Vincentization) with this weight on the empirical band at each
    # calibrated horizon, linear in lead between them and held beyond (`mix_at`).
    horizon_mix: tuple[tuple[int, float], ...] = ()
    # scaled: calibrate separately within this many bins of the band's width (Mondrian), at
    # the calibrated horizons up to WIDTH_BIN_HOURS; 1: one pool for every width.
    width_bins: int = 1
    # scaled: the band's spread at each calibrated horizon is at least this quantile of the
    # spreads in its calibration pool (None: no floor): today's band is never narrower than
    # the calm periods of the pool's year were.
    floor: float | None = None

    def mix_at(self, lead_hours: np.ndarray) -> np.ndarray:
        """The weight of the empirical band at each lead (0: the scaled band alone)."""
        if not self.horizon_mix:
            return np.zeros(len(lead_hours))
        hours, weights = zip(*self.horizon_mix, strict=True)
        return np.interp(lead_hours, hours, weights)

    def pool_for(self, hours: float) -> int | None:
        """How many days of errors calibrate the quantiles at `hours` ahead (None: all)."""
        for reach, days in self.horizon_pools:
            if hours <= reach:
                return days
        return self.pool_days

    @property
    def name(self) -> str:
        if self.kind == "empirical":
            parts = ["empirical returns, 365 days"]
        else:
            fades = (
                "never fades"
                if self.half_life_hours is None
                else f"half-life {self.half_life_hours:g} h"
            )
            parts = [f"scaled: {self.window_days:g}-day volatility, {fades}"]
            if self.profile:
                parts.append("hour-of-week profile")
            if self.horizon_pools:
                per = (f"{_pool(days)} at {_horizon(reach)}" for reach, days in self.horizon_pools)
                parts.append(f"calibrated on {', '.join(per)}")
            else:
                parts.append(f"calibrated on {_pool(self.pool_days)}")
            if self.width_bins > 1:
                parts.append(
                    f"calibrated within {self.width_bins} width bins up to "
                    f"{_horizon(WIDTH_BIN_HOURS)}"
                )
            if self.floor is not None:
                parts.append(f"spread floored at the pool's {self.floor:.0%} quantile")
            if any(weight for _, weight in self.horizon_mix):
                per = (f"{_weight(w)} at {_horizon(reach)}" for reach, w in self.horizon_mix)
                parts.append(f"empirical band's quantiles averaged in: {', '.join(per)}")
        parts.append("with drift" if self.drift else "no drift")
        return ", ".join(parts)

    def to_dict(self) -> dict:
        return {**asdict(self), "name": self.name}

    def setting(self) -> BandSetting:
        """As the artifact records it."""
        return BandSetting(**self.to_dict())

    @classmethod
    def from_setting(cls, setting: BandSetting) -> BandSpec:
        """The spec of a recorded setting (a candidate's too: its scores are ignored)."""
        return cls.from_dict(setting.to_builtins())

    @classmethod
    def from_dict(cls, data: dict) -> BandSpec:
        fields = {key: data[key] for key in cls.__dataclass_fields__ if key in data}
        if "horizon_pools" in fields:  # JSON gives lists
            fields["horizon_pools"] = tuple((int(h), d) for h, d in fields["horizon_pools"])
        if "horizon_mix" in fields:
            fields["horizon_mix"] = tuple((int(h), float(w)) for h, w in fields["horizon_mix"])
        return cls(**fields)


def _pool(days: int | None) -> str:
    return "all past errors" if days is None else f"{days}-day errors"


def _weight(weight: float) -> str:
    return {0.0: "none", 1.0: "all"}.get(weight, f"{weight:.0%}")


def _horizon(hours: int) -> str:
    return f"{hours // 24}d" if hours % 24 == 0 else f"{hours}h"


NAIVE_BAND = BandSpec("empirical", drift=True)
# The band trained without a backtest (`--no-backtest`) on bars the panel's band is not for
# (`panel_band.py`: hourly bars serve the panel's).
DEFAULT_BAND = BandSpec(
    "scaled", window_days=1, half_life_hours=24, profile=True, width_bins=WIDTH_BINS, floor=FLOOR
)


def candidates(
    windows: tuple[float, ...] = (1, 7, 30),
    half_lives: tuple[float | None, ...] = (24, 168, 720, None),
) -> list[BandSpec]:
    """The drift-free candidates: the empirical band, and every scaled combination."""
    specs = [BandSpec("empirical")]
    for profile in (False, True):
        specs.append(
            BandSpec("scaled", YEAR_DAYS, None, profile, width_bins=WIDTH_BINS, floor=FLOOR)
        )
        specs += [
            BandSpec("scaled", window, half_life, profile, width_bins=WIDTH_BINS, floor=FLOOR)
            for window in windows
            for half_life in half_lives
        ]
    return specs


class Market:
    """One price series' log closes and returns, with fast window statistics per weekly slot."""

    def __init__(self, seconds: np.ndarray, log_price: np.ndarray, interval: int) -> None:
        self.t = np.asarray(seconds, dtype=np.int64)
        self.log_price = np.asarray(log_price, dtype=np.float64)
        self.interval = int(interval)
        self.slots = WEEK // interval if WEEK % interval == 0 and interval < WEEK else 1
        self.slot = (self.t // interval) % self.slots
        returns = np.diff(self.log_price, prepend=np.nan)
        step = np.diff(self.t, prepend=self.t[0] - 2 * interval)
        returns[step != interval] = np.nan  # across a gap: not one bar's move
        self.returns = returns
        valid = np.isfinite(returns)
        self._known = np.concatenate([[0], np.cumsum(valid)])  # valid returns before position
        squares = np.where(valid, returns**2, 0.0)
        sizes = np.where(valid, np.abs(returns), 0.0)
        # Per slot: the positions of its bars, and running sums of |r|, r^2 and counts.
        self._slot_pos, self._slot_abs, self._slot_sq, self._slot_n = [], [], [], []
        for slot in range(self.slots):
            where = np.flatnonzero(self.slot == slot)
            self._slot_pos.append(where)
            self._slot_abs.append(np.concatenate([[0.0], np.cumsum(sizes[where])]))
            self._slot_sq.append(np.concatenate([[0.0], np.cumsum(squares[where])]))
            self._slot_n.append(np.concatenate([[0], np.cumsum(valid[where])]))
        first = np.flatnonzero(valid)[:MIN_RETURNS]
        self.warmup_variance = float(np.mean(returns[first] ** 2)) if len(first) else 1e-4
        self._quantiles: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}

    def position(self, seconds: np.ndarray) -> np.ndarray:
        """The index of the last bar at or before each time (-1 before the first)."""
        return np.searchsorted(self.t, np.asarray(seconds, dtype=np.int64), "right") - 1

    def _slot_sums(self, start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, ...]:
        """Per query and slot: sums of |r|, r^2 and counts over bar positions (start, end]."""
        shape = (len(end), self.slots)
        sizes, squares, counts = np.zeros(shape), np.zeros(shape), np.zeros(shape)
        for slot in range(self.slots):
            where = self._slot_pos[slot]
            hi = np.searchsorted(where, end, "right")
            lo = np.searchsorted(where, start, "right")
            sizes[:, slot] = self._slot_abs[slot][hi] - self._slot_abs[slot][lo]
            squares[:, slot] = self._slot_sq[slot][hi] - self._slot_sq[slot][lo]
            counts[:, slot] = self._slot_n[slot][hi] - self._slot_n[slot][lo]
        return sizes, squares, counts

    def _window_start(self, pos: np.ndarray, days: float) -> np.ndarray:
        return self.position(self.t[pos] - int(days * DAY))

    def profile(self, pos: np.ndarray) -> np.ndarray:
        """Each origin's volatility profile over weekly slots (mean 1), from the past year."""
        sizes, _, counts = self._slot_sums(self._window_start(pos, YEAR_DAYS), pos)
        overall = sizes.sum(axis=1, keepdims=True) / np.maximum(
            counts.sum(axis=1, keepdims=True), 1
        )
        shrunk = (sizes + PROFILE_PRIOR * overall) / (counts + PROFILE_PRIOR)
        profile = (shrunk / np.where(overall > 0, overall, 1.0)) ** 2
        profile[counts.sum(axis=1) < MIN_RETURNS] = 1.0
        return profile / profile.mean(axis=1, keepdims=True)

    def variance(self, pos: np.ndarray, days: float, profile: np.ndarray | None) -> np.ndarray:
        """The (deseasonalized) mean squared return per bar over the `days` before each origin."""
        _, squares, counts = self._slot_sums(self._window_start(pos, days), pos)
        weights = 1.0 if profile is None else 1.0 / profile
        total = counts.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            value = (squares * weights).sum(axis=1) / total
        warm = self._known[pos + 1] >= MIN_RETURNS
        return np.where(warm, value, self.warmup_variance)

    def moves(self, hours: int) -> np.ndarray:
        """The log return over the next `hours` from each bar (NaN where that bar is missing)."""
        later = self.t + hours * HOUR
        at = np.minimum(np.searchsorted(self.t, later), len(self.t) - 1)
        return np.where(self.t[at] == later, self.log_price[at] - self.log_price, np.nan)

    def return_quantiles(
        self, hours: int, pos: np.ndarray, known_by: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Quantiles at TAUS and the median of every `hours`-step log return of the year before
        each origin `pos` that had played out by `known_by` (origins in time order); normal
        quantiles of the warm-up volatility where fewer than MIN_MOVES had."""
        key = (hours, pos.tobytes(), np.asarray(known_by).tobytes())
        if key not in self._quantiles:
            moves = self.moves(hours)
            reach = self.position(self.t - hours * HOUR)  # the latest start known at each bar
            cutoff = np.minimum(self.position(known_by), pos)
            lo = self._window_start(pos, YEAR_DAYS) + 1
            quantiles, medians, counts = sliding_quantiles(moves, lo, reach[cutoff] + 1)
            cold = counts < MIN_MOVES
            steps = hours * HOUR / self.interval
            spread = np.sqrt(self.variance(pos[cold], YEAR_DAYS, None) * steps)
            quantiles[cold] = spread[:, None] * norm.ppf(TAUS)[None, :]
            medians[cold] = 0.0
            self._quantiles[key] = (quantiles, medians)
        return self._quantiles[key]

    def slot_ahead(self, pos: np.ndarray, steps: np.ndarray) -> np.ndarray:
        """The weekly slot `steps` bars after each origin (origins down, steps across)."""
        return (self.t[pos][:, None] // self.interval + steps[None, :]) % self.slots


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


@dataclass(frozen=True)
class Calibration:
    """One pool's quantiles at one time: per width bin, and the spread floor."""

    tables: np.ndarray  # (bins, len(TAUS) + 1): quantiles at TAUS, then the median
    edges: np.ndarray  # (bins - 1,): the spreads between bins, ascending
    floor: float  # the narrowest spread served (0: no floor)

    def quantiles(self, spread: np.ndarray, drift: bool) -> np.ndarray:
        """Standardized quantiles at TAUS for origins with these spreads (origins down): their
        width bin's, scaled up where the spread is below the floor."""
        table = self.tables[np.searchsorted(self.edges, spread)]
        quantiles = table[:, :-1] if drift else table[:, :-1] - table[:, -1:]
        with np.errstate(divide="ignore", invalid="ignore"):
            lift = np.where(spread > 0, np.maximum(1.0, self.floor / spread), 1.0)
        return quantiles * lift[:, None]


@dataclass
class Pool:
    """Standardized errors at one horizon and the spreads they were standardized by, ordered by
    when their outcome became known."""

    known_at: np.ndarray
    values: np.ndarray
    spreads: np.ndarray
    days: int | None
    bins: int
    floor: float | None
    _tables: dict[int, Calibration | None]

    @classmethod
    def of(
        cls,
        known_at: np.ndarray,
        values: np.ndarray,
        spreads: np.ndarray,
        days: int | None,
        *,
        bins: int = 1,
        floor: float | None = None,
    ) -> Pool:
        keep = np.isfinite(values) & np.isfinite(spreads)
        order = np.argsort(known_at[keep], kind="stable")
        take = functools.partial(_ordered, keep, order)
        return cls(take(known_at), take(values), take(spreads), days, bins, floor, {})

    def calibration(self, at: int) -> Calibration | None:
        """The quantiles of the errors known by `at` within the pool's days; None when fewer
        than MIN_POOL are. Width bins are the pool's own spread quantiles, used only when every
        bin holds MIN_POOL errors."""
        if at not in self._tables:
            count = int(np.searchsorted(self.known_at, at, "right"))
            first = 0
            if self.days is not None:
                first = int(np.searchsorted(self.known_at, at - self.days * DAY, "right"))
            self._tables[at] = self._calibrate(first, count)
        return self._tables[at]

    def _calibrate(self, first: int, count: int) -> Calibration | None:
        if count - first < MIN_POOL:
            return None
        values, spreads = self.values[first:count], self.spreads[first:count]
        probabilities = (*TAUS, 0.5)
        bins = self.bins if count - first >= MIN_POOL * self.bins else 1
        edges = np.quantile(spreads, np.arange(1, bins) / bins) if bins > 1 else np.empty(0)
        which = np.searchsorted(edges, spreads)
        tables = np.array([np.quantile(values[which == b], probabilities) for b in range(bins)])
        floor = 0.0 if self.floor is None else float(np.quantile(spreads, self.floor))
        return Calibration(tables, edges, floor)


def _ordered(keep: np.ndarray, order: np.ndarray, values: np.ndarray) -> np.ndarray:
    return values[keep][order]


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


def sliding_quantiles(
    values: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Quantiles at TAUS, medians and counts of the finite `values[lo[i]:hi[i]]`, for windows
    whose ends never move back (as np.quantile's default, linear between order statistics)."""
    window: list[float] = []
    start, end = 0, 0
    taus = np.asarray((*TAUS, 0.5))
    quantiles = np.full((len(lo), len(taus)), np.nan)
    counts = np.zeros(len(lo), dtype=np.int64)
    for i, (want_first, want_stop) in enumerate(zip(lo, hi, strict=True)):
        stop = max(int(want_stop), end)
        first = min(max(int(want_first), start), stop)
        for value in values[end:stop]:
            if math.isfinite(value):
                bisect.insort(window, value)
        for value in values[start:first]:
            if math.isfinite(value):
                del window[bisect.bisect_left(window, value)]
        start, end = first, stop
        n = len(window)
        counts[i] = n
        if n:
            at = (n - 1) * taus
            below = np.floor(at).astype(int)
            above = np.minimum(below + 1, n - 1)
            low = np.array([window[k] for k in below])
            high = np.array([window[k] for k in above])
            quantiles[i] = low + (high - low) * (at - below)
    return quantiles[:, :-1], quantiles[:, -1].copy(), counts


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
