"""`make panel`'s standard errors: lags from the real spacing of the origins."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tools.panel import pair_figures, pooled_figures

SEVEN_HOURS = 7 * 3600


def outcomes(pairs: list[str], origins: int) -> pd.DataFrame:
    """Per-origin outcomes of `pairs` at origins 7 hours apart (epoch seconds, as the
    backtest's scores hold them)."""
    rng = np.random.default_rng(7)
    times = 1_700_000_000 + SEVEN_HOURS * np.arange(origins, dtype=np.int64)
    frames = []
    for pair in pairs:
        frame = pd.DataFrame(
            {
                "horizon": "1d",
                "origin": times,
                "score_served": rng.gamma(2.0, 0.01, origins),
                "score_naive": rng.gamma(2.0, 0.011, origins),
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
