"""The report check of `make e2e` (`tests/e2e/model_report.py`): choices, verdicts and counts
exact, each figure within a fifth of its own sampling error; on a report trained on another CPU
(`other_cpu/`, which it must accept) and on that report changed as a real change would."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest

from tests.e2e.model_report import (
    COMMITTED,
    FLOOR,
    Sample,
    differences,
    tolerance,
    tolerances,
)
from tools.report import REPORTED, report_file

OTHER_CPU = Path(__file__).parent / "other_cpu"
NAMES = [report_file(asset) for asset in REPORTED]


def read(folder: Path, name: str) -> dict:
    return json.loads((folder / name).read_text())


@pytest.fixture(params=NAMES)
def pair(request) -> tuple[dict, dict]:
    """A committed report and the one another CPU trained from the same code."""
    return read(OTHER_CPU / "committed", request.param), read(OTHER_CPU / "trained", request.param)


def value_at(report: dict, path: str):
    """The value at `path` (dots and [index]) in `report`."""
    at = report
    for part in path.replace("[", ".").replace("]", "").split("."):
        at = at[int(part)] if isinstance(at, list) else at[part]
    return at


def moved(report: dict, path: str, change) -> dict:
    """`report` with the value at `path` (dots and [index]) replaced by `change(value)`."""
    changed = copy.deepcopy(report)
    *parents, last = path.replace("[", ".").replace("]", "").split(".")
    holder = changed
    for part in parents:
        holder = holder[int(part)] if isinstance(holder, list) else holder[part]
    key = int(last) if isinstance(holder, list) else last
    holder[key] = change(holder[key])
    return changed


def test_what_another_cpu_trains_passes(pair):
    """275 figures differ across the two, two standard errors of a fifth's coverage by 0.2%
    and 0.3% (each failed the check before this one)."""
    committed, trained = pair
    assert committed != {**trained, "commit": committed["commit"]}
    assert list(differences(committed, trained)) == []


def test_the_committed_report_matches_itself():
    for name in NAMES:
        committed = read(COMMITTED, name)
        assert list(differences(committed, copy.deepcopy(committed))) == []


def test_every_figure_of_the_committed_report_has_a_tolerance():
    """A figure the check could not hold to its sampling error (no count of origins at or
    above it) would fail `make e2e` however little it moved: caught here first."""
    for name in NAMES:
        found = dict(tolerances(read(COMMITTED, name)))
        assert len(found) > 500
        assert [path for path, allowed in found.items() if not allowed >= FLOOR] == []


@pytest.mark.parametrize(
    ("path", "change"),
    [
        ("damping.chosen", lambda v: v + 1.0),
        ("band.chosen.floor", lambda v: v + 1e-9),
        ("band.chosen.kind", lambda v: "other"),
        ("damping.candidates[1].tau", lambda v: 168.0),
        ("band.candidates[0].pool_days", lambda v: v + 1),
    ],
)
def test_a_changed_choice_fails(pair, path, change):
    committed, trained = pair
    found = list(differences(committed, moved(trained, path, change)))
    assert len(found) == 1
    assert found[0].startswith(f"{path}: committed ")


@pytest.mark.parametrize(
    ("path", "change"),
    [
        ("summary.1d.prophet.n", lambda v: v + 1),
        ("summary.origins", lambda v: v - 1),
        ("data.sha256", lambda v: "0" * 64),
        ("data.rows", lambda v: v + 1),
    ],
)
def test_a_changed_count_or_string_fails(pair, path, change):
    committed, trained = pair
    (found,) = differences(committed, moved(trained, path, change))
    assert found.startswith(f"{path}: committed ")


def test_a_changed_verdict_fails_though_its_figures_moved_within_their_tolerance(pair):
    """The 1-day interval score's difference with naive 4% of two SEs beyond them when
    committed, 4% inside when trained: 0.16 SE apart, within its tolerance (a fifth of an SE),
    but the verdict training settled went from a difference to a tie. (These reports were
    recorded before training wrote its verdicts: each side gets the one its figures carry.)"""
    committed, trained = pair
    path = "summary.1d.prophet_vs_naive"
    versus = committed["summary"]["1d"]["prophet_vs_naive"]
    edge = math.copysign(2 * versus["interval_score_se"], versus["interval_score_diff"])
    was = "better" if edge < 0 else "worse"
    committed = moved(committed, path, lambda v: {**v, "interval_score_diff": 1.04 * edge})
    committed = moved(committed, path, lambda v: {**v, "verdict": was})
    trained = moved(trained, path, lambda v: {**v, "interval_score_diff": 0.96 * edge})
    trained = moved(trained, path, lambda v: {**v, "verdict": "tie"})
    assert list(differences(committed, trained)) == [
        f"{path}.verdict: committed {was!r}, trained 'tie'"
    ]


@pytest.mark.parametrize(
    "path",
    [
        "summary.1d.prophet.coverage_by_level.80",
        "summary.1d.prophet.coverage_se_by_level.80",
        "summary.1d.naive.coverage_by_width_quintile.80[2].se",
        "summary.1d.prophet.coverage_by_width_quintile.95[4].coverage",
        "summary.1d.prophet.coverage_by_width_quintile.80[2].width_to",
        "summary.1d.prophet_vs_naive.quantile_score_diff",
        "summary.7d.naive.mae",
        "summary.30d.prophet.interval_score_by_level.95",
        "damping.candidates[0].mape_1d",
        "band.candidates[0].score_7d",
        "hindcast.coverage_by_level.80",
    ],
)
def test_a_figure_moved_past_its_tolerance_fails_and_within_it_passes(pair, path):
    committed, trained = pair
    allowed = dict(tolerances(committed))[path]
    at = value_at(committed, path)
    past = moved(trained, path, lambda v: at + 1.01 * allowed)
    (found,) = differences(committed, past)
    assert found.startswith(f"{path}: committed {at!r}, trained ")
    assert list(differences(committed, moved(trained, path, lambda v: at - 0.99 * allowed))) == []


def test_each_figure_is_held_to_a_fifth_of_its_own_sampling_error():
    n2503 = Sample(2503, lags=4)
    # a figure with its SE beside it: a fifth of it
    assert tolerance("interval_score_diff", -0.003, n2503, se=0.0009) == pytest.approx(0.00018)
    # a coverage: a fifth of its SE, and never less than one origin of its n
    assert tolerance("coverage", 0.8, n2503, se=0.011) == pytest.approx(0.0022)
    assert tolerance("coverage", 0.95, Sample(501), se=0.005) == pytest.approx(1 / 501)
    # without an SE, the binomial one
    assert tolerance("coverage_1d", 0.8, Sample(3009)) == pytest.approx(
        0.2 * math.sqrt(0.16 / 3009)
    )
    # a standard error: a fifth of its own, SE sqrt((lags + 1) / 2n)
    assert tolerance("se", 0.0225, Sample(501, lags=1)) == pytest.approx(
        0.2 * 0.0225 * math.sqrt(2 / 1002)
    )
    # ... and at least what one origin moves the SE of a coverage near 1 by
    assert tolerance("se", 0.01, Sample(501, lags=1), coverage=0.99) == pytest.approx(
        0.01 * 0.98 / (2 * 0.99 * 0.01 * 501)
    )
    # any other figure is a mean of n scores: |value| / sqrt(n)
    assert tolerance("mae", 1472.0, n2503) == pytest.approx(0.2 * 1472.0 / math.sqrt(2503))
    # below FLOOR, rounding: a difference of two forecasts that agree
    assert tolerance("mape_diff", 1.4e-17, n2503, se=1.1e-17) == FLOOR


def test_a_figure_with_no_count_of_origins_is_named():
    (found,) = differences({"mape": 0.0188}, {"mape": 0.0190})
    assert found.startswith("mape: a figure with no count of origins")
    assert list(differences({"mape": 0.0188}, {"mape": 0.0188})) == []


def test_the_count_nearest_a_figure_is_its_own():
    """A fifth's `n` over its model's, the band's `validation_origins` for its candidates."""
    report = {
        "n": 2503,
        "lags": 4,
        "cells": [{"n": 501, "coverage": 0.5, "se": 0.02}],
        "band": {"validation_origins": 3009, "candidates": [{"score": 1.0}]},
    }
    found = dict(tolerances(report))
    assert found["cells[0].coverage"] == pytest.approx(0.2 * 0.02)
    assert found["cells[0].se"] == pytest.approx(0.2 * 0.02 * math.sqrt(5 / 1002))
    assert found["band.candidates[0].score"] == pytest.approx(0.2 / math.sqrt(3009))
