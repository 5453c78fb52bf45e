"""The model report and the settings table of the docs pages are generated from the committed
figures and the code, never typed by hand."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from cryptopredict.artifact import BacktestSummary, MixChoice
from cryptopredict.model.scorecard import backtest_table
from tools.report import mix_table, render, render_pages

ROOT = Path(__file__).parents[2]


def test_the_pages_show_exactly_the_generated_report_and_settings():
    for page, text in render_pages(ROOT).items():
        assert (ROOT / page).read_text() == text, f"{page} is stale: run `make report`"


SAME_MAPE = {"n": 100, "lags": 1, "mape_diff": 0.0, "mape_se": 0.0001}


def scores(mape: float, coverage: tuple[float, float, float], interval: float) -> dict:
    return {
        "n": 100,
        "mae": 1.0,
        "rmse": 1.0,
        "mape": mape,
        "coverage": coverage[1],
        "coverage_by_level": dict(zip(("50", "80", "95"), coverage, strict=True)),
        "interval_score": interval,
        "quantile_score": interval / 10,
    }


def test_the_backtest_table_says_tie_within_two_standard_errors():
    summary = {
        "origins": 2500,
        "origin_step_hours": 7,
        "refits": 0,
        "interval_width": 0.8,
        "levels": [50, 80, 95],
        "boundary": {
            "first_validation_origin": "2023-06-26T16:00:00Z",
            "last_validation_outcome": "2024-06-26T15:59:59Z",
            "first_evaluation_origin": "2024-06-26T16:00:00Z",
        },
        "1h": {
            "prophet": scores(0.0031, (0.49, 0.79, 0.95), 0.0171),
            "naive": scores(0.0031, (0.51, 0.80, 0.945), 0.0189),
            "drift": {"n": 100, "mae": 1.0, "rmse": 1.0, "mape": 0.0032},
            "prophet_vs_naive": {
                **SAME_MAPE,
                "interval_score_diff": -0.0018,
                "interval_score_se": 0.00025,
                "quantile_score_diff": -0.0001,
                "quantile_score_se": 0.00002,
            },
        },
        "7d": {
            "prophet": scores(0.043, (0.47, 0.80, 0.96), 0.2206),
            "naive": scores(0.043, (0.50, 0.81, 0.94), 0.2201),
            "prophet_vs_naive": {
                **SAME_MAPE,
                "interval_score_diff": 0.0004,
                "interval_score_se": 0.0037,
                "quantile_score_diff": 0.0001,
                "quantile_score_se": 0.0002,
            },
        },
    }
    table = backtest_table(msgspec.convert(summary, BacktestSummary)).splitlines()
    assert table[0].startswith("| horizon | MAPE served / naive | coverage 50 / 80 / 95%, served")
    assert table[2] == (
        "| 1h | 0.3% / 0.3% | 49.0% / 79.0% / 95.0% | 51.0% / 80.0% / 94.5% | 0.0171 / 0.0189 "
        "| -0.00180 (0.00025) | -0.00010 (0.00002) | **lower** |"
    )
    assert table[3].endswith("| tie |")
    assert len(table) == 6, "horizons the data cannot reach (1d, 30d here) have no row"
    # No refit on the evaluation origins reads as what it means: the last close is served.
    assert table[-1].startswith(
        "2500 evaluation origins 7 hours apart; the point forecast there is the last close"
    )


def test_the_band_method_table_bolds_the_method_served_at_each_horizon():
    mix = {
        "candidates": [
            {"weight": 0.0, "1h": 0.0184, "7d": 0.2895},
            {"weight": 0.5, "1h": 0.0186, "7d": 0.2878},
            {"weight": 1.0, "1h": 0.0202, "7d": 0.2882},
        ],
        "chosen": {"1h": 0.0, "7d": 0.5},
    }
    mix["score"] = "mean 80% interval score"
    table = mix_table(msgspec.convert(mix, MixChoice)).splitlines()
    assert table[0] == "| quantiles | interval score 1h | interval score 7d |"
    assert table[2] == "| scaled band alone | **0.01840** | 0.28950 |"
    assert table[3] == "| average of the two | 0.01860 | **0.28780** |"
    assert table[4] == "| empirical band alone | 0.02020 | 0.28820 |"


def test_a_page_without_a_section_is_an_error():
    with pytest.raises(ValueError, match="no generated:backtest section"):
        render("# nothing here\n", {"backtest": "table"})
