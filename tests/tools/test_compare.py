"""`make compare`'s GARCH(1,1) peer: a band that follows today's volatility and reverts to the
long-run level as the horizon grows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cryptopredict.artifact.schema import LEVELS
from tools.compare import garch_band

HOURS = np.array([1, 24, 168, 720])


def closes(last_day_volatility: float) -> pd.Series:
    """A year of hourly closes at 0.5% an hour, then a day at `last_day_volatility`."""
    rng = np.random.default_rng(7)
    returns = np.concatenate(
        [0.005 * rng.standard_normal(8736), last_day_volatility * rng.standard_normal(24)]
    )
    return pd.Series(100 * np.exp(np.cumsum(returns)))


def width(band: dict, level: int) -> np.ndarray:
    lower, upper = band[level]
    return np.log(upper) - np.log(lower)


def test_the_garch_band_follows_todays_volatility_and_reverts_with_the_horizon():
    calm, busy = closes(0.001), closes(0.03)
    calm_band, busy_band = garch_band(calm, HOURS), garch_band(busy, HOURS)
    np.testing.assert_array_equal(calm_band["yhat"], np.full(len(HOURS), calm.iloc[-1]))
    for band in (calm_band, busy_band):
        for level in LEVELS:
            lower, upper = band[level]
            assert (lower < band["yhat"]).all()
            assert (upper > band["yhat"]).all()
            assert (np.diff(width(band, level)) > 0).all(), "wider the further ahead"
        assert (width(band, 50) < width(band, 80)).all()
        assert (width(band, 80) < width(band, 95)).all()
    ratio = width(busy_band, 80) / width(calm_band, 80)
    assert ratio[0] > 2, "a busy day widens the next hour's band"
    assert (np.diff(ratio) < 0).all(), "and less so the further ahead: variance reverts"
    assert ratio[-1] < ratio[0] / 2
