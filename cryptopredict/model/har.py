"""HAR-RV (Corsi 2009) on one pair's hourly realized variance, refitted at each week's start:
per lead, a direct regression of the log of the variance's mean over the lead's hours on the logs
of its means over the last `HAR_HOURS` (the intraday cascade beside the day, week and month),
least squares on the year before (each hour's variance over the band's seasonal profile then; 1%
of its mean inside each log, so a calm hour's stays finite); its forecast's exponential with the
lognormal mean's correction, times the profile summed over the lead. The band averages its spread
with it in logs where `BandSpec.horizon_har` weighs it (`bands.spreads`)."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

from cryptopredict.model.market import DAY, HOUR, YEAR_DAYS, Market

HAR_HOURS = (1, 6, 24, 168, 720)
MIN_FIT = 720  # hours a lead's regression needs (fewer: no forecast, NaN)


def _sums(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Running sums of the finite values and their count, from 0 before the first."""
    finite = np.isfinite(values)
    total = np.concatenate([[0.0], np.cumsum(np.where(finite, values, 0.0))])
    return total, np.concatenate([[0], np.cumsum(finite)])


class Har:
    """One week's fit on `market`'s view of each bar's move (`Market.ranged` or its returns),
    its variance `sizes ** 2` over `profile` (per weekly slot), from the year before `start`;
    each lead's coefficients kept on the market (one fit for every band that reads it)."""

    def __init__(
        self, market: Market, profile: np.ndarray, start: int, windows: Sequence[int] = HAR_HOURS
    ) -> None:
        self.market, self.profile, self.start, self.windows = market, profile, start, windows
        self.begin = int(market.position(np.array([start - YEAR_DAYS * DAY]))[0]) + 1
        self.known = int(market.position(np.array([start]))[0]) + 1  # bars known by the start
        total, count = _sums(self._series(self.begin, self.known))
        self.floor = 0.01 * total[-1] / max(count[-1], 1)
        self.key = (start, tuple(windows), hash(profile.tobytes()))

    def _series(self, lo: int, hi: int) -> np.ndarray:
        """Each bar's variance over the profile, at positions lo to hi - 1."""
        return self.market.sizes[lo:hi] ** 2 / self.profile[self.market.slot[lo:hi]]

    def terms(self, pos: np.ndarray) -> np.ndarray:
        """The regressors at each of `pos` (ascending): 1 and the logs of the trailing means."""
        if not len(pos):  # a week before any bar (the hindcast's first origin)
            return np.empty((0, len(self.windows) + 1))
        lo = max(int(pos[0]) - max(self.windows) + 1, 0)
        total, count = _sums(self._series(lo, int(pos[-1]) + 1))
        at, columns = pos - lo + 1, [np.ones(len(pos))]
        for w in self.windows:
            back = np.maximum(at - w, 0)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = (total[at] - total[back]) / (count[at] - count[back])
            columns.append(np.log(mean + self.floor))
        return np.column_stack(columns)

    @functools.cached_property
    def _year(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """The year's origins known by the start, their regressors, where those are finite,
        and the variance's running sums."""
        pos = np.arange(self.begin, self.known)
        x = self.terms(pos)
        return pos, x, np.isfinite(x).all(axis=1), _sums(self._series(self.begin, self.known))

    def fitted(self, hours: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The year's origins whose next `hours` bars were all known by the start, their
        regressors and the log of the variance's mean over those bars: the lead's fit."""
        pos, x, finite, (total, count) = self._year
        t = self.market.t[pos]
        k = max(
            min(int(np.searchsorted(t, self.start - hours * HOUR, "right")), len(pos) - hours), 0
        )
        ahead = slice(1 + hours, k + 1 + hours)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = (total[ahead] - total[1 : k + 1]) / (count[ahead] - count[1 : k + 1])
        y = np.log(mean + self.floor)
        kept = np.isfinite(y) & finite[:k]
        return pos[:k][kept], x[:k][kept], y[kept]

    def coefficients(self, hours: int) -> tuple[np.ndarray, float]:
        """The lead's coefficients and its residuals' variance (NaN on too short a year)."""
        cache = self.market.har_fits
        if (self.key, hours) not in cache:
            _, x, y = self.fitted(hours)
            found = (np.full(x.shape[1], np.nan), np.nan)
            if len(y) >= MIN_FIT:
                try:
                    beta = np.linalg.solve(x.T @ x, x.T @ y)
                except np.linalg.LinAlgError:  # collinear terms (a flat series): least norm
                    beta = np.linalg.lstsq(x.T @ x, x.T @ y, rcond=None)[0]
                found = (beta, float(np.var(y - x @ beta)))
            cache[self.key, hours] = found
        return cache[self.key, hours]

    def spread(self, pos: np.ndarray, hours: Sequence[int]) -> np.ndarray:
        """The spread at each of `pos` (ascending) for each lead of `hours`."""
        out, x = np.empty((len(pos), len(hours))), self.terms(pos)
        slot = self.market.slot[pos]
        tiled = np.cumsum(np.resize(self.profile, len(self.profile) + max(hours) + 1))
        for j, h in enumerate(hours):
            beta, var = self.coefficients(h)
            ahead = tiled[slot + h] - tiled[slot]  # the profile summed over the h hours after
            out[:, j] = np.sqrt(np.exp(x @ beta + var / 2) * ahead)
        return out
