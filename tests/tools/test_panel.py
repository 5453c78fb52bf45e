"""`make panel`'s figures (`tools/panel_figures.py`): lags from the real spacing of the origins,
every forecast counted alike and standard errors clustered by time, and the conditional
calibration tables (fifths within each pair, calendar quarters)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from tools.panel_figures import pair_figures, pooled_figures, relative_pooled

SEVEN_HOURS = 7 * 3600


def outcomes(pairs: list[str], origins: int, seed: int = 7) -> pd.DataFrame:
    """Per-origin outcomes of `pairs` at origins 7 hours apart (epoch seconds, as the
    backtest's scores hold them)."""
    rng = np.random.default_rng(seed)
    times = 1_700_000_000 + SEVEN_HOURS * np.arange(origins, dtype=np.int64)
    frames = []
    for k, pair in enumerate(pairs):
        frame = pd.DataFrame(
            {
                "horizon": "1d",
                "origin": times,
                "score_served": rng.gamma(2.0, 0.01, origins),
                "score_naive": rng.gamma(2.0, 0.011, origins),
                "width": rng.gamma(2.0, 0.05 * (k + 1), origins),
                "ratio": rng.gamma(2.0, 0.5, origins),
                "quarter": pd.PeriodIndex(pd.to_datetime(times, unit="s"), freq="Q").astype(str),
                "pair": pair,
            }
        )
        for level in (50, 80, 95):
            frame[f"held_{level}"] = (rng.random(origins) < level / 100).astype(np.float64)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def test_a_pair_7_hours_apart_takes_the_lags_of_7_hour_spacing() -> None:
    rows = outcomes(["ADAUSDT"], 400)
    figures = pair_figures(rows.drop(columns="pair"), pd.Timedelta(days=1))
    assert figures["lags"] == 4  # a day spans ceil(24 / 7) origins
    assert figures["origins"] == 400


def test_pooled_pairs_7_hours_apart_take_the_lags_of_7_hour_spacing() -> None:
    rows = outcomes(["ADAUSDT", "ETHUSDT", "SOLUSDT"], 400)
    day = pooled_figures(rows, pd.Timedelta(days=1))
    week = pooled_figures(rows.assign(horizon="7d"), pd.Timedelta(days=7))
    assert day["lags"] <= 5
    assert (day["lags"], week["lags"]) == (4, 24)
    assert (day["origins"], day["pairs"], day["forecasts"]) == (400, 3, 1200)


def test_every_forecast_counts_alike_and_pairs_that_move_together_count_once() -> None:
    """The pooled figures are sums over every forecast; three copies of one pair (pairs that
    move exactly together) have that pair's figures and standard errors: time is the cluster."""
    one = outcomes(["ADAUSDT"], 600)
    copies = pd.concat([one.assign(pair=name) for name in ("A", "B", "C")], ignore_index=True)
    alone = pair_figures(one.drop(columns="pair"), pd.Timedelta(days=1))
    pooled = pooled_figures(copies, pd.Timedelta(days=1))
    served, naive = one["score_served"], one["score_naive"]
    assert pooled["relative"] == pytest.approx(served.sum() / naive.sum() - 1)
    assert pooled["interval_score_diff"] == pytest.approx((served - naive).mean())
    for key in ("interval_score_se", "relative_se"):
        assert pooled[key] == pytest.approx(alone[key], rel=1e-9)
    assert pooled["coverage_se"]["80"] == pytest.approx(alone["coverage_se"]["80"], rel=1e-9)
    bound = pooled["relative"] + pooled["relative_se"] * 1.645
    assert pooled["relative_bound"] == pytest.approx(bound, rel=0.01)
    assert relative_pooled(copies.rename(columns={"score_served": "served",
                                                  "score_naive": "naive"})) == pytest.approx(
        served.sum() / naive.sum() - 1
    )  # fmt: skip


def test_fifths_are_each_pairs_own_and_quarters_are_calendar_quarters() -> None:
    """A pair whose bands are all wider than another's still has its own narrowest fifth: the
    fifths are ranks within each pair, each holding a fifth of its forecasts."""
    rows = outcomes(["ADAUSDT", "DOGEUSDT"], 1000)
    figures = pooled_figures(rows, pd.Timedelta(days=1))
    for name in ("width", "ratio"):
        cells = figures[f"coverage_80_by_{name}_fifth"]
        assert len(cells) == 5
        assert all(cell["origins"] > 150 for cell in cells)
        assert all(0.7 < cell["coverage"] < 0.9 and cell["se"] > 0 for cell in cells)
    quarters = figures["coverage_80_by_quarter"]
    assert list(quarters) == sorted(set(rows["quarter"]))
    held = rows.groupby("quarter")["held_80"].mean()
    for quarter, cell in quarters.items():
        assert cell["coverage"] == pytest.approx(held[quarter])
        assert math.isfinite(cell["se"]) or cell["origins"] < 10
