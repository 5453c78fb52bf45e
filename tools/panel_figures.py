"""The panel's figures from its evaluation origins (`tools/panel.py`): per pair, and pooled over
the pairs, every forecast alike, with standard errors clustered by time (Driscoll-Kraay: each
origin time's sums over the pairs through the one standard error, `cryptopredict.standard_error`);
the 80% band's coverage by fifth of width and of variance ratio and by calendar quarter, with
their joint tests (`joint_coverage.py`); and the damping's evidence (`damping_figures`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, replace

import numpy as np
import pandas as pd

from cryptopredict.artifact.schema import DEFAULT_LEVEL, LEVELS
from cryptopredict.model.market import HOUR
from cryptopredict.standard_error import MeanSE, mean_se, overlap_lags
from tools.joint_coverage import disjoint_times, normal_score, shared_times, trend

FIFTHS = 5
# A quarter's blocks of time for its joint test: two weeks, and at least four horizons.
BLOCK = 14 * 24 * HOUR
BLOCK_HORIZONS = 4
QUARTER = 365.25 / 4 * 24 * HOUR  # seconds: a quarter with under half its origins is too few
WIDE_Z = 2.0  # issue 111: at 1h every width fifth and every pair within this many SEs of 80%


def relative_pooled(rows: pd.DataFrame) -> float:
    """(served - naive) / naive over every forecast of `rows` (`panel_search.outcomes`')."""
    return float(rows["score_served"].sum() / rows["score_naive"].sum() - 1)


class Times:
    """The rows' origin times: each time's sums over the pairs, and the spacing and overlap the
    standard error needs."""

    def __init__(self, rows: pd.DataFrame, horizon: pd.Timedelta) -> None:
        self.rows = rows
        self.times = np.unique(rows["origin"].to_numpy(dtype=np.int64))
        self.at = np.searchsorted(self.times, rows["origin"].to_numpy(dtype=np.int64))
        spacing = float(np.median(np.diff(self.times))) if len(self.times) > 1 else HOUR
        self.spacing = spacing
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

    def blocks(self, held: np.ndarray, level: float, seconds: int) -> np.ndarray:
        """Per block of `seconds` of origin time (blocks aligned to the epoch), the rows'
        `held` less `level`, summed and divided by the blocks' mean count of rows."""
        top, count = self.sums(held), self.sums(np.ones(len(held)))
        _, block = np.unique(self.times // seconds, return_inverse=True)
        top, count = np.bincount(block, weights=top), np.bincount(block, weights=count)
        return (top - level * count) / count.mean()

    def cells(
        self, held: np.ndarray, members: list[np.ndarray], level: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each member set's share of `held` less `level`, and its influence at each time (the
        cells' covariance, `joint_coverage.shared_times` and `trend`)."""
        errors, influence = [], []
        for member in members:
            top, bottom = self.sums(held * member), self.sums(member)
            value = top.sum() / bottom.sum()
            errors.append(value - level)
            influence.append((top - value * bottom) / bottom.mean())
        return np.array(errors), np.stack(influence, axis=1)

    def windows(self, horizon: pd.Timedelta, member: np.ndarray | None = None) -> int:
        """The horizon-long stretches of time (origin spacings, where longer) that hold the
        origins of the rows (of `member`'s rows): about as many independent outcomes."""
        times = self.times if member is None else self.times[self.sums(member) > 0]
        width = max(int(horizon.total_seconds()), round(self.spacing))
        return len(np.unique((times - self.times[0]) // width))


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
    relative = times.ratio(served - naive, naive)
    coverage: dict[str, float] = {}
    coverage_se: dict[str, float] = {}
    out: dict[str, object] = {
        "origins": len(times.times),
        "forecasts": len(rows),
        "lags": times.lags,
        "df": relative.df,
        "interval_score": float(served.mean()),
        "naive_interval_score": float(naive.mean()),
        "relative": relative.mean,
        "relative_se": relative.se,
        "relative_bound": relative.upper(),
        "critical": relative.critical(),
        "verdict": relative.verdict(),
        "coverage": coverage,
        "coverage_se": coverage_se,
    }
    for level in LEVELS:
        found = times.ratio(rows[f"held_{level}"].to_numpy(), ones)
        coverage[str(level)] = found.mean
        coverage_se[str(level)] = found.se
    return {**out, **conditional(rows, horizon, times)}


def conditional(rows: pd.DataFrame, horizon: pd.Timedelta, times: Times) -> dict:
    """The 80% band's coverage in every fifth of width and of variance ratio and in every
    calendar quarter, each cell with its distance from 80% in standard errors, its windows and
    the degrees of freedom of its standard error (a quarter with under half a quarter's origins:
    too few windows); each table's joint test that every cell covers 80%, and the fifths' trend
    (`joint_coverage.py`)."""
    held = rows["held_80"].to_numpy()
    level = DEFAULT_LEVEL / 100
    out: dict[str, object] = {}
    tests, trends = {}, {}
    for name in ("width", "ratio"):
        members, out[f"coverage_80_by_{name}_fifth"] = _by_fifth(rows, name, horizon, times)
        errors, influence = times.cells(held, members, level)
        tests[f"{name}_fifth"] = asdict(shared_times(errors, influence, times.steps, times.lags))
        trends[f"{name}_fifth"] = asdict(trend(errors, influence, times.steps, times.lags))
    quarters = {quarter: Times(group, horizon) for quarter, group in rows.groupby("quarter")}
    enough = QUARTER / times.spacing / 2  # origins
    out["coverage_80_by_quarter"] = {
        quarter: _cell(
            found.ratio(found.rows["held_80"].to_numpy(), np.ones(len(found.rows))),
            level,
            found.windows(horizon),
            too_few=len(found.times) < enough,
        )
        for quarter, found in quarters.items()
    }
    block = max(BLOCK, BLOCK_HORIZONS * int(horizon.total_seconds()))
    blocks = [
        found.blocks(found.rows["held_80"].to_numpy(), level, block)
        for found in quarters.values()
        if len(found.times) >= enough
    ]
    tests["quarter"] = asdict(disjoint_times(blocks, len(quarters) - len(blocks)))
    out["coverage_80_joint_tests"] = tests
    out["coverage_80_trend"] = trends
    return out


def where_wide(rows: pd.DataFrame) -> dict:
    """The 80% band an hour ahead (issue 111), from the pairs' `rows`: its coverage in every
    fifth of width (each pair's, pooled) and in every pair, each cell's distance from 80% in
    standard errors, and whether every one is within `WIDE_Z`."""
    rows, hour, level = rows[rows["horizon"] == "1h"], pd.Timedelta(hours=1), DEFAULT_LEVEL / 100
    _, fifths = _by_fifth(rows, "width", hour, Times(rows, hour))
    pairs = {}
    for name, group in rows.groupby("pair"):
        times = Times(group, hour)
        held = times.ratio(group["held_80"].to_numpy(), np.ones(len(group)))
        pairs[str(name)] = _cell(held, level, times.windows(hour))
    z = max(abs(cell["z"]) for cell in [*fifths, *pairs.values()])
    return {"width_fifths": fifths, "pairs": pairs, "largest_z": z, "holds": z <= WIDE_Z}


def pooled_figures(rows: pd.DataFrame, horizon: pd.Timedelta) -> dict:
    return {**pair_figures(rows, horizon), "pairs": int(rows["pair"].nunique())}


def _fifths(rows: pd.DataFrame, column: str) -> np.ndarray:
    """Each row's fifth (0: smallest) by `column` among its own pair's rows."""
    values = rows.groupby("pair")[column] if "pair" in rows else rows[column]
    rank = values.rank(method="first", na_option="bottom").to_numpy() - 1
    size = values.transform("size").to_numpy() if "pair" in rows else len(rows)
    return np.minimum((rank / np.maximum(size, 1) * FIFTHS).astype(int), FIFTHS - 1)


def _by_fifth(
    rows: pd.DataFrame, name: str, horizon: pd.Timedelta, times: Times
) -> tuple[list[np.ndarray], list[dict]]:
    """Each fifth by `name` (each pair's rows' own, `_fifths`) as 0/1 weights of the rows, and
    its cell of the 80% band's coverage."""
    which, held = _fifths(rows, name), rows["held_80"].to_numpy()
    members = [(which == q).astype(float) for q in range(FIFTHS)]
    level = DEFAULT_LEVEL / 100
    cells = [_cell(times.ratio(held * m, m), level, times.windows(horizon, m)) for m in members]
    return members, cells


def _cell(found: MeanSE, level: float, windows: int, *, too_few: bool = False) -> dict:
    """A cell's coverage, its distance from `level` in standard errors (`z`) and that distance
    as a normal score through Student's t with the standard error's degrees of freedom
    (`normal_z`: what the rule reads), its origins, windows and degrees of freedom; too few
    windows where the caller says so or no critical value holds (`MIN_DF`)."""
    z = (found.mean - level) / found.se if found.se > 0 else math.nan
    enough = not too_few and found.enough
    return {
        "coverage": found.mean,
        "se": found.se,
        "z": z,
        "normal_z": math.copysign(normal_score(abs(z), found.df), z) if enough else math.nan,
        "origins": found.n,
        "windows": windows,
        "df": found.df,
        "too_few_windows": not enough,
    }
