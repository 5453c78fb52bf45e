"""The peers the panel holds the served band against (`tools/peers.py`), each an 80% band of log
offsets from the last close on one pair's hourly bars, reading the served band's own seasonal
profile (`bands.profile_of`) at each week's start, when its parameters are refitted: GARCH(1,1)-t
(simulated beyond an hour), GARCH-t with normal quantiles, an EWMA, filtered historical simulation,
HAR-RV with its intraday cascade (`cryptopredict.model.har`) with normal and with empirical
quantiles, and range-GARCH with empirical quantiles (docs/model.md, "What each peer sees"); the
last two at the settings the validation origins chose (`Settings`, `tools/candidates.py`). Known
by the origin only; the simulation is seeded by the pair and the week alone, so the panel is the
same on any cluster.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from arch import arch_model
from arch.utility.exceptions import StartingValueWarning
from numpy.polynomial.chebyshev import chebpts1
from scipy.interpolate import BarycentricInterpolator
from scipy.optimize import minimize
from scipy.signal import lfilter
from scipy.stats import norm, t

from cryptopredict.artifact.schema import DEFAULT_LEVEL, BandSpec
from cryptopredict.model.bands import profile_of
from cryptopredict.model.har import HAR_HOURS, Har
from cryptopredict.model.market import DAY, HOUR, WEEK, YEAR_DAYS, Market
from cryptopredict.standard_error import tails

PEERS = ("garch-t", "garch-t-normal", "ewma", "fhs", "har-rv", "har-rv-empirical", "range-garch")
EWMA_HALF_LIFE_HOURS = 24
SCALE = 100.0  # returns in percent, as arch prefers
# GARCH-t's simulated paths per week, in batches (reach in hours, paths): 4,000 reach a day and
# 2,000 a week (`paths_at`); the panel says their Monte Carlo error against its standard errors.
BATCHES = ((168, 2000), (24, 2000))
NODES = 4  # the starting variances a week's paths are run from (`Week._paths`)

Offsets = dict[str, tuple[np.ndarray, np.ndarray]]  # peer -> (lower, upper): origins x hours


@dataclass(frozen=True)
class Settings:
    """The full-strength peers' settings, chosen on the validation origins (`candidates.py`):
    HAR-RV on each hour's range (Parkinson) or squared return, with the intraday cascade or the
    day, week and month alone; range-GARCH with the squared return beside the range or not."""

    har_ranges: bool = True
    har_windows: tuple[int, ...] = HAR_HOURS
    garch_returns: bool = False


class Profiled:
    """One pair's bars read at one week's start: the band's profile then (`spec`'s, or flat),
    and the spread a variance flat over it, or fading as a GARCH's, expects."""

    def __init__(self, market: Market, start: int, spec: BandSpec) -> None:
        self.market, self.start = market, start
        begin = market.position(np.array([start]))
        found = profile_of(market, spec, begin)  # the profile `spec`'s band reads (or flat)
        self.profile = np.ones(market.slots) if found is None else found[0]
        self.begin = int(begin[0])
        self.first = int(market.position(np.array([start - YEAR_DAYS * DAY]))[0]) + 1

    def flat_spread(self, pos: np.ndarray, next_variance: np.ndarray, hours: int) -> np.ndarray:
        return self.fading_spread(pos, next_variance, hours, 0.0, 1.0)

    def fading_spread(
        self,
        pos: np.ndarray,
        next_variance: np.ndarray,
        hours: int,
        omega: float,
        persistence: float,
    ) -> np.ndarray:
        """The log spread over the `hours` after each of `pos` of a variance that is
        `next_variance` (deseasonalised, in percent squared) at the next hour and each hour
        after omega plus `persistence` times the one before, times the profile."""
        steps = hours * HOUR // self.market.interval
        decay = persistence ** np.arange(steps)  # the k-th hour ahead: persistence^(k-1)
        build = np.concatenate([[0.0], np.cumsum(decay)[:-1]])  # sum of persistence^j, j < k-1
        shape = self._shapes(steps)
        total = next_variance * (shape @ decay)[self.market.slot[pos]]
        total += omega * (shape @ build)[self.market.slot[pos]]
        return np.sqrt(total) / SCALE

    def _shapes(self, steps: int) -> np.ndarray:
        """Per weekly slot of an origin (down), the profile of each hour ahead (across)."""
        slots = np.arange(self.market.slots)
        return self.profile[(slots[:, None] + np.arange(1, steps + 1)[None, :]) % self.market.slots]

    def valid(self, last: int) -> np.ndarray:
        """The positions of the valid returns from the year before the start to `last`."""
        index = np.arange(self.first, last + 1)
        return index[np.isfinite(self.market.returns[index])]

    def har(self, settings: Settings) -> Har:
        """HAR-RV fitted at the start on the profile, at `settings`."""
        view = self.market.ranged if settings.har_ranges else self.market
        return Har(view, self.profile, self.start, settings.har_windows)


class RangeGarch:
    """Range-GARCH (Molnar 2016) on one week's year, each hour deseasonalised by the profile:
    the next hour's variance omega + alpha q + beta h (+ gamma r^2 with `returns`), q the hour's
    Parkinson range variance and r its return, fitted by Gaussian quasi-likelihood on the year's
    returns (from `guess`, the week before's, where given); ahead, the range's mean share of the
    variance (lambda) makes its persistence alpha lambda + beta (+ gamma)."""

    def __init__(self, week: Profiled, last: int, returns: bool, guess: np.ndarray | None) -> None:
        market, self.week = week.market, week
        self.index = week.valid(last)
        scale = SCALE**2 / week.profile[market.slot[self.index]]
        r2, q = (
            market.returns[self.index] ** 2 * scale,
            market.ranged.sizes[self.index] ** 2 * scale,
        )
        fitted = self.index <= week.begin
        start = float(np.mean(r2[fitted]))

        def variances(p: np.ndarray, upto: int | None = None) -> np.ndarray:
            news = p[1] * q[:upto] + (p[3] * r2[:upto] if returns else 0.0)
            return _recursion(news, p[0], 1.0, p[2], start)

        def loss(p: np.ndarray) -> float:
            h = variances(p, int(fitted.sum()))
            return float(np.mean(np.log(h) + r2[fitted] / h))

        first = np.array([0.05 * start, 0.1, 0.85, 0.02][: 3 + returns])
        bounds = [(1e-6 * start, 10 * start), (1e-6, 1.0), (0.0, 0.9999), (0.0, 1.0)]
        self.params = minimize(
            loss, first if guess is None else guess, method="L-BFGS-B", bounds=bounds[: 3 + returns]
        ).x
        omega, alpha, beta = self.params[:3]
        h = variances(self.params)
        share = float(np.mean(q[fitted] / h[fitted]))
        self.omega, self.persistence = (
            omega,
            min(alpha * share + beta + self.params[3:].sum(), 0.9999),
        )
        self.next = omega + alpha * q + beta * h + (self.params[3] * r2 if returns else 0.0)

    def spread(self, pos: np.ndarray, hours: int) -> np.ndarray:
        at = np.searchsorted(self.index, pos, "right") - 1
        return self.week.fading_spread(pos, self.next[at], hours, self.omega, self.persistence)


class Week(Profiled):
    """One week's fits: the year's deseasonalised returns before its start and up to its last
    origin, GARCH-t's parameters from the year, and both filters over every valid return."""

    params: np.ndarray  # GARCH-t's, as arch orders them

    def __init__(
        self, market: Market, start: int, last: int, spec: BandSpec, guess: Week | None = None
    ) -> None:
        """`guess`: the week before, whose parameters start the fit's search (the same optimum,
        in half the iterations; arch's own start where they are not admissible)."""
        super().__init__(market, start, spec)
        index = self.valid(last)
        self.index = index  # positions of the valid returns, in order
        z = SCALE * market.returns[index] / np.sqrt(self.profile[market.slot[index]])
        fitted = index <= self.begin
        model = arch_model(z[fitted], mean="Zero", vol="GARCH", p=1, q=1, dist="t")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StartingValueWarning)
            params = model.fit(disp="off", starting_values=guess.params if guess else None).params
        self.params = params.to_numpy()
        self.omega, self.alpha, self.beta = (float(params[k]) for k in ("omega", "alpha[1]",
                                                                        "beta[1]"))  # fmt: skip
        self.nu = float(params["nu"])
        self.fitted = fitted
        squares = z**2
        start_variance = float(np.mean(squares[fitted]))
        # sigma2[i]: the variance of return i given those before it; next_garch[i]: of the one
        # after it, given return i too.
        sigma2 = _recursion(squares, self.omega, self.alpha, self.beta, start_variance)
        self.next_garch = self.omega + self.alpha * squares + self.beta * sigma2
        lam = 0.5 ** (1 / EWMA_HALF_LIFE_HOURS)
        self.next_ewma = _recursion(squares, 0.0, 1 - lam, lam, start_variance, shift=False)

    def at(self, pos: np.ndarray) -> np.ndarray:
        """Per origin position, the index of the last valid return at or before it."""
        return np.searchsorted(self.index, pos, "right") - 1

    def garch_spread(self, pos: np.ndarray, next_variance: np.ndarray, hours: int) -> np.ndarray:
        """The log spread GARCH expects over the `hours` after each of `pos`, from the variance
        of the next deseasonalised return `next_variance`."""
        return self.fading_spread(pos, next_variance, hours, self.omega, self.alpha + self.beta)

    def simulated(
        self, pos: np.ndarray, next_variance: np.ndarray, hours: list[int], rng: np.random.Generator
    ) -> np.ndarray:
        """Per origin (down) and each of `hours` (across, ascending): the 80% quantile of the
        size of the log move over those hours on the simulated paths that reach it (`BATCHES`;
        the move is symmetric: its 80% band is plus or minus it), and of each half of them
        (last axis: `SIMULATED`)."""
        sizes: dict[int, list[np.ndarray]] = {h: [] for h in hours}
        for reach, paths in BATCHES:
            reached = [h for h in hours if h <= reach]
            if reached:
                batch = self._paths(pos, next_variance, reached, (paths, rng))
                for j, h in enumerate(reached):
                    sizes[h].append(batch[:, :, j])
        found = np.empty((len(pos), len(hours), len(SIMULATED)))
        for j, h in enumerate(hours):
            every = np.concatenate(sizes[h])
            for k, part in enumerate((every, *np.split(every, 2))):
                found[:, j, k] = np.quantile(part, 0.8, axis=0)
        return found

    def _paths(
        self,
        pos: np.ndarray,
        next_variance: np.ndarray,
        hours: list[int],
        draws: tuple[int, np.random.Generator],
    ) -> np.ndarray:
        """Per path (down), origin and each of `hours` (ascending): the size of the log move
        over those hours on a path of GARCH-t from each origin (`draws`: how many, from where).

        A path's variance k steps ahead is linear in the first one, v a_k + omega b_k (a and b
        from its t errors alone), so its deseasonalised move is sqrt(v) times a smooth function
        of x = sqrt(omega / v): run at `NODES` Chebyshev points of x spanning the origins and
        interpolated to each (Lagrange), the paths serve every origin."""
        steps = np.asarray(hours) * HOUR // self.market.interval
        paths, rng = draws
        shape = (int(steps[-1]), paths)
        shocks = rng.standard_t(self.nu, shape) * np.sqrt((self.nu - 2) / self.nu)  # arch's
        growth = self.alpha * shocks[:-1] ** 2 + self.beta  # next variance: omega + growth * it
        a = np.cumprod(np.vstack([np.ones(paths), growth]), axis=0)
        b = np.zeros(shape)
        for k in range(1, shape[0]):  # b_k = 1 + growth b_(k-1): bounded where a_k underflows
            np.multiply(growth[k - 1], b[k - 1], out=b[k])
            b[k] += 1
        seasonal = np.sqrt(self._shapes(shape[0])[self.market.slot[pos]]).T  # steps x origins
        x = np.sqrt(self.omega / next_variance)
        nodes, lagrange = x[:1], np.ones((1, len(x)))  # one origin (or all alike): itself
        if x.max() > x.min():
            nodes = (x.max() + x.min()) / 2 + (x.max() - x.min()) / 2 * chebpts1(NODES)
            lagrange = BarycentricInterpolator(nodes, np.eye(NODES))(x).T  # node x origin
        edges = np.concatenate([[0], steps])
        moves = np.zeros((paths, len(pos), len(steps)))
        path = np.empty(shape)
        for node, weight in zip(nodes, lagrange, strict=True):
            np.multiply(b, node**2, out=path)
            path += a
            np.sqrt(path, out=path)
            path *= shocks  # each step's deseasonalised return over sqrt(v)
            parts = [path[i:j].T @ seasonal[i:j] for i, j in itertools.pairwise(edges)]
            moves += weight[None, :, None] * np.cumsum(np.stack(parts, axis=-1), axis=-1)
        return np.abs(moves) * (np.sqrt(next_variance) / SCALE)[None, :, None]


def _recursion(
    squares: np.ndarray,
    omega: float,
    alpha: float,
    beta: float,
    start: float,
    *,
    shift: bool = True,
) -> np.ndarray:
    """v[i] = omega + alpha * squares[i - 1] + beta * v[i - 1], v[0] = start (shift); without
    the shift, v[i] = omega + alpha * squares[i] + beta * v[i - 1] (the next one's)."""
    inputs = omega + alpha * (np.concatenate([[start], squares[:-1]]) if shift else squares)
    out, _ = lfilter([1.0], [1.0, -beta], inputs[1:] if shift else inputs, zi=[beta * start])
    return np.concatenate([[start], out]) if shift else out


def paths_at(hours: int) -> int:
    """The simulated paths that reach `hours` (none at 1 h, where GARCH-t reads its t)."""
    return sum(paths for reach, paths in BATCHES if 1 < hours <= reach)


HALVES = ("garch-t/paths-a", "garch-t/paths-b")  # GARCH-t from each half of its paths
SIMULATED = ("garch-t", *HALVES)


def peer_offsets(
    market: Market,
    pos: np.ndarray,
    hours: list[int],
    spec: BandSpec,
    seed: Sequence[int],
    *,
    settings: Settings,
) -> Offsets:
    """Each peer's 80% band at origins `pos` (in time order) and leads `hours`, reading the
    profile of `spec`'s band, its simulation seeded by `seed` and each week's start, the full-
    strength peers at `settings`; and GARCH-t's from each half of its paths (named with
    `HALVES`: its Monte Carlo error)."""
    levels = np.array(tails(DEFAULT_LEVEL))[:, None]  # the band's two quantiles, down
    found = {name: np.full((2, len(pos), len(hours)), np.nan) for name in (*PEERS, *HALVES)}
    weeks = market.t[pos] // WEEK * WEEK
    beyond = [h for h in hours if h > 1]
    week, guess = None, None
    for start in np.unique(weeks):
        rows = np.flatnonzero(weeks == start)
        week = Week(market, int(start), int(pos[rows].max()), spec, week)
        at = week.at(pos[rows])
        if beyond:
            rng = np.random.default_rng([*seed, int(start)])
            simulated = week.simulated(pos[rows], week.next_garch[at], beyond, rng)
        full, guess = full_strength(week, pos[rows], hours, settings, guess)
        for name, band in full.items():
            found[name][:, rows] = band
        for j, h in enumerate(hours):
            garch = week.garch_spread(pos[rows], week.next_garch[at], h)
            found["ewma"][:, rows, j] = norm.ppf(levels) * week.flat_spread(
                pos[rows], week.next_ewma[at], h
            )
            if h == 1:
                for name in ("garch-t-normal", *SIMULATED):
                    found[name][:, rows, j] = _t_quantile(levels, week.nu) * garch
            else:
                found["garch-t-normal"][:, rows, j] = norm.ppf(levels) * garch
                for k, name in enumerate(SIMULATED):
                    found[name][:, rows, j] = [[-1], [1]] * simulated[:, beyond.index(h), k]
            known = week.index[week.fitted]
            found["fhs"][:, rows, j] = (
                _quantiles(
                    week, known, week.garch_spread(known, week.next_garch[week.at(known)], h), h
                )
                * garch
            )
    return {name: (both[0], both[1]) for name, both in found.items()}


def har_bands(week: Profiled, pos: np.ndarray, hours: list[int], settings: Settings) -> dict:
    """HAR-RV's 80% band at this week's origins `pos` and `hours` at `settings`, with normal
    quantiles and with the quantiles of the year's moves over the spread it expected for each
    (`har-rv-empirical`): per name, (2, origins, hours)."""
    har, levels = week.har(settings), np.array(tails(DEFAULT_LEVEL))[:, None]
    spread = har.spread(pos, hours)
    empirical = np.empty((2, len(pos), len(hours)))
    for j, h in enumerate(hours):
        origins = har.fitted(h)[0]
        empirical[:, :, j] = (
            _quantiles(week, origins, har.spread(origins, [h])[:, 0], h) * spread[:, j]
        )
    return {"har-rv": norm.ppf(levels)[:, :, None] * spread, "har-rv-empirical": empirical}


def range_garch_bands(
    week: Profiled, pos: np.ndarray, hours: list[int], returns: bool, guess: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Range-GARCH's 80% band at this week's origins `pos` and `hours` with the quantiles of the
    year's moves over the spread it expected for each, (2, origins, hours); its parameters."""
    ranged = RangeGarch(week, int(pos.max()), returns, guess)
    known = ranged.index[ranged.index <= week.begin]
    band = [
        _quantiles(week, known, ranged.spread(known, h), h) * ranged.spread(pos, h) for h in hours
    ]
    return np.stack(band, axis=-1), ranged.params


def full_strength(
    week: Profiled, pos: np.ndarray, hours: list[int], settings: Settings, guess: np.ndarray | None
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """HAR-RV's bands and range-GARCH's (`har_bands`, `range_garch_bands`) at `settings`."""
    ranged, params = range_garch_bands(week, pos, hours, settings.garch_returns, guess)
    return {**har_bands(week, pos, hours, settings), "range-garch": ranged}, params


def _t_quantile(p: np.ndarray, nu: float) -> np.ndarray:
    """Student's t quantiles at `p` scaled to unit variance (arch's standardised t)."""
    return t.ppf(p, nu) * np.sqrt((nu - 2) / nu)


def _quantiles(week: Profiled, origins: np.ndarray, spread: np.ndarray, hours: int) -> np.ndarray:
    """The 80% band's two quantiles (down, one column) of the year's `hours`-hour log moves from
    `origins` known by the week's start, each over the `spread` expected for it there."""
    known = week.market.t[origins] + hours * HOUR <= week.start
    values = week.market.moves(hours)[origins[known]] / spread[known]
    return np.quantile(values[np.isfinite(values)], tails(DEFAULT_LEVEL))[:, None]
