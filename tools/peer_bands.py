"""The peers the panel holds the served band against (`tools/peers.py`), each an 80% band of log
offsets from the last close, on one pair's hourly bars, at the panel's origins, each reading a
seasonal profile it is given (`Profile`): the served band's own (`bands.profile_of`: today the
hour of the day's times the day of the week's, at the band's power, from the year of bars
before), or as a sensitivity the hour-of-week one (`Market.profile`, each hour of the week its
own), read at each week's start, when the peer's parameters are refitted:

- `garch-t`: GARCH(1,1) with Student-t errors (the `arch` package, zero mean) on the returns
  deseasonalised by the profile, refitted at each week start on the year before it and filtered
  hourly with those parameters to each origin of the week. Its variance forecast for each hour
  ahead, times the profile of that hour, summed over the lead: Student-t quantiles (unit
  variance) at 1 h, normal ones beyond, where many innovations add up.
- `ewma`: the exponentially weighted variance of the same deseasonalised returns (half-life a
  day, `EWMA_HALF_LIFE_HOURS`), flat ahead, times the profile; normal quantiles.
- `fhs`: filtered historical simulation: the year's h-hour moves (known by the week start) each
  divided by the spread the week's GARCH expected for it, their 10% and 90% quantiles times the
  spread it expects now (at 1 h, the standardised residuals' quantiles).

Returns across a gap in the bars are left out of the fits (each peer sees the valid returns
one after another). Known by the origin only: a week's parameters and profile come from bars
up to its start, its filter from bars up to each origin.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from arch import arch_model
from scipy.signal import lfilter
from scipy.stats import norm, t

from cryptopredict.artifact.schema import DEFAULT_LEVEL, BandSpec
from cryptopredict.model.bands import profile_of
from cryptopredict.model.market import DAY, HOUR, WEEK, YEAR_DAYS, Market
from cryptopredict.model.scores import tails

PEERS = ("garch-t", "ewma", "fhs")
EWMA_HALF_LIFE_HOURS = 24
SCALE = 100.0  # returns in percent, as arch prefers

Offsets = dict[str, tuple[np.ndarray, np.ndarray]]  # peer -> (lower, upper): origins x hours
Profile = Callable[[Market, int], np.ndarray]  # the profile over weekly slots at a bar


def band_profile(spec: BandSpec) -> Profile:
    """The profile `spec`'s band reads (flat where it reads none)."""

    def at(market: Market, pos: int) -> np.ndarray:
        found = profile_of(market, spec, np.array([pos]))
        return np.ones(market.slots) if found is None else found[0]

    return at


def hour_of_week(market: Market, pos: int) -> np.ndarray:
    """The hour-of-week profile, each slot its own."""
    return market.profile(np.array([pos]))[0]


class Week:
    """One week's fits: the year's deseasonalised returns before its start and up to its last
    origin, GARCH-t's parameters from the year, and both filters over every valid return."""

    def __init__(self, market: Market, start: int, last: int, profile: Profile) -> None:
        self.market = market
        begin = market.position(np.array([start]))[0]
        self.profile = profile(market, begin)
        first = market.position(np.array([start - YEAR_DAYS * DAY]))[0] + 1
        index = np.arange(first, last + 1)
        index = index[np.isfinite(market.returns[index])]
        self.index = index  # positions of the valid returns, in order
        z = SCALE * market.returns[index] / np.sqrt(self.profile[market.slot[index]])
        fitted = index <= begin
        model = arch_model(z[fitted], mean="Zero", vol="GARCH", p=1, q=1, dist="t")
        params = model.fit(disp="off").params
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

    def flat_spread(self, pos: np.ndarray, next_variance: np.ndarray, hours: int) -> np.ndarray:
        steps = hours * HOUR // self.market.interval
        return (
            np.sqrt(next_variance * self._shapes(steps).sum(axis=1)[self.market.slot[pos]]) / SCALE
        )

    def _shapes(self, steps: int) -> np.ndarray:
        """Per weekly slot of an origin (down), the profile of each hour ahead (across)."""
        slots = np.arange(self.market.slots)
        return self.profile[(slots[:, None] + np.arange(1, steps + 1)[None, :]) % self.market.slots]


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


def peer_offsets(market: Market, pos: np.ndarray, hours: list[int], profile: Profile) -> Offsets:
    """Each peer's 80% band at origins `pos` (in time order) and leads `hours`, reading
    `profile`."""
    low, high = tails(DEFAULT_LEVEL)
    lower = {name: np.full((len(pos), len(hours)), np.nan) for name in PEERS}
    upper = {name: np.full((len(pos), len(hours)), np.nan) for name in PEERS}
    weeks = market.t[pos] // WEEK * WEEK
    for start in np.unique(weeks):
        rows = np.flatnonzero(weeks == start)
        week = Week(market, int(start), int(pos[rows].max()), profile)
        at = week.at(pos[rows])
        for j, h in enumerate(hours):
            garch = week.garch_spread(pos[rows], week.next_garch[at], h)
            ewma = week.flat_spread(pos[rows], week.next_ewma[at], h)
            q_low, q_high = (
                _t_quantile(p, week.nu) if h == 1 else norm.ppf(p) for p in (low, high)
            )
            lower["garch-t"][rows, j], upper["garch-t"][rows, j] = q_low * garch, q_high * garch
            lower["ewma"][rows, j] = norm.ppf(low) * ewma
            upper["ewma"][rows, j] = norm.ppf(high) * ewma
            standard = _standardised_moves(week, int(start), h)
            f_low, f_high = np.quantile(standard, [low, high])
            lower["fhs"][rows, j], upper["fhs"][rows, j] = f_low * garch, f_high * garch
    return {name: (lower[name], upper[name]) for name in PEERS}


def _t_quantile(p: float, nu: float) -> float:
    """Student's t quantile at `p` scaled to unit variance (arch's standardised t)."""
    return float(t.ppf(p, nu) * np.sqrt((nu - 2) / nu))


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
