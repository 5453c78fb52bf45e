"""A band calibrated in every cell, simulated on the panel's design (docs/model.md, "The rule
the tables are held to"): `python -m tools.simulated_panel [--panels 1000]` counts how often it
passes the rule (`joint_coverage.rule`) and what breaks it where it does not, and writes the
counts to `docs/model-report/rule-simulation.json`, which `make report` renders on the model
page; `tests/tools/test_joint_coverage.py` runs fewer panels of the same draws.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import signal, stats

from tools.joint_coverage import CELL_Z, RULED, TABLES, cells_of, rule
from tools.panel_figures import Times, conditional, where_wide

SEED = 20260660
STEP_HOURS = 7  # the panel's band origins
ORIGINS = 2500  # two years of them, as the panel's evaluation span
PAIRS = 16
START = 1_711_929_600  # 2024-04-01: the evaluation span's calendar quarters
Z80 = float(stats.norm.ppf(0.9))
PERSISTENCE = 0.98  # a width's AR(1) over the origins: a half-life of about ten days
LEADS = (1, 24, 168)  # hours: the ruled horizons, `RULED`
OUT = Path("docs/model-report/rule-simulation.json")


def design(rng: np.random.Generator) -> pd.DataFrame:
    """Each pair's origins, calendar quarters, and widths and variance ratios that drift
    slowly, the market's and the pair's own (a band calibrated in every cell: they tell nothing
    of whether it holds)."""
    times = START + 3600 * STEP_HOURS * np.arange(ORIGINS, dtype=np.int64)
    quarter = pd.PeriodIndex(pd.to_datetime(times, unit="s"), freq="Q").astype(str)
    market = drifting(rng), drifting(rng)
    own = np.array([(drifting(rng), drifting(rng)) for _ in range(PAIRS)])  # pair, width|ratio
    return pd.DataFrame(
        {
            "origin": np.tile(times, PAIRS),
            "pair": np.repeat(np.arange(PAIRS).astype(str), ORIGINS),
            "quarter": np.tile(quarter, PAIRS),
            "width": (market[0] + own[:, 0]).ravel(),
            "ratio": (market[1] + own[:, 1]).ravel(),
        }
    )


def drifting(rng: np.random.Generator) -> np.ndarray:
    """An AR(1) of `PERSISTENCE`, started from its stationary distribution."""
    shocks = rng.normal(size=ORIGINS)
    shocks[0] /= math.sqrt(1 - PERSISTENCE**2)
    return signal.lfilter([1.0], [1.0, -PERSISTENCE], shocks)


def held_at(rng: np.random.Generator, leads: tuple[int, ...]) -> dict[int, np.ndarray]:
    """Whether a calibrated 80% band held each pair's outcome at each of `leads` hours ahead
    (pairs in `design`'s order), one market for every lead: each pair's hourly moves half the
    market's, so pairs move together, and outcomes from origins closer than the lead share
    their moves."""
    steps = ORIGINS * STEP_HOURS + max(leads)
    market = rng.normal(size=steps)
    start = STEP_HOURS * np.arange(ORIGINS)
    paths = np.cumsum(math.sqrt(0.5) * (market + rng.normal(size=(PAIRS, steps))), axis=1)
    paths = np.pad(paths, ((0, 0), (1, 0)))  # each pair's from 0
    moved = {hours: np.abs(paths[:, start + hours] - paths[:, start]).ravel() for hours in leads}
    return {hours: (moved[hours] <= Z80 * math.sqrt(hours)).astype(np.float64) for hours in leads}


def panel(rng: np.random.Generator) -> tuple[dict[str, dict], bool]:
    """One simulated panel's tables at the ruled horizons, drawn from one market path, and
    whether every width fifth and every pair is within `WIDE_Z` at 1h (`where_wide`)."""
    rows = design(rng)
    held = held_at(rng, LEADS)
    found = {}
    for label, hours in zip(RULED, LEADS, strict=True):
        horizon = pd.Timedelta(hours=hours)
        mine = rows.assign(held_80=held[hours])
        found[label] = conditional(mine, horizon, Times(mine, horizon))
    return found, where_wide(rows.assign(horizon="1h", held_80=held[1]))["holds"]


def simulated(panels: int, seed: int = SEED + 78) -> dict:
    """Over `panels` simulated panels: how many pass the rule, how many each kind of clause
    breaks, how many a cell read as a normal z (no degrees of freedom) would break, how many
    each table's joint test rejects at 1% and at 5%, and how many hold issue 111's clause at 1h."""
    rng = np.random.default_rng(seed)
    passed, as_normal, wide = 0, 0, 0
    broken: Counter[str] = Counter()
    rejected = {level: Counter[str]() for level in (1, 5)}  # each table's joint test, at 1 and 5%
    for _ in range(panels):
        tables, held = panel(rng)
        found, wide = rule(tables), wide + held
        passed += found["holds"]
        broken.update({_kind(said) for said in found["breaches"]})
        for level, counted in rejected.items():
            counted.update(
                f"{label} {name}"
                for label, figures in tables.items()
                for name, test in figures["coverage_80_joint_tests"].items()
                if test["p"] < level / 100
            )
        as_normal += any(
            abs(cell["z"]) > CELL_Z
            for figures in tables.values()
            for key in TABLES.values()
            for cell in cells_of(figures[key]).values()
            if not cell["too_few_windows"]
        )
    return {
        "panels": panels,
        "seed": seed,
        "passed": passed,
        "broken_by": dict(sorted(broken.items())),
        "broken_reading_z_as_normal": as_normal,
        "joint_test_rejected_at_1pct": dict(sorted(rejected[1].items())),
        "joint_test_rejected_at_5pct": dict(sorted(rejected[5].items())),
        "where_wide_1h_held": wide,
    }


def _kind(breach: str) -> str:
    """A breach's horizon, table and clause ('1d width_fifth trend')."""
    label, name = breach.split()[:2]
    clause = "joint test" if "joint" in breach else "trend" if "trend" in breach else "cell"
    return f"{label} {name.rstrip(':')} {clause}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.simulated_panel", description=__doc__)
    parser.add_argument("--panels", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    args.out.write_text(json.dumps(simulated(args.panels), indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
