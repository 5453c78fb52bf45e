"""The report check of `make e2e` (`tests/e2e/model_report.py`): choices exact, figures within a
tenth of their standard error (or 0.1% where the report gives none), on the committed report
itself, moved as another CPU moves it and as a real change would."""

from __future__ import annotations

import copy
import json

import pytest

from tests.e2e.model_report import COMMITTED, differences, tolerance


@pytest.fixture
def committed() -> dict:
    return json.loads((COMMITTED / "backtest.json").read_text())


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


def test_the_committed_report_matches_itself(committed):
    assert list(differences(committed, copy.deepcopy(committed))) == []


def test_what_another_cpu_moves_passes(committed):
    """Seen on an AMD EPYC: the 1-day damping MAPE 7e-5 of itself higher, band scores in the
    16th digit, and a paired difference of agreeing forecasts in its rounding noise."""
    other = moved(committed, "damping.candidates[0].mape_1d", lambda v: v * (1 + 7e-5))
    other = moved(other, "band.candidates[0].score_1d", lambda v: v * (1 + 3e-16))
    other = moved(other, "summary.1d.prophet_vs_naive.mape_diff", lambda v: -2 * v)
    assert list(differences(committed, other)) == []


@pytest.mark.parametrize(
    ("path", "change"),
    [
        ("damping.chosen", lambda v: v + 1e-9),
        ("band.chosen.floor", lambda v: v + 1e-9),
        ("damping.candidates[1].tau", lambda v: 168.0),
        ("band.chosen.kind", lambda v: "other"),
        ("summary.1d.prophet.n", lambda v: v + 1),
        ("data.sha256", lambda v: "0" * 64),
    ],
)
def test_a_choice_or_a_count_that_changes_at_all_fails(committed, path, change):
    found = list(differences(committed, moved(committed, path, change)))
    assert len(found) == 1
    assert found[0].startswith(path)


def test_a_figure_moved_by_a_fifth_of_its_standard_error_fails(committed):
    se = committed["summary"]["1d"]["prophet"]["coverage_se_by_level"]["80"]
    path = "summary.1d.prophet.coverage_by_level.80"
    (found,) = differences(committed, moved(committed, path, lambda v: v + se / 5))
    assert found.startswith(path)
    assert list(differences(committed, moved(committed, path, lambda v: v + se / 20))) == []
    paired = "summary.1d.prophet_vs_naive.interval_score_diff"
    se = committed["summary"]["1d"]["prophet_vs_naive"]["interval_score_se"]
    (found,) = differences(committed, moved(committed, paired, lambda v: v + se / 5))
    assert found.startswith(paired)


def test_a_figure_without_a_standard_error_may_move_a_tenth_of_a_percent(committed):
    path = "summary.1d.prophet.mae"
    assert list(differences(committed, moved(committed, path, lambda v: v * 1.0009))) == []
    (found,) = differences(committed, moved(committed, path, lambda v: v * 1.01))
    assert found.startswith(path)


def test_the_tolerance_is_a_tenth_of_the_standard_error_and_never_below_rounding():
    assert tolerance(0.8, 0.011) == pytest.approx(0.0011)
    assert tolerance(1472.0, None) == pytest.approx(1.472)
    assert tolerance(1.4e-17, 1.1e-17) == 1e-12
