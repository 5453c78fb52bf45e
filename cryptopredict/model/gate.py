"""The quality gate: a model that fails any rule is never written, let alone served."""

from __future__ import annotations

import numpy as np

from cryptopredict.artifact.arrays import Grid
from cryptopredict.artifact.schema import EvaluationScores, ScoresAtHorizon
from cryptopredict.config import Gate


class GateError(Exception):
    """The message names each number and its bound."""


def check_gate(grid: Grid, summary: EvaluationScores | None, rules: Gate) -> None:
    """GateError unless every grid value is usable and the 7-day scores are in bounds."""
    failures = []
    for name in (name for name in grid.names() if name.startswith("yhat")):
        values = grid[name]
        bad = ~np.isfinite(values) | (values <= 0)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            failures.append(
                f"{name} is {values[first]} at grid point {first} ({int(bad.sum())} bad values; "
                "every value must be finite and positive)"
            )
    if summary is not None:
        failures += _backtest_failures(summary, rules)
    if failures:
        raise GateError("quality gate failed: " + "; ".join(failures))


def _backtest_failures(summary: EvaluationScores, rules: Gate) -> list[str]:
    failures = []
    week = summary.d7 or ScoresAtHorizon()
    served, naive = week.prophet, week.naive
    coverage = served.coverage if served else None
    if coverage is None:
        failures.append("the backtest measured no 7-day coverage for the served model")
    elif not rules.gate_min_coverage <= coverage <= rules.gate_max_coverage:
        width = summary.interval_width
        failures.append(
            f"7-day coverage of the {width:.0%} band is {coverage:.1%}, outside "
            f"[{rules.gate_min_coverage:.0%}, {rules.gate_max_coverage:.0%}] (GATE_MIN_COVERAGE, "
            "GATE_MAX_COVERAGE)"
        )
    if served and naive:
        ratio = served.mape / naive.mape
        if ratio > rules.gate_max_mape_ratio:
            failures.append(
                f"7-day MAPE is {served.mape:.2%}, {ratio:.1f}x the naive baseline's "
                f"{naive.mape:.2%}; at most {rules.gate_max_mape_ratio:g}x is allowed "
                "(GATE_MAX_MAPE_RATIO)"
            )
    return failures
