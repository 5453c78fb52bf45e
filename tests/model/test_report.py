"""The README's model report is generated from the committed figures, never typed by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from cryptopredict.model.report import backtest_table, render, sections

ROOT = Path(__file__).parents[2]


def test_the_readme_shows_exactly_the_generated_report():
    readme = (ROOT / "README.md").read_text()
    assert render(readme, sections(ROOT / "docs" / "model-report")) == readme, (
        "README is stale: run `make report`"
    )


def test_the_backtest_table_lists_the_served_model_first_with_fractions_as_percentages():
    summary = {
        "origins": 30,
        "interval_width": 0.8,
        "1d": {"naive": {"mape": 0.0171}, "prophet": {"mape": 0.0172, "coverage": 0.8}},
        "7d": {"naive": {"mape": 0.043}, "prophet": {"mape": 0.044, "coverage": 0.79}},
        "30d": {"naive": {"mape": 0.095}, "prophet": {"mape": 0.096, "coverage": 0.81}},
    }
    table = backtest_table(summary).splitlines()
    assert table[0] == (
        "| model | MAPE 1d | MAPE 7d | MAPE 30d | 80% coverage 1d | 80% coverage 7d "
        "| 80% coverage 30d |"
    )
    assert table[2] == "| prophet | 1.7% | 4.4% | 9.6% | 80.0% | 79.0% | 81.0% |"
    assert table[3] == "| naive | 1.7% | 4.3% | 9.5% |  |  |  |"
    assert table[-1] == "30 rolling origins."


def test_a_readme_without_a_section_is_an_error():
    with pytest.raises(ValueError, match="no generated:backtest section"):
        render("# nothing here\n", {"backtest": "table"})
