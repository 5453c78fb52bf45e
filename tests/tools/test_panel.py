"""`make panel`'s figures (`tools/panel_figures.py`): lags from the real spacing of the origins,
every forecast counted alike and standard errors clustered by time, the conditional
calibration tables (fifths within each pair, calendar quarters), and the damping's evidence
and choice (a candidate replaces tau 0 only beyond the critical value)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cryptopredict.standard_error import t_quantile
from tools import panel_figures, panel_steps
from tools.panel import chosen_damping
from tools.panel_figures import damping_figures, pair_figures, pooled_figures, relative_pooled

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


def test_a_pair_and_pooled_pairs_7_hours_apart_take_the_lags_of_7_hour_spacing() -> None:
    rows = outcomes(["ADAUSDT", "ETHUSDT", "SOLUSDT"], 400)
    one = pair_figures(rows[rows["pair"] == "ADAUSDT"].drop(columns="pair"), pd.Timedelta(days=1))
    day = pooled_figures(rows, pd.Timedelta(days=1))
    week = pooled_figures(rows.assign(horizon="7d"), pd.Timedelta(days=7))
    assert (one["lags"], day["lags"], week["lags"]) == (4, 4, 24)  # a day: ceil(24 / 7) origins
    assert (one["origins"], day["origins"], day["pairs"], day["forecasts"]) == (400, 400, 3, 1200)


def test_every_forecast_counts_alike_and_pairs_that_move_together_count_once() -> None:
    """The pooled figures are sums over every forecast; three copies of one pair (pairs that
    move exactly together) have that pair's figures and standard errors: time is the cluster."""
    one = outcomes(["ADAUSDT"], 600)
    copies = pd.concat([one.assign(pair=name) for name in ("A", "B", "C")], ignore_index=True)
    alone = pair_figures(one.drop(columns="pair"), pd.Timedelta(days=1))
    pooled = pooled_figures(copies, pd.Timedelta(days=1))
    served, naive = one["score_served"], one["score_naive"]
    assert pooled["relative"] == pytest.approx(served.sum() / naive.sum() - 1)
    assert pooled["relative_se"] == pytest.approx(alone["relative_se"], rel=1e-9)
    # Issue 117: the verdict is on the figure shown, by its critical value (`critical`).
    beyond = abs(pooled["relative"]) > pooled["critical"] * pooled["relative_se"]
    assert pooled["verdict"] == (
        "tie" if not beyond else "lower" if pooled["relative"] < 0 else "higher"
    )
    assert pooled["critical"] == max(2.0, t_quantile(0.975, pooled["df"]))
    assert pooled["coverage_se"]["80"] == pytest.approx(alone["coverage_se"]["80"], rel=1e-9)
    bound = pooled["relative"] + pooled["relative_se"] * 1.645
    assert pooled["relative_bound"] == pytest.approx(bound, rel=0.01)
    assert relative_pooled(copies) == pytest.approx(served.sum() / naive.sum() - 1)


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


def test_an_hour_ahead_every_width_fifth_and_every_pair_is_read_and_the_band_held_chosen() -> None:
    """Issue 111: a band missing a quarter more of its widest fifth breaks `where_wide`; the
    search's step serves the lowest-scoring band that holds it, else the band as it stands."""
    rows = outcomes(["ADAUSDT", "DOGEUSDT", "SOLUSDT"], 3000).assign(horizon="1h")
    widest = rows.groupby("pair")["width"].rank(pct=True) > 0.8
    missed = widest & (np.random.default_rng(1).random(len(rows)) < 0.25)
    assert panel_figures.where_wide(rows)["holds"]
    found = panel_figures.where_wide(rows.assign(held_80=np.where(missed, 0.0, rows["held_80"])))
    assert list(found["pairs"]) == ["ADAUSDT", "DOGEUSDT", "SOLUSDT"]
    assert found["largest_z"] == -found["width_fifths"][4]["z"] > 2  # so it does not hold
    spec = panel_steps.uniform_pool(panel_steps.START, 365, shared=True)
    options = [spec, *(panel_steps.own_at_hour(spec, days) for days in (180, 365))]
    assert [each.pool_for(1) for each in options if not each.shared_for(1)] == [180, 365]
    scores = dict(zip(options, ({"1h": -0.12}, {"1h": -0.1}, {"1h": -0.11}), strict=True))
    for holds, chosen in (([False, True, True], options[2]), ([False] * 3, spec)):
        held = {each.name: {"holds": k} for each, k in zip(options, holds, strict=True)}
        assert panel_steps.held_where_wide(options, scores, held) == chosen


STEP = 175 * 3600  # the refit grid: 7 days 7 hours
DECIDING = {"1d": pd.Timedelta(days=1), "7d": pd.Timedelta(days=7), "30d": pd.Timedelta(days=30)}


def damping_rows(pairs: int, origins: int, served_scale: float, seed: int = 3) -> pd.DataFrame:
    """A candidate's errors at design origins of `pairs` pairs (each pair its own times on the
    refit grid), its absolute percentage errors `served_scale` times the last close's, plus
    noise."""
    rng = np.random.default_rng(seed)
    frames = []
    for pair in range(pairs):
        times = 1_500_000_000 // STEP * STEP + STEP * (pair + 5 * np.arange(origins))
        for label, horizon in DECIDING.items():
            size = 0.01 * np.sqrt(horizon / pd.Timedelta(days=1))
            naive = np.abs(rng.normal(0, size, origins))
            served = naive * served_scale * np.exp(rng.normal(0, 0.05, origins))
            frames.append(
                pd.DataFrame({"origin": times, "horizon": label, "served": served, "naive": naive})
            )
    return pd.concat(frames, ignore_index=True)


def test_the_damping_figures_pool_every_pairs_errors_per_horizon_and_their_mean() -> None:
    rows = damping_rows(16, 32, 1.0)
    found = damping_figures(rows, DECIDING, STEP)
    for label in DECIDING:
        at = rows[rows["horizon"] == label]
        assert found["horizons"][label]["relative"] == pytest.approx(
            at["served"].sum() / at["naive"].sum() - 1
        )
        assert found["horizons"][label]["forecasts"] == 16 * 32
    means = [found["horizons"][label]["relative"] for label in DECIDING]
    assert found["relative"] == pytest.approx(np.mean(means))
    assert found["origins"] == rows["origin"].nunique()
    assert found["se"] > 0
    assert found["verdict"] == "tie"  # the same errors but for noise: no better than tau 0


def test_a_candidate_replaces_tau_0_only_beyond_the_critical_value() -> None:
    worse = damping_figures(damping_rows(16, 32, 1.10), DECIDING, STEP)
    better = damping_figures(damping_rows(16, 32, 0.90), DECIDING, STEP)
    level = damping_figures(damping_rows(16, 32, 1.0), DECIDING, STEP)
    assert (worse["verdict"], better["verdict"], level["verdict"]) == ("higher", "lower", "tie")
    assert better["bound"] < 0 < worse["bound"]
    candidates = [{"tau": None, **worse}, {"tau": 24.0, **level}]
    assert chosen_damping(candidates) == 0.0  # none better beyond the critical value: tau 0
    a_little = damping_figures(damping_rows(16, 32, 0.95), DECIDING, STEP)
    candidates += [{"tau": 72.0, **a_little}, {"tau": 6.0, **better}]
    assert chosen_damping(candidates) == 6.0  # the best of those better beyond it
