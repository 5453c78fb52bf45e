"""The peers the panel holds the served band against (`tools/peers.py`), each an 80% band of log
offsets from the last close on one pair's hourly bars, reading the served band's own seasonal
profile (`bands.profile_of`) at each week's start, when its parameters are refitted: GARCH(1,1)-t
(simulated beyond an hour), GARCH-t with normal quantiles, an EWMA, filtered historical simulation
and HAR-RV on the band's realized variance (docs/model.md, "What each peer sees"). Known by the
origin only; the simulation is seeded by the pair and the week alone, so the panel is the same on
any cluster.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from arch import arch_model
from arch.utility.exceptions import StartingValueWarning
from numpy.polynomial.chebyshev import chebpts1
from scipy.interpolate import BarycentricInterpolator
from scipy.signal import lfilter
from scipy.stats import norm, t

from cryptopredict.artifact.schema import DEFAULT_LEVEL, BandSpec
from cryptopredict.model.bands import profile_of
from cryptopredict.model.market import DAY, HOUR, WEEK, YEAR_DAYS, Market
from cryptopredict.standard_error import tails

PEERS = ("garch-t", "garch-t-normal", "ewma", "fhs", "har-rv")
EWMA_HALF_LIFE_HOURS = 24
HAR_HOURS = (24, 168, 720)  # HAR-RV's terms (Corsi): the last day's, week's and month's mean
SCALE = 100.0  # returns in percent, as arch prefers
# GARCH-t's simulated paths per week, in batches (reach in hours, paths): 4,000 reach a day and
# 2,000 a week (`paths_at`); the panel says their Monte Carlo error against its standard errors.
BATCHES = ((168, 2000), (24, 2000))
NODES = 4  # the starting variances a week's paths are run from (`Week._paths`)

Offsets = dict[str, tuple[np.ndarray, np.ndarray]]  # peer -> (lower, upper): origins x hours


class Profiled:
    """One pair's bars read at one week's start: the band's profile then (`spec`'s, or flat),
    the spread a variance flat over it expects, and HAR-RV's."""

    def __init__(self, market: Market, start: int, spec: BandSpec) -> None:
        self.market = market
        begin = market.position(np.array([start]))
        found = profile_of(market, spec, begin)  # the profile `spec`'s band reads (or flat)
        self.profile = np.ones(market.slots) if found is None else found[0]
        self.begin = int(begin[0])
        self.first = int(market.position(np.array([start - YEAR_DAYS * DAY]))[0]) + 1

    def har_spread(
        self,
        pos: np.ndarray,
        hours: list[int],
        start: int,
        variance: np.ndarray | None = None,
        others: Sequence[np.ndarray] = (),
    ) -> np.ndarray:
        """HAR-RV's spread per origin (down) and lead (across): each hour's realized variance
        (`variance`; the band's own, its range's by default, `Market.ranged`) over the profile;
        per lead, a regression of the log of its mean over the lead's hours on the logs of its
        means over `HAR_HOURS` (and of each of `others`' over the last day and week: another
        pair's hours, by position), fitted on the year before `start`; its forecast's
        exponential (lognormal mean) times the profile summed over the lead."""
        market = self.market
        valid = np.flatnonzero(np.isfinite(market.returns[self.first :]))
        first = max(self.first + int(valid[0]) - max(HAR_HOURS), 0)
        span = np.arange(first, int(pos.max()) + 1)
        known = int(np.searchsorted(market.t[span], start, "right"))  # bars known by `start`
        sizes = market.ranged.sizes**2 if variance is None else variance

        def logs(hourly: np.ndarray, windows: Sequence[int]) -> tuple[pd.Series, float, list]:
            series = pd.Series(hourly[span] / self.profile[market.slot[span]])
            floor = 0.01 * series[:known].mean()  # a calm month's log stays finite
            means = [series.rolling(w, min_periods=1).mean() for w in windows]
            return series, floor, [np.log(mean + floor) for mean in means]

        rv, floor, terms = logs(sizes, HAR_HOURS)
        terms += [term for other in others for term in logs(other, HAR_HOURS[:2])[2]]
        x = np.column_stack([np.ones(len(span)), *terms])
        year = np.flatnonzero(market.t[span[:known]] > start - YEAR_DAYS * DAY)
        out = np.empty((len(pos), len(hours)))
        for j, h in enumerate(hours):
            ahead = rv[:known].rolling(h, min_periods=1).mean().shift(-h)  # the next h hours'
            rows = year[market.t[span[year]] + h * HOUR <= start]
            y = np.log(ahead.to_numpy()[rows] + floor)
            fit = np.isfinite(y) & np.isfinite(x[rows]).all(axis=1)  # none across a long gap
            rows, y = rows[fit], y[fit]
            beta, *_ = np.linalg.lstsq(x[rows], y, rcond=None)
            level = np.exp(x[pos - first] @ beta + np.var(y - x[rows] @ beta) / 2)
            out[:, j] = self.flat_spread(pos, level * SCALE**2, h)
        return out

    def flat_spread(self, pos: np.ndarray, next_variance: np.ndarray, hours: int) -> np.ndarray:
        steps = hours * HOUR // self.market.interval
        return (
            np.sqrt(next_variance * self._shapes(steps).sum(axis=1)[self.market.slot[pos]]) / SCALE
        )

    def _shapes(self, steps: int) -> np.ndarray:
        """Per weekly slot of an origin (down), the profile of each hour ahead (across)."""
        slots = np.arange(self.market.slots)
        return self.profile[(slots[:, None] + np.arange(1, steps + 1)[None, :]) % self.market.slots]


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
        index = np.arange(self.first, last + 1)
        index = index[np.isfinite(market.returns[index])]
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
        steps = hours * HOUR // self.market.interval
        persistence = self.alpha + self.beta
        decay = persistence ** np.arange(steps)  # the k-th hour ahead: persistence^(k-1)
        build = np.concatenate([[0.0], np.cumsum(decay)[:-1]])  # sum of persistence^j, j < k-1
        shape = self._shapes(steps)
        total = next_variance * (shape @ decay)[self.market.slot[pos]]
        total += self.omega * (shape @ build)[self.market.slot[pos]]
        return np.sqrt(total) / SCALE

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
    market: Market, pos: np.ndarray, hours: list[int], spec: BandSpec, seed: Sequence[int]
) -> Offsets:
    """Each peer's 80% band at origins `pos` (in time order) and leads `hours`, reading the
    profile of `spec`'s band, its simulation seeded by `seed` and each week's start; and
    GARCH-t's from each half of its paths (named with `HALVES`: its Monte Carlo error)."""
    levels = np.array(tails(DEFAULT_LEVEL))[:, None]  # the band's two quantiles, down
    found = {name: np.full((2, len(pos), len(hours)), np.nan) for name in (*PEERS, *HALVES)}
    weeks = market.t[pos] // WEEK * WEEK
    beyond = [h for h in hours if h > 1]
    week = None
    for start in np.unique(weeks):
        rows = np.flatnonzero(weeks == start)
        week = Week(market, int(start), int(pos[rows].max()), spec, week)
        at = week.at(pos[rows])
        if beyond:
            rng = np.random.default_rng([*seed, int(start)])
            simulated = week.simulated(pos[rows], week.next_garch[at], beyond, rng)
        har = week.har_spread(pos[rows], hours, int(start))
        for j, h in enumerate(hours):
            garch = week.garch_spread(pos[rows], week.next_garch[at], h)
            ewma = week.flat_spread(pos[rows], week.next_ewma[at], h)
            normal = {"ewma": ewma, "har-rv": har[:, j]}
            if h == 1:
                for name in ("garch-t-normal", *SIMULATED):
                    found[name][:, rows, j] = _t_quantile(levels, week.nu) * garch
            else:
                normal["garch-t-normal"] = garch
                for k, name in enumerate(SIMULATED):
                    found[name][:, rows, j] = [[-1], [1]] * simulated[:, beyond.index(h), k]
            for name, spread in normal.items():
                found[name][:, rows, j] = norm.ppf(levels) * spread
            standard = _standardised_moves(week, int(start), h)
            found["fhs"][:, rows, j] = np.quantile(standard, levels[:, 0])[:, None] * garch
    return {name: (both[0], both[1]) for name, both in found.items()}


def _t_quantile(p: np.ndarray, nu: float) -> np.ndarray:
    """Student's t quantiles at `p` scaled to unit variance (arch's standardised t)."""
    return t.ppf(p, nu) * np.sqrt((nu - 2) / nu)


def _standardised_moves(week: Week, start: int, hours: int) -> np.ndarray:
    """The year's `hours`-hour log moves known by `start`, each over the spread the week's
    GARCH expected for it at its origin."""
    market = week.market
    known = week.index[week.fitted]
    origins = known[market.t[known] + hours * HOUR <= start]
    moves = market.moves(hours)[origins]
    spread = week.garch_spread(origins, week.next_garch[week.at(origins)], hours)
    values = moves / spread
    return values[np.isfinite(values)]
