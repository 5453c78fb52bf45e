"""What the model report must show for the product's model to count as better than its naive
baseline. `make test` reads the committed report (docs/model-report/backtest.json, which
`make report` writes); `make e2e` (`--e2e`) runs the same bars on the report written from the
model it has just trained on the embedded hourly BTC data, so a change that worsens the band
fails there whatever the committed file says."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.model_report import COMMITTED, trained_reports
from tests.e2e.training import trained_artifacts

# The committed report in `make test`, the one written from the trained model in `make e2e`.
pytestmark = pytest.mark.e2e(also_in_make_test=True)

NOMINAL = {"50": 0.5, "80": 0.8, "95": 0.95}
# Issue 13's bars that the last full run misses, within one standard error: no choice made on
# the validation origins brought them inside (docs/model.md, "Read this plainly").
# Strict: when a run meets a bar, its test fails until this list says so.
MISSED: dict[tuple[str, ...], str] = {}  # the panel's band (issue 33) meets every one


@pytest.fixture(scope="module")
def report(request: pytest.FixtureRequest) -> dict[str, Any]:
    if request.config.getoption("--e2e"):
        return trained_reports(trained_artifacts())["backtest.json"]
    return json.loads((COMMITTED / "backtest.json").read_text())


@pytest.fixture(scope="module")
def summary(report: dict[str, Any]) -> dict[str, Any]:
    return report["summary"]


def missed(*key: str):
    """The parameters `key`, expected to fail while the last run misses that bar."""
    reason = MISSED.get(key)
    values = key[1:]
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(*values, marks=marks)


def test_the_report_scores_enough_origins_at_every_horizon(summary):
    assert summary["origins"] >= 100
    for label in ("1h", "1d", "7d", "30d"):
        for model in ("prophet", "naive"):
            metrics = summary[label][model]
            assert {"interval_score", "coverage_by_level", "quantile_score"} <= set(metrics)
            assert metrics["n"] >= 100
        assert {"interval_score_diff", "interval_score_se"} <= set(
            summary[label]["prophet_vs_naive"]
        )


@pytest.mark.parametrize("label", ["1h", "1d"])
def test_the_served_band_beats_the_naive_band_within_a_day(summary, label):
    versus = summary[label]["prophet_vs_naive"]
    assert versus["interval_score_diff"] < -2 * versus["interval_score_se"]


@pytest.mark.parametrize("label", [missed("bar 2", "7d"), missed("bar 2", "30d")])
def test_the_served_band_is_no_worse_than_naive_further_out(summary, label):
    versus = summary[label]["prophet_vs_naive"]
    assert versus["interval_score_diff"] <= versus["interval_score_se"]


@pytest.mark.parametrize("label", ["7d", "30d"])
def test_further_out_the_served_band_ties_naive_at_worst(summary, label):
    versus = summary[label]["prophet_vs_naive"]
    assert versus["interval_score_diff"] <= 2 * versus["interval_score_se"]


BANDS = {"50": (0.45, 0.55), "80": (0.75, 0.85), "95": (0.92, 0.97)}


@pytest.mark.parametrize(
    ("label", "level"),
    [missed("bar 1", label, level) for label in ("1d", "7d", "30d") for level in BANDS],
)
def test_the_bands_hold_close_to_their_level(summary, label, level):
    low, high = BANDS[level]
    assert low <= summary[label]["prophet"]["coverage_by_level"][level] <= high


# Twelve coverages (three levels, four horizons) checked together: each within the two-sided
# critical value that holds the family's false alarms to 5% (Bonferroni, 0.05 / 12 split between
# the tails: 2.87 standard errors). Two standard errors each would fail a calibrated band on
# about two runs in five.
FAMILY_CRITICAL = 2.87


@pytest.mark.parametrize("label", ["1h", "1d", "7d", "30d"])
@pytest.mark.parametrize("level", ["50", "80", "95"])
def test_no_coverage_is_further_from_its_level_than_the_familys_critical_value(
    summary, label, level
):
    served = summary[label]["prophet"]
    gap = served["coverage_by_level"][level] - NOMINAL[level]
    assert abs(gap) <= FAMILY_CRITICAL * served["coverage_se_by_level"][level]


def test_the_served_hindcast_holds_the_last_years_closes_as_an_80_percent_band_should(report):
    hindcast = report["hindcast"]
    assert hindcast["days"] == 365
    assert hindcast["bars"] >= 365 * 24 * 0.99
    assert 0.70 <= hindcast["coverage_by_level"]["80"] <= 0.90
