"""The bars the served band is held to (`tools/panel_bars.py`, issues 78 and 107): on the panel's
evaluation origins coverage within its range and the tables' rule; on the final test no peer
ahead of it beyond two standard errors, each peer's standing said; each breach said plainly."""

from __future__ import annotations

import copy

from tools.panel_bars import bars
from tools.peers import ROWS

CELL = {"normal_z": 0.0, "too_few_windows": False}
TEST = {"p": 0.5}
TABLES = ("quarter", "width_fifth", "ratio_fifth")


def pooled(coverage: float = 0.8) -> dict:
    figures = {
        "coverage": {"80": coverage},
        "coverage_80_by_quarter": {"2025Q1": dict(CELL), "2025Q2": dict(CELL)},
        "coverage_80_by_width_fifth": [dict(CELL) for _ in range(5)],
        "coverage_80_by_ratio_fifth": [dict(CELL) for _ in range(5)],
        "coverage_80_joint_tests": {name: dict(TEST) for name in TABLES},
        "coverage_80_trend": {"width_fifth": {"z": 1.0}, "ratio_fifth": {"z": 0.0}},
    }
    return {label: copy.deepcopy(figures) for label in ("1h", "1d", "7d")}


def peers(diff: float = -0.01, se: float = 0.002) -> dict:
    found = {name: {"served_minus_this": diff, "served_minus_this_se": se} for name in ROWS}
    return {label: copy.deepcopy(found) for label in ("1h", "1d", "7d")}


def test_a_band_that_holds_every_clause_holds_the_bars():
    found = bars(pooled(), peers())
    assert found["breaches"] == []
    assert found["holds"]
    assert set(found["final_test"]["1d"].values()) == {"ahead"}


def test_coverage_out_of_range_and_a_peer_ahead_on_the_final_test_are_breaches_a_tie_is_said():
    figures = pooled()
    figures["7d"]["coverage"]["80"] = 0.85  # [76, 84] at 7 days
    them = peers()
    them["1h"]["garch-t"]["served_minus_this"] = 0.005  # GARCH-t ahead beyond 2 SE
    them["1d"]["fhs"]["served_minus_this"] = -0.003  # ahead within 2 SE: a tie, said so
    found = bars(figures, them)
    assert found["breaches"] == [
        "7d 80% coverage 85.0% outside [76%, 84%]",
        "1h final test: garch-t ahead of the served band: +0.50 points of naive (SE 0.20)",
    ]
    assert not found["holds"]
    assert found["final_test"]["1d"]["fhs"] == "tie"
    assert found["final_test"]["1h"]["garch-t"] == "behind"


def test_the_rule_breaches_are_the_bars_and_a_too_few_windows_cell_is_not_read():
    figures = pooled()
    figures["1d"]["coverage_80_trend"]["width_fifth"]["z"] = 3.1
    figures["7d"]["coverage_80_by_quarter"]["2025Q2"].update(normal_z=9.0, too_few_windows=True)
    figures["1h"]["coverage_80_by_ratio_fifth"][4]["normal_z"] = -4.2
    found = bars(figures)
    assert found["breaches"] == [
        "1h ratio_fifth 5: 4.2 SE from the level",
        "1d width_fifth: trend z = +3.10",
    ]
    assert found["final_test"] == {}
