"""The naive and drift baselines, and Prophet, as forecasters for `make compare`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cryptopredict.model.bands import BAND_HOURS
from cryptopredict.model.forecasters import (
    ProphetForecaster,
    drift_per_hour,
    window,
)
from cryptopredict.model.plan import epoch_seconds
from cryptopredict.postprocess import QuantileTable, band, centre, hours_ahead


class ProphetForecast(ProphetForecaster):
    """Prophet as training fits it, forecasting as the baselines do."""

    def predict(self, ds: pd.Series) -> pd.DataFrame:
        raw = self.raw(ds)
        seconds = epoch_seconds(raw["ds"])
        hours = hours_ahead(self.rules, seconds)
        point = centre(self.rules, raw["yhat"].to_numpy(), hours)
        out = pd.DataFrame({"ds": raw["ds"], "yhat": point})
        if not self.config.calibrated:
            unshifted = self._from_model(raw["yhat"].to_numpy())
            for bound in ("yhat_lower", "yhat_upper"):
                bound_price = self._from_model(raw[bound].to_numpy())
                out[bound] = (
                    bound_price * point / unshifted
                    if self.config.target == "log"
                    else bound_price + point - unshifted
                )
        return out

    def _from_model(self, values: np.ndarray) -> np.ndarray:
        return np.exp(values) if self.config.target == "log" else values


class NaiveForecaster:
    """The last close, banded by the window's own past h-hour log returns' quantiles."""

    name = "naive"

    def __init__(self, window_days: int | None = 365, interval_width: float = 0.8) -> None:
        self.window_days = window_days
        self.interval_width = interval_width

    def fit(self, history: pd.DataFrame) -> NaiveForecaster:
        train = window(history, self.window_days)
        self.last_ds = train["ds"].iloc[-1]
        self.last_close = float(train["y"].iloc[-1])
        self.quantiles = empirical_return_quantiles(train, self.interval_width)
        return self

    def predict(self, ds: pd.Series) -> pd.DataFrame:
        ds = pd.Series(pd.to_datetime(ds).to_numpy())
        hours = ((ds - self.last_ds) / pd.Timedelta(hours=1)).to_numpy()
        centre = np.full(len(ds), self.last_close)
        lower, upper = band(centre, hours, self.quantiles)
        return pd.DataFrame({"ds": ds, "yhat": centre, "yhat_lower": lower, "yhat_upper": upper})


class DriftForecaster:
    """A random walk with drift: the window's average log change per hour, carried forward."""

    name = "drift"

    def __init__(self, window_days: int | None = 365) -> None:
        self.window_days = window_days

    def fit(self, history: pd.DataFrame) -> DriftForecaster:
        seconds, prices = epoch_seconds(history["ds"]), history["y"].to_numpy(dtype=np.float64)
        at = np.array([len(seconds) - 1])
        self.slope = float(drift_per_hour(seconds, prices, at, self.window_days)[0])
        self.last_ds, self.last_close = history["ds"].iloc[-1], float(prices[-1])
        return self

    def predict(self, ds: pd.Series) -> pd.DataFrame:
        ds = pd.Series(pd.to_datetime(ds).to_numpy())
        hours = ((ds - self.last_ds) / pd.Timedelta(hours=1)).to_numpy()
        return pd.DataFrame({"ds": ds, "yhat": self.last_close * np.exp(self.slope * hours)})


def empirical_return_quantiles(history: pd.DataFrame, interval_width: float) -> QuantileTable:
    """(hours, lower, upper) quantiles of h-hour log returns at each of BAND_HOURS."""
    log_close = pd.Series(np.log(history["y"].to_numpy()), index=history["ds"].to_numpy())
    tails = ((1 - interval_width) / 2, (1 + interval_width) / 2)
    hours, lower, upper = [], [], []
    for h in BAND_HOURS:
        shifted = log_close.reindex(log_close.index + pd.Timedelta(hours=h)).to_numpy()
        moves = shifted - log_close.to_numpy()
        moves = moves[np.isfinite(moves)]
        if len(moves) < 10:  # e.g. intraday horizons for daily bars
            continue
        low, high = np.quantile(moves, tails)
        hours.append(h)
        lower.append(float(low))
        upper.append(float(high))
    if not hours:
        raise ValueError("too little history for an empirical band: fetch more bars")
    return tuple(hours), tuple(lower), tuple(upper)
