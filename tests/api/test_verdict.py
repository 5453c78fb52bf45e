"""The model card's verdict as training settled it (`cryptopredict.standard_error`: a tie within
the critical value, too few windows where no critical value holds), the figures behind every
claim, the relative differences with their bounds, and what the point forecast is, said
plainly."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from cryptopredict.api.serving.verdict import point_forecast, verdict
from cryptopredict.artifact.schema import EvaluationScores, ModelConfig, ServedNames, Settlement
from cryptopredict.model.build import PANEL_DAMPING
from tests.plain_words import TERMS_OF_ART

WHEN = datetime(2024, 6, 26, tzinfo=UTC)
COVERAGE = {"50": 0.5, "80": 0.8, "95": 0.95}
SE = {"50": 0.01, "80": 0.01, "95": 0.005}


def _scores(score: float) -> dict[str, Any]:
    return {
        "n": 100, "mape": 0.01, "mae": 1.0, "rmse": 1.0, "interval_score": score,
        "coverage_by_level": COVERAGE, "coverage_se_by_level": SE,
    }  # fmt: skip


def _horizon(served: float, naive: float, se: float, verdict: str | None = None) -> dict[str, Any]:
    versus = {
        "n": 100, "lags": 1, "mape_diff": 0.0, "mape_se": 0.0,
        "interval_score_diff": served - naive, "interval_score_se": se, "df": 37.5,
        "interval_score_relative": served / naive - 1,
        "interval_score_relative_bound": (served - naive + 1.687 * se) / naive,
        "verdict": verdict,
    }  # fmt: skip
    return {"prophet": _scores(served), "naive": _scores(naive), "prophet_vs_naive": versus}


def _summary(**horizons: dict[str, Any]) -> EvaluationScores:
    boundary = dict.fromkeys(
        ("first_validation_origin", "last_validation_outcome", "first_evaluation_origin"), WHEN
    )
    return msgspec.convert(
        {
            "origins": 101,
            "origin_step_hours": 7.0,
            "refits": 0,
            "interval_width": 0.8,
            "levels": [50, 80, 95],
            "boundary": boundary,
            **horizons,
        },
        EvaluationScores,
    )


def _params(damping_hours: float | None, *, anchored: bool = True) -> ModelConfig:
    return ModelConfig(
        name="default", target="log", growth="linear", seasonality_mode="additive",
        changepoint_prior_scale=0.05, changepoint_range=0.8, window_days=365,
        interval_width=0.8, anchored=anchored, damping_hours=damping_hours,
        calibrated=True, price="close",
    )  # fmt: skip


def test_each_verdict_shows_both_scores_their_difference_and_the_relative_one():
    summary = _summary(
        **{
            "1h": _horizon(0.0172, 0.0189, 0.0002, "better"),  # 8.5 SE lower
            "1d": _horizon(0.0853, 0.0883, 0.0009, "better"),  # 3.3 SE lower
            "7d": _horizon(0.2202, 0.2201, 0.0023, "tie"),  # within
            "30d": _horizon(0.5062, 0.4462, 0.025, "worse"),  # 2.4 SE higher
        }
    )
    found = verdict(_params(0.0), summary, "BTC/USD")
    assert [row.verdict for row in found.horizons] == ["better", "better", "tie", "worse"]
    assert found.sentence == (
        "Backtested on 101 evaluation origins and scored by the 80% band's interval score "
        "(lower is better), the BTC/USD model is better than the naive forecast, beyond the "
        "critical value, at 1h (0.01720 against 0.01890, difference -0.00170 ± 0.00020, "
        "-9.0% relative (95% bound -7.2%)) and 1d (0.08530 against 0.08830, difference "
        "-0.00300 ± 0.00090, -3.4% relative (95% bound -1.7%)), ties with the naive forecast, "
        "within the critical value, at 7d (0.2202 against 0.2201, difference +0.0001 ± 0.0023, "
        "+0.0% relative (95% bound +1.8%)) and is worse than the naive forecast, beyond the "
        "critical value, at 30d (0.506 against 0.446, difference +0.060 ± 0.025, +13.4% "
        "relative (95% bound +22.9%)); naive is the last close carried forward, with a year's "
        "returns as its band."
    )
    assert found.horizons[0].relative == pytest.approx(0.0172 / 0.0189 - 1)
    assert found.horizons[0].relative_bound == pytest.approx((-0.0017 + 1.687 * 0.0002) / 0.0189)
    assert found.horizons[0].coverage == COVERAGE
    assert found.horizons[0].naive_coverage_se == SE


def test_the_summary_says_in_one_plain_sentence_what_the_line_and_band_are_and_how_they_scored():
    summary = _summary(
        **{
            "1h": _horizon(0.0172, 0.0189, 0.0002, "better"),
            "1d": _horizon(0.0853, 0.0883, 0.0009, "better"),
            "7d": _horizon(0.2202, 0.2201, 0.0023, "tie"),
            "30d": _horizon(0.5062, 0.4462, 0.025, "too few windows"),
        }
    )
    said = verdict(_params(0.0), summary, "BTC/USD").summary
    assert said == (
        "The line is the last price, carried forward, and the 80% band around it is where the "
        "price should be 80% of the time; tested on 101 past forecasts against a simple rule "
        "(the last price, with a year of price moves as its band), the band beat it an hour and "
        "a day ahead, tied with it a week ahead and had too few independent windows to be "
        "judged against it 30 days ahead."
    )
    assert said.count(".") == 1  # one sentence, no figure beyond the count of forecasts
    assert not re.search(r"\d\.\d", said)
    assert not TERMS_OF_ART.search(said)


@pytest.mark.parametrize(
    ("damping_hours", "anchored", "line"),
    [
        (0.0, True, "The line is the last price, carried forward,"),
        (None, True, "The line is the model's predicted path, started at the last price,"),
        (None, False, "The line is the model's predicted path,"),
        (72.0, True, "The line is the last price plus part of the model's predicted move, less"),
    ],
)
def test_the_summary_names_the_line_as_the_damping_makes_it_in_plain_words(
    damping_hours, anchored, line
):
    """Issue 56: plain words first; the terms of art (docs/model.md, "Terms") in the detail."""
    found = verdict(_params(damping_hours, anchored=anchored), None, "X/Y")
    assert found.summary.startswith(line)
    assert found.summary.endswith("; it has not been tested on past prices yet.")
    assert not TERMS_OF_ART.search(found.summary), found.summary
    if damping_hours:
        assert "tau" in found.point_forecast  # the detail keeps the term


def test_too_few_windows_is_said_as_such_and_claims_no_bound():
    horizon = _horizon(0.5, 0.75, 0.125, "too few windows")
    del horizon["prophet_vs_naive"]["interval_score_relative_bound"]
    found = verdict(_params(0.0), _summary(**{"30d": horizon}), "X/Y")
    assert found.horizons[0].verdict == "too few windows"
    assert found.horizons[0].relative_bound is None
    assert (
        "cannot yet be told apart from the naive forecast, on too few independent windows, at "
        "30d (0.50 against 0.75, difference -0.25 ± 0.12, -33.3% relative)"
    ) in found.sentence


def test_a_horizon_without_interval_scores_gets_no_verdict_and_no_claim():
    unscored = _horizon(0.1, 0.2, 0.01)
    del unscored["prophet_vs_naive"]["interval_score_diff"]
    found = verdict(_params(0.0), _summary(**{"1h": unscored}), "X/Y")
    assert found.horizons[0].verdict is None
    assert found.sentence == ""


def test_without_a_backtest_the_point_forecast_is_still_said():
    found = verdict(_params(0.0), None, "X/Y")
    assert found.horizons == []
    assert found.sentence == ""
    assert found.point_forecast.startswith("The point forecast is the last close")


@pytest.mark.parametrize(
    ("damping_hours", "anchored", "says"),
    [
        (0.0, True, "Prophet's fit contributes nothing to what is served"),
        (None, True, "Prophet's path, shifted to start at the last close"),
        (None, False, "The point forecast is Prophet's path."),
        (72.0, True, "damped by tau / (tau + h) at h hours ahead with tau 72 hours"),
    ],
)
def test_the_point_forecast_is_said_as_the_damping_makes_it(damping_hours, anchored, says):
    assert says in point_forecast(_params(damping_hours, anchored=anchored))


def _served(how: str, why: str) -> ServedNames:
    return ServedNames(
        point_forecast="the last close (tau 0: Prophet's path is not served)",
        band_method="scaled: 1-day volatility, half-life 24 h, no drift",
        damping=Settlement(how=how, why=why),  # type: ignore[arg-type]
        band=Settlement(how="chosen", why="the lowest interval score on 548 validation origins"),
    )


def test_the_panels_damping_says_prophet_adds_nothing_served_and_names_no_comparison():
    served = _served("fixed", PANEL_DAMPING)
    found = verdict(_params(0.0), None, "DOGE/USD", served)
    said = found.point_forecast
    assert said.startswith("The point forecast is the last close (damping tau 0)")
    assert "Prophet's fit contributes nothing to what is served" in said
    assert "Settled beforehand: the panel's damping (cryptopredict/model/panel_choice.json)" in said
    assert "worse" not in said
    assert found.band == (
        "The band is scaled: 1-day volatility, half-life 24 h, no drift. Chosen: the lowest "
        "interval score on 548 validation origins."
    )


def test_a_damping_that_keeps_prophets_move_says_how_it_was_settled():
    served = _served("fixed", "the configuration's damping, not the panel's")
    said = point_forecast(_params(48.0), served)
    assert said.startswith("The point forecast is Prophet damped by tau")
    assert said.endswith("Damping fixed: the configuration's damping, not the panel's.")
