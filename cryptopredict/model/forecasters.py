"""Prophet as the refits and the served model fit it (on `ds`, naive UTC, and `y`), and helpers
the baselines share."""

from __future__ import annotations

import logging
from typing import Any, Self

import numpy as np
import pandas as pd
from prophet import Prophet

from cryptopredict.artifact.schema import ModelConfig, PostprocessRules
from cryptopredict.model.plan import epoch_seconds

log = logging.getLogger(__name__)

UNCERTAINTY_SEED = 20240101  # Prophet samples its own intervals; a fixed seed makes them repeatable


class ProphetForecaster:
    """Prophet on log or raw close, anchored and damped as the configuration says: `fit` sets
    the fitted Prophet `model` and its `rules`."""

    model: Any
    rules: PostprocessRules

    def __init__(self, config: ModelConfig, uncertainty_samples: int | None = None) -> None:
        self.config = config
        default_samples = 0 if config.calibrated else 1000
        self.samples = default_samples if uncertainty_samples is None else uncertainty_samples

    def fit(self, history: pd.DataFrame) -> Self:
        train = window(history, self.config.window_days)
        self.model = fit_prophet(self.config, train, self.samples)
        self.rules = self._rules(train)
        return self

    def raw(self, ds: pd.Series) -> pd.DataFrame:
        np.random.seed(UNCERTAINTY_SEED)
        return self.model.predict(pd.DataFrame({"ds": pd.to_datetime(ds).to_numpy()}))

    def _rules(self, train: pd.DataFrame) -> PostprocessRules:
        last = train.iloc[-1]
        origin = int(epoch_seconds(pd.Series([last["ds"]]))[0])
        at_origin = float(self.raw(pd.Series([last["ds"]]))["yhat"].iloc[0])
        return PostprocessRules(
            target=self.config.target,
            origin=origin,
            last_close=float(last["y"]),
            model_at_origin=at_origin,
            anchored=self.config.anchored,
            damping_hours=self.config.damping_hours,
            interval_width=self.config.interval_width,
            band_hours=(),
            band_lower=(),
            band_upper=(),
        )


# Stan's BFGS: L-BFGS's fit in a third of the time (docs/performance.md).
OPTIMIZER = "BFGS"


def fit_prophet(config: ModelConfig, train: pd.DataFrame, samples: int = 0) -> Prophet:
    y = np.log(train["y"]) if config.target == "log" else train["y"]
    # A model fitted with pyarrow-backed strings does not unpickle without pyarrow.
    with pd.option_context("mode.string_storage", "python"):
        model = Prophet(**config.prophet_kwargs(), uncertainty_samples=samples)
        frame = pd.DataFrame({"ds": train["ds"].to_numpy(), "y": np.asarray(y)})
        model.fit(frame, algorithm=OPTIMIZER)
    return model


def quiet_stan() -> None:
    """Keep Prophet and Stan to warnings (they log a line or two per fit)."""
    for chatty in ("cmdstanpy", "prophet"):
        logger = logging.getLogger(chatty)
        if not logger.hasHandlers():
            # else cmdstanpy installs its own INFO handler (in a Dask worker, say)
            logger.addHandler(logging.NullHandler())
        logger.setLevel(logging.WARNING)


def prophet_path(config: ModelConfig, train: pd.DataFrame, times: np.ndarray) -> np.ndarray:
    model = fit_prophet(config, train)
    ds = pd.to_datetime(np.asarray(times, dtype=np.int64), unit="s")
    return model.predict(pd.DataFrame({"ds": ds}))["yhat"].to_numpy()


def drift_per_hour(
    seconds: np.ndarray, prices: np.ndarray, at: np.ndarray, days: int | None
) -> np.ndarray:
    """The random walk's drift at `at`: the mean log change per hour over the last `days`."""
    reach = days * 86_400 if days is not None else seconds[-1] - seconds[0]
    start = np.searchsorted(seconds, seconds[at] - reach, "right")
    start = np.minimum(start, at)
    hours = np.maximum((seconds[at] - seconds[start]) / 3600, 1.0)
    return np.log(prices[at] / prices[start]) / hours


def window(history: pd.DataFrame, days: int | None) -> pd.DataFrame:
    if days is None:
        return history
    start = history["ds"].iloc[-1] - pd.Timedelta(days=days)
    return history[history["ds"] > start]
