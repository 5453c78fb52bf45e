"""Prophet as the served model and the backtest's refits (`refit_at`) fit it (on `ds`, naive UTC,
and `y`)."""

from __future__ import annotations

import logging
from typing import Any, Self

import numpy as np
import pandas as pd
from prophet import Prophet

from cryptopredict.artifact.schema import ModelConfig, PostprocessRules
from cryptopredict.model.plan import REFIT_SLACK, Plan, epoch_seconds, seconds_of

log = logging.getLogger(__name__)

UNCERTAINTY_SEED = 20240101  # the notebook seeds Prophet's own intervals with it: repeatable
UNCERTAINTY_SAMPLES = 1000  # the model of record keeps Prophet's own intervals (the notebook's)


class ProphetForecaster:
    """Prophet on log or raw close, anchored and damped as the configuration says: `fit` sets
    the fitted Prophet `model` and its `rules`."""

    model: Any
    rules: PostprocessRules

    def __init__(self, config: ModelConfig) -> None:
        self.config = config

    def fit(self, history: pd.DataFrame) -> Self:
        train = window(history, self.config.window_days)
        self.model = fit_prophet(self.config, train, UNCERTAINTY_SAMPLES)
        last = pd.Series([train["ds"].iloc[-1]])
        self.rules = PostprocessRules(
            target=self.config.target,
            origin=int(epoch_seconds(last)[0]),
            last_close=float(train["y"].iloc[-1]),
            model_at_origin=float(predict_mean(self, last)[0]),
            anchored=self.config.anchored,
            damping_hours=self.config.damping_hours,
            interval_width=self.config.interval_width,
            band_hours=(),
            band_lower=(),
            band_upper=(),
        )
        return self


def predict_mean(forecaster: ProphetForecaster, ds: pd.Series) -> np.ndarray:
    """Prophet's `yhat` at `ds`, its intervals not sampled (they leave `yhat` as it is)."""
    model = forecaster.model
    samples = model.uncertainty_samples
    model.uncertainty_samples = 0
    try:
        return model.predict(pd.DataFrame({"ds": ds.to_numpy()}))["yhat"].to_numpy()
    finally:
        model.uncertainty_samples = samples


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


def refit_at(
    history: pd.DataFrame, origin: int, config: ModelConfig, plan: Plan, interval: int
) -> np.ndarray:
    """Prophet fitted on `history` up to `origin`: its path (model space) from there, a bar apart,
    past the next refit's horizon."""
    quiet_stan()
    train = window(history[epoch_seconds(history["ds"]) <= origin], config.window_days)
    model = fit_prophet(config, train[["ds", "y"]].reset_index(drop=True))
    steps = seconds_of(plan.step + plan.horizon + REFIT_SLACK) // interval + 1
    ds = pd.to_datetime(origin + interval * np.arange(steps, dtype=np.int64), unit="s")
    return model.predict(pd.DataFrame({"ds": ds}))["yhat"].to_numpy()


def window(history: pd.DataFrame, days: int | None) -> pd.DataFrame:
    if days is None:
        return history
    start = history["ds"].iloc[-1] - pd.Timedelta(days=days)
    return history[history["ds"] > start]
