"""The panel's figures from its evaluation origins (`tools/panel.py`): per pair, and pooled over
the pairs, every forecast alike, with standard errors clustered by time (each origin time's sums
over the pairs, their ratio's influence through the one standard error over the times,
`cryptopredict.standard_error.mean_se`: Driscoll-Kraay). A pair alone is the same sums over
one pair.

Conditional calibration: the 80% band's coverage in every fifth of the band's width and of the
band's own variance ratio (today's variance over the year's, `bands.variance_ratio`), each
fifth taken within each pair (by rank among its own origins at that horizon) and pooled, and in
every calendar quarter.

The damping's evidence (`damping_figures`): each candidate's pooled absolute percentage error
against tau 0's (the last close) at each deciding horizon, and their mean over the horizons,
with the standard error of that mean over the origin times (each horizon's ratio's influence
at each time, averaged over the horizons, through the same estimator).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd

from cryptopredict.artifact.schema import LEVELS
from cryptopredict.model.scores import overlap_lags
from cryptopredict.standard_error import MeanSE, mean_se

FIFTHS = 5
HOUR = 3600


def relative_pooled(rows: pd.DataFrame) -> float:
    """(served - naive) / naive over every forecast of `rows` (`served`, `naive` columns)."""
    return float(rows["served"].sum() / rows["naive"].sum() - 1)


class Times:
    """The rows' origin times: each time's sums over the pairs, and the spacing and overlap the
    standard error needs."""

    def __init__(self, rows: pd.DataFrame, horizon: pd.Timedelta) -> None:
        self.rows = rows
        self.times = np.unique(rows["origin"].to_numpy(dtype=np.int64))
        self.at = np.searchsorted(self.times, rows["origin"].to_numpy(dtype=np.int64))
        spacing = float(np.median(np.diff(self.times))) if len(self.times) > 1 else HOUR
        self.steps = np.round((self.times - self.times[0]) / spacing).astype(np.int64)
        self.lags = overlap_lags(horizon / pd.Timedelta(hours=1), spacing / HOUR)

    def sums(self, values: np.ndarray) -> np.ndarray:
        return np.bincount(self.at, weights=values, minlength=len(self.times))

    def ratio(self, num: np.ndarray, den: np.ndarray) -> MeanSE:
        """sum(num) / sum(den) over the rows, with its standard error over the times."""
        top, bottom = self.sums(num), self.sums(den)
        held = bottom > 0
        if bottom.sum() == 0:
            return MeanSE(math.nan, math.nan, 0, self.lags, math.nan)
        value = top.sum() / bottom.sum()
        influence = (top - value * bottom) / bottom[held].mean()
        found = mean_se(influence[held], self.lags, self.steps[held])
        return replace(found, mean=float(value))


def damping_figures(rows: pd.DataFrame, horizons: dict[str, pd.Timedelta], step: int) -> dict:
    """One candidate's rows (`origin`, `horizon`, `served`, `naive`: every pair's, at origins on
    a grid `step` seconds apart): per horizon, sum(served) / sum(naive) - 1 with its standard
    error clustered by time; their mean over `horizons` with its standard error, one-sided 95%
    bound and verdict against 0 (lower: better than tau 0 beyond the critical value)."""
    times = np.unique(rows["origin"].to_numpy(dtype=np.int64))
    steps = np.round((times - times[0]) / step).astype(np.int64)
    influence = np.zeros(len(times))
    per_horizon, relatives = {}, []
    for label, horizon in horizons.items():
        group = rows[rows["horizon"] == label]
        at = np.searchsorted(times, group["origin"].to_numpy(dtype=np.int64))
        top = np.bincount(at, weights=group["served"].to_numpy(), minlength=len(times))
        bottom = np.bincount(at, weights=group["naive"].to_numpy(), minlength=len(times))
        ratio = top.sum() / bottom.sum()
        mine = (top - ratio * bottom) / bottom.mean()
        lags = overlap_lags(horizon / pd.Timedelta(hours=1), step / HOUR)
        found = mean_se(mine, lags, steps)
        per_horizon[label] = {"relative": ratio - 1, "se": found.se, "forecasts": len(group)}
        relatives.append(ratio - 1)
        influence += mine / len(horizons)
    longest = max(horizons.values()) / pd.Timedelta(hours=1)
    mean = replace(
        mean_se(influence, overlap_lags(longest, step / HOUR), steps),
        mean=float(np.mean(relatives)),
    )
    return {
        "relative": mean.mean,
        "se": mean.se,
        "df": mean.df,
        "bound": mean.upper() if mean.enough else None,
        "verdict": mean.verdict(),
        "origins": len(times),
        "horizons": per_horizon,
    }


def pair_figures(rows: pd.DataFrame, horizon: pd.Timedelta) -> dict:
    """One pair at one horizon (or any rows; `pooled_figures` adds the pairs' count)."""
    if rows.empty:
        return {"origins": 0}
    times = Times(rows, horizon)
    served, naive = rows["score_served"].to_numpy(), rows["score_naive"].to_numpy()
    ones = np.ones(len(rows))
    versus = times.ratio(served - naive, ones)
    relative = times.ratio(served, naive)
    coverage: dict[str, float] = {}
    coverage_se: dict[str, float] = {}
    out: dict[str, object] = {
        "origins": len(times.times),
        "forecasts": len(rows),
        "lags": times.lags,
        "df": versus.df,
        "interval_score": float(served.mean()),
        "naive_interval_score": float(naive.mean()),
        "interval_score_diff": versus.mean,
        "interval_score_se": versus.se,
        "relative": relative.mean - 1,
        "relative_se": relative.se,
        "relative_bound": relative.mean - 1 + relative.critical(one_sided=True) * relative.se,
        "verdict": versus.verdict(),
        "coverage": coverage,
        "coverage_se": coverage_se,
    }
    for level in LEVELS:
        found = times.ratio(rows[f"held_{level}"].to_numpy(), ones)
        coverage[str(level)] = found.mean
        coverage_se[str(level)] = found.se
    held = rows["held_80"].to_numpy()
    for name in ("width", "ratio"):
        which = _fifths(rows, name)
        out[f"coverage_80_by_{name}_fifth"] = [
            _cell(times.ratio(held * (which == q), (which == q).astype(float)))
            for q in range(FIFTHS)
        ]
    out["coverage_80_by_quarter"] = {
        quarter: _cell(Times(group, horizon).ratio(group["held_80"].to_numpy(), _ones(group)))
        for quarter, group in rows.groupby("quarter", sort=True)
    }
    return out


def pooled_figures(rows: pd.DataFrame, horizon: pd.Timedelta) -> dict:
    """Every pair's forecasts at one horizon, pooled."""
    return {**pair_figures(rows, horizon), "pairs": int(rows["pair"].nunique())}


def _fifths(rows: pd.DataFrame, column: str) -> np.ndarray:
    """Each row's fifth (0: smallest) by `column` among its own pair's rows."""
    if "pair" not in rows:
        return _ranked(rows[column].to_numpy())
    which = np.empty(len(rows), dtype=np.int64)
    for _, index in rows.groupby("pair").indices.items():
        which[index] = _ranked(rows[column].to_numpy()[index])
    return which


def _ranked(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(len(values)) / max(len(values), 1)
    return np.minimum((ranks * FIFTHS).astype(int), FIFTHS - 1)


def _ones(rows: pd.DataFrame) -> np.ndarray:
    return np.ones(len(rows))


def _cell(found: MeanSE) -> dict:
    return {"coverage": found.mean, "se": found.se, "origins": found.n}
