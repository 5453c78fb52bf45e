"""Joint tests that every cell of a coverage table covers the band's level, and `rule`."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats
from statsmodels.stats.sandwich_covariance import S_hac_simple

from cryptopredict.standard_error import MIN_DF, bartlett, flat_top, hac_lags

MIN_BLOCKS = 3  # a quarter's blocks of time its t statistic needs
RULED = ("1h", "1d", "7d")  # the horizons whose tables the rule holds
CELL_Z = 4.0  # every cell with enough windows within this many standard errors of the level
JOINT_P = 0.002  # each table's joint test at least this p
TREND_Z = 2.64  # the trend across the fifths within this many standard errors ...
TRENDED = (("1d", "width_fifth"),)  # ... in these tables (horizon, table)
TABLES = {
    "quarter": "coverage_80_by_quarter",
    "width_fifth": "coverage_80_by_width_fifth",
    "ratio_fifth": "coverage_80_by_ratio_fifth",
}


@dataclass(frozen=True)
class JointTest:
    """A joint test that every cell covers the level: statistic, distribution, df and p."""

    test: str
    statistic: float
    df: tuple[float, ...]
    p: float
    cells: int
    left_out: int = 0


@dataclass(frozen=True)
class Trend:
    """The slope of ordered cells' coverage errors on their rank, its SE, z and df."""

    slope: float
    se: float
    z: float
    df: float


def too_few(cells: int) -> JointTest:
    return JointTest("too few windows", math.nan, (), math.nan, 0, cells)


def shared_times(
    errors: np.ndarray, influence: np.ndarray, steps: np.ndarray, overlap: int
) -> JointTest:
    """Hotelling's T^2 that every cell's coverage error is 0, covariance from `influence`."""
    covariance, df = hac_covariance(influence, steps, overlap)
    cells = len(errors)
    denominator = df - cells + 1
    if not np.isfinite(df) or denominator < MIN_DF:
        return too_few(cells)
    t2 = float(errors @ np.linalg.solve(covariance, errors))
    statistic = denominator / (df * cells) * t2
    p = float(stats.f.sf(statistic, cells, denominator))
    return JointTest("Hotelling T^2 as F", statistic, (float(cells), float(denominator)), p, cells)


def trend(errors: np.ndarray, influence: np.ndarray, steps: np.ndarray, overlap: int) -> Trend:
    """The trend across the cells in their order (arguments as `shared_times` takes them)."""
    covariance, df = hac_covariance(influence, steps, overlap)
    rank = np.arange(len(errors)) - (len(errors) - 1) / 2
    contrast = rank / (rank @ rank)
    slope = float(contrast @ errors)
    se = math.sqrt(float(contrast @ covariance @ contrast)) if np.isfinite(df) else math.nan
    return Trend(slope, se, slope / se if se > 0 else math.nan, df)


def rule(pooled: dict[str, dict]) -> dict:
    """The rule on a band's pooled figures: per horizon and table, its readings and every breach."""
    tables: dict[str, dict] = {}
    breaches = []
    for label in [each for each in RULED if pooled.get(each) is not None]:
        figures = pooled[label]
        tables[label] = {}
        for name, key in TABLES.items():
            cell, largest = farthest(figures[key])
            p = figures["coverage_80_joint_tests"][name]["p"]
            entry = {"largest_z": largest, "farthest": cell, "joint_p": p}
            if largest > CELL_Z:
                breaches.append(f"{label} {name} {cell}: {largest:.1f} SE from the level")
            if p is None or not p >= JOINT_P:
                breaches.append(f"{label} {name}: joint test p = {p}")
            if (label, name) in TRENDED:
                z = figures["coverage_80_trend"][name]["z"]
                entry["trend_z"] = z
                if not abs(z) <= TREND_Z:
                    breaches.append(f"{label} {name}: trend z = {z:+.2f}")
            tables[label][name] = entry
    return {
        "cell_z": CELL_Z,
        "joint_p": JOINT_P,
        "trend_z": TREND_Z,
        "tables": tables,
        "breaches": breaches,
        "holds": not breaches,
    }


def cells_of(table: dict | list) -> dict:
    """A coverage table's cells by name (the fifths numbered from 1)."""
    return dict(table) if isinstance(table, dict) else dict(enumerate(table, 1))


def farthest(table: dict | list) -> tuple[object, float]:
    """The table's cell with enough windows farthest from the level, and its |normal z| (none,
    NaN: every cell too few windows)."""
    ruled = {name: c for name, c in cells_of(table).items() if not c["too_few_windows"]}
    cell = max(ruled, key=lambda name: abs(ruled[name]["normal_z"]), default=None)
    return cell, abs(ruled[cell]["normal_z"]) if cell is not None else math.nan


def disjoint_times(blocks: list[np.ndarray], left_out: int = 0) -> JointTest:
    """Chi-square of the cells' normal scores of block t statistics; short cells left out."""
    usable = [values for values in blocks if len(values) >= MIN_BLOCKS]
    if not usable:
        return too_few(len(blocks) + left_out)
    scores = []
    for values in usable:
        spread = float(np.std(values, ddof=1)) / math.sqrt(len(values))
        t = abs(float(np.mean(values))) / spread if spread > 0 else math.inf
        scores.append(normal_score(t, len(values) - 1))
    statistic = float(np.sum(np.square(scores)))
    return JointTest(
        "sum of squared normal scores as chi-square",
        statistic,
        (float(len(usable)),),
        float(stats.chi2.sf(statistic, len(usable))),
        len(usable),
        len(blocks) - len(usable) + left_out,
    )


def normal_score(t: float, df: float) -> float:
    """The normal quantile of Student's t's upper tail beyond `t` (>= 0) with `df`."""
    return float(stats.norm.isf(stats.t.sf(t, df)))


def hac_covariance(values: np.ndarray, steps: np.ndarray, overlap: int) -> tuple[np.ndarray, float]:
    """The covariance of `values`' column means by the one standard error's kernel, and its df."""
    x = np.asarray(values, dtype=np.float64)
    n, columns = x.shape
    if n < 2:
        return np.full((columns, columns), np.nan), math.nan
    lags = min(hac_lags(overlap, n), n - 1)
    reach = min(2 * lags, n - 1)
    at = np.asarray(steps, dtype=np.int64) - int(steps[0])
    dense = np.zeros((int(at[-1]) + 1, columns))
    present = np.zeros(len(dense))
    dense[at], present[at] = x - x.mean(axis=0), 1.0
    pairs = [float(n), *(float(present[lag:] @ present[:-lag]) for lag in range(1, reach + 1))]
    for weights in (flat_top(reach, flat=lags), bartlett(reach)):
        covariance = S_hac_simple(dense, reach, lambda _, given=weights: given)
        share = (weights[0] * pairs[0] + 2 * float(weights[1:] @ pairs[1:])) / n**2
        if share < 1 and np.all(np.linalg.eigvalsh(covariance) > 0):
            df = n / (1 + 2 * float((weights[1:] ** 2).sum()))
            return covariance / n**2 / (1 - share), df
    return np.full((columns, columns), np.nan), math.nan
