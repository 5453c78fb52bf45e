"""The joint tests that every cell of the panel's coverage tables covers 80%
(`tools/joint_coverage.py`, as `make panel` runs them through `panel_figures.conditional`): on
a band calibrated in every cell, simulated on the panel's design, each rejects at about its
level; on a band too wide in one cell, it rejects."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from cryptopredict.standard_error import mean_se
from tools.joint_coverage import disjoint_times, hac_covariance, shared_times
from tools.panel_figures import Times, conditional

SEED = 20260660
STEP_HOURS = 7  # the panel's band origins
ORIGINS = 2500  # two years of them, as the panel's evaluation span
PAIRS = 16
START = 1_711_929_600  # 2024-04-01: the evaluation span's calendar quarters
Z80 = float(stats.norm.ppf(0.9))
PERSISTENCE = 0.98  # a width's AR(1) over the origins: a half-life of about ten days
TESTS = ("quarter", "width_fifth", "ratio_fifth")


def design(rng: np.random.Generator) -> pd.DataFrame:
    """Each pair's origins, calendar quarters, and widths and variance ratios that drift
    slowly, the market's and the pair's own (a band calibrated in every cell: they tell nothing
    of whether it holds)."""
    times = START + 3600 * STEP_HOURS * np.arange(ORIGINS, dtype=np.int64)
    quarter = pd.PeriodIndex(pd.to_datetime(times, unit="s"), freq="Q").astype(str)
    market = drifting(rng), drifting(rng)
    frames = [
        pd.DataFrame(
            {
                "origin": times,
                "pair": str(pair),
                "quarter": quarter,
                "width": market[0] + drifting(rng),
                "ratio": market[1] + drifting(rng),
            }
        )
        for pair in range(PAIRS)
    ]
    return pd.concat(frames, ignore_index=True)


def drifting(rng: np.random.Generator) -> np.ndarray:
    shocks = rng.normal(size=ORIGINS)
    out = np.empty(ORIGINS)
    out[0] = shocks[0] / math.sqrt(1 - PERSISTENCE**2)
    for k in range(1, ORIGINS):
        out[k] = PERSISTENCE * out[k - 1] + shocks[k]
    return out


def held(rng: np.random.Generator, hours: int) -> np.ndarray:
    return held_at(rng, (hours,))[hours]


def held_at(rng: np.random.Generator, leads: tuple[int, ...]) -> dict[int, np.ndarray]:
    """Whether a calibrated 80% band held each pair's outcome at each of `leads` hours ahead
    (pairs in `design`'s order), one market for every lead: each pair's hourly moves half the
    market's, so pairs move together, and outcomes from origins closer than the lead share
    their moves."""
    steps = ORIGINS * STEP_HOURS + max(leads)
    market = rng.normal(size=steps)
    start = STEP_HOURS * np.arange(ORIGINS)
    out: dict[int, list[np.ndarray]] = {hours: [] for hours in leads}
    for _ in range(PAIRS):
        path = np.concatenate(
            [[0.0], np.cumsum(math.sqrt(0.5) * (market + rng.normal(size=steps)))]
        )
        for hours in leads:
            moved = np.abs(path[start + hours] - path[start])
            out[hours].append(moved <= Z80 * math.sqrt(hours))
    return {hours: np.concatenate(found).astype(np.float64) for hours, found in out.items()}


def p_values(rows: pd.DataFrame, hours: int) -> dict[str, float]:
    horizon = pd.Timedelta(hours=hours)
    found = conditional(rows, horizon, Times(rows, horizon))["coverage_80_joint_tests"]
    return {name: found[name]["p"] for name in TESTS}


@pytest.mark.slow
@pytest.mark.parametrize("hours", [1, 24])
def test_a_calibrated_band_is_rejected_about_as_often_as_the_level_says(hours: int) -> None:
    """RUNS panels of the panel's size at the horizons where every table's test is a bar: each
    test rejects at 5% within three binomial standard errors of 5% of them, and at 1% at most
    2% (within three binomial standard errors: docs/model.md gives the rates of 1,000 runs)."""
    rng = np.random.default_rng(SEED + hours)
    rows = design(rng)
    found = pd.DataFrame(
        [p_values(rows.assign(held_80=held(rng, hours)), hours) for _ in range(RUNS)]
    )
    for name in TESTS:
        at_5, at_1 = int((found[name] < 0.05).sum()), int((found[name] < 0.01).sum())
        assert abs(at_5 - RUNS * 0.05) <= 3 * math.sqrt(RUNS * 0.05 * 0.95), (name, at_5)
        assert at_1 <= RUNS * 0.02 + 3 * math.sqrt(RUNS * 0.02 * 0.98), (name, at_1)


RUNS = 200


@pytest.mark.slow
def test_every_cell_within_two_and_a_half_standard_errors_fails_most_calibrated_bands() -> None:
    """Issue 70's rule for the tables, every cell of the quarters and the fifths at 1 h, 1 d and
    7 d within 2.5 standard errors of 80%, is no test at a level anyone chose: a band calibrated
    in every cell breaks it in most panels (docs/model.md: 743 of 1,000 with PANELS = 1000;
    here 47 of 60, and the bound four binomial standard errors under 74%)."""
    rng = np.random.default_rng(SEED + 70)
    broken = 0
    for _ in range(PANELS):
        rows = design(rng)
        held_by = held_at(rng, CELL_LEADS)
        broken += any(largest_z(rows.assign(held_80=held_by[h]), h) > 2.5 for h in CELL_LEADS)
    assert broken > PANELS / 2


PANELS = 60
CELL_LEADS = (1, 24, 168)


def largest_z(rows: pd.DataFrame, hours: int) -> float:
    """The largest distance from 80%, in standard errors, of any quarter or fifth."""
    horizon = pd.Timedelta(hours=hours)
    found = conditional(rows, horizon, Times(rows, horizon))
    cells = [
        *found["coverage_80_by_width_fifth"],
        *found["coverage_80_by_ratio_fifth"],
        *found["coverage_80_by_quarter"].values(),
    ]
    return max(abs(cell["coverage"] - 0.8) / cell["se"] for cell in cells)


def test_a_band_too_wide_in_one_quarter_or_one_fifth_is_rejected() -> None:
    rng = np.random.default_rng(SEED)
    rows = design(rng).assign(held_80=held(rng, 24))
    first = rows["quarter"] == rows["quarter"].min()
    widest = rows.groupby("pair")["width"].rank(pct=True) > 0.8
    calm = rng.random(len(rows)) < 0.5  # half the misses there held after all: 90%
    assert min(p_values(rows, 24).values()) > 0.01
    for cells, name in ((first, "quarter"), (widest, "width_fifth")):
        wide = rows.assign(held_80=np.where(cells & calm, 1.0, rows["held_80"]))
        assert p_values(wide, 24)[name] < 0.01


def test_the_covariance_holds_each_cells_one_standard_error() -> None:
    """Its diagonal is each column's variance of the mean as the one standard error has it."""
    rng = np.random.default_rng(SEED)
    values = rng.normal(size=(600, 3)) + rng.normal(size=(600, 1))
    steps = np.arange(600) + (np.arange(600) > 300) * 5  # a gap
    covariance, df = hac_covariance(values, steps, 4)
    for column in range(3):
        one = mean_se(values[:, column], 4, steps)
        assert math.sqrt(covariance[column, column]) == pytest.approx(one.se, rel=1e-9)
        assert df == pytest.approx(one.df)
    assert 0.3 < covariance[0, 1] / covariance[0, 0] < 0.7  # the shared column: half


def test_cells_of_too_few_blocks_or_windows_are_left_out() -> None:
    found = disjoint_times([np.array([0.1, -0.1, 0.05, -0.05]), np.array([0.2, 0.3])])
    assert (found.cells, found.left_out, found.df) == (1, 1, (1.0,))
    assert found.p == pytest.approx(1.0)
    assert math.isnan(shared_times(np.zeros(5), np.zeros((4, 5)), np.arange(4), 1).p)
