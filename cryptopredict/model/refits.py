"""Prophet refitted at each refit origin on the data up to it: the backtest's heavy part.

Which fits are needed is decided here, in the training process, against the fit cache (read and
written only here, so that the workers need no shared disk); the fits themselves are tasks on
the engine (`fit_refit`). Also the paths the refits give at every lead, beside the naive and
drift baselines, in Prophet's cross-validation shape.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cryptopredict.model.bands import Market
from cryptopredict.model.config import ModelConfig
from cryptopredict.model.engine import Engine
from cryptopredict.model.fitcache import FitCache, fit_key
from cryptopredict.model.forecasters import drift_per_hour, prophet_path, quiet_stan, window
from cryptopredict.model.plan import (
    HOUR,
    REFIT_SLACK,
    SERVED,
    Plan,
    epoch_seconds,
    seconds_of,
)
from cryptopredict.postprocess import centre_path

log = logging.getLogger(__name__)


@dataclass
class Refits:
    """Prophet's predictions (model space) from each refit origin, one bar apart."""

    times: np.ndarray
    raw: np.ndarray  # (refits, steps)
    interval: int

    def centre(
        self,
        config: ModelConfig,
        tau: float | None,
        anchor: np.ndarray,
        origins: np.ndarray,
        lead_hours: np.ndarray,
    ) -> np.ndarray:
        """The point forecast (price) from `origins` (epoch seconds, with the model price
        `anchor` there) at `lead_hours`: the latest refit's path re-anchored at the origin.
        Before the first refit, the last price."""
        lead_hours = np.asarray(lead_hours, dtype=np.float64)
        which = np.searchsorted(self.times, origins, "right") - 1
        out = np.repeat(np.asarray(anchor, dtype=np.float64)[:, None], len(lead_hours), axis=1)
        has = which >= 0
        if not has.any() or len(self.times) == 0:
            return out
        rows = which[has]
        start = (origins[has] - self.times[rows]) // self.interval
        ahead = (lead_hours * HOUR // self.interval).astype(np.int64)
        last = self.raw.shape[1] - 1
        at_origin = self.raw[rows, np.minimum(start, last)]
        columns = np.minimum(start[:, None] + ahead[None, :], last)
        raw = self.raw[rows[:, None], columns]
        out[has] = centre_path(
            config.target,
            config.anchored,
            tau,
            last_close=anchor[has][:, None],
            at_origin=at_origin[:, None],
            raw=raw,
            hours=lead_hours[None, :],
        )
        return out

    @classmethod
    def none(cls, interval: int) -> Refits:
        """No refit: every point forecast is the last price."""
        return cls(np.empty(0, dtype=np.int64), np.empty((0, 1)), interval)


@dataclass(frozen=True)
class RefitJob:
    """One Prophet fit: the configuration, the bars up to the origin, the times to predict."""

    config: ModelConfig
    train: pd.DataFrame  # ds, y
    ahead: np.ndarray  # epoch seconds


def fit_refit(job: RefitJob) -> np.ndarray:
    """The task: Prophet's predictions (model space) at `job.ahead`."""
    quiet_stan()
    return prophet_path(job.config, job.train, job.ahead)


def fit_refits(
    history: pd.DataFrame,
    times: np.ndarray,
    config: ModelConfig,
    plan: Plan,
    interval: int,
    *,
    engine: Engine,
    cache: FitCache,
    purpose: str,
) -> Refits:
    """Prophet fitted at each refit time on the data up to it; cached fits are reused.
    `purpose` says in the log which origins these are and what for."""
    steps = (seconds_of(plan.step + plan.horizon + REFIT_SLACK)) // interval + 1
    seconds = epoch_seconds(history["ds"])
    settings = {
        "prophet": config.prophet_kwargs(),
        "target": config.target,
        "window_days": config.window_days,
    }
    raw = np.empty((len(times), steps))
    jobs: list[RefitJob] = []
    missing: list[tuple[int, str]] = []
    for i, origin in enumerate(times):
        train = window(history[seconds <= origin], config.window_days)
        ahead = origin + interval * np.arange(steps, dtype=np.int64)
        key = fit_key(settings, epoch_seconds(train["ds"]), train["y"].to_numpy(), ahead)
        cached = cache.get(key)
        if cached is not None and cached.shape == (steps,):
            raw[i] = cached
        else:
            jobs.append(RefitJob(config, train[["ds", "y"]].reset_index(drop=True), ahead))
            missing.append((i, key))
    log.info(
        "backtest: Prophet refitted at %d origins %s: %d from the cache, %d to fit",
        len(times),
        purpose,
        len(times) - len(jobs),
        len(jobs),
    )
    for (i, key), path in zip(missing, engine.map(fit_refit, jobs, what="refit"), strict=True):
        raw[i] = path
        cache.put(key, path)
    return Refits(times, raw, interval)


def refit_frame(
    market: Market,
    *,
    anchor: np.ndarray,
    refits: Refits,
    config: ModelConfig,
    leads: np.ndarray,
) -> pd.DataFrame:
    """Each scored refit's forecasts at every lead in Prophet's cross-validation shape:
    `prophet` (undamped), `naive` and `drift`, with the actual close as `y`."""
    times = refits.times[refits.times <= market.t[-1] - int(leads[-1] * HOUR)]
    pos = market.position(times)
    seconds = times[:, None] + (leads * HOUR).astype(np.int64)[None, :]
    undamped = config.with_changes(damping_hours=None)
    paths = {
        SERVED: refits.centre(undamped, None, anchor[pos], times, leads),
        "naive": np.repeat(anchor[pos][:, None], len(leads), axis=1),
        "drift": drift_centre(market, anchor, pos, leads, config.window_days),
    }
    actual = actual_at(market, seconds)
    frames = [
        pd.DataFrame(
            {
                "model": model,
                "cutoff": pd.to_datetime(np.repeat(times, len(leads)), unit="s"),
                "ds": pd.to_datetime(seconds.ravel(), unit="s"),
                "yhat": values.ravel(),
                "y": actual.ravel(),
            }
        )
        for model, values in paths.items()
    ]
    return pd.concat(frames, ignore_index=True)


def actual_at(market: Market, seconds: np.ndarray) -> np.ndarray:
    at = np.minimum(np.searchsorted(market.t, seconds), len(market.t) - 1)
    return np.where(market.t[at] == seconds, np.exp(market.log_price[at]), np.nan)


def drift_centre(
    market: Market, anchor: np.ndarray, pos: np.ndarray, leads: np.ndarray, days: int | None
) -> np.ndarray:
    """The random walk with drift (forecasters.DriftForecaster) from each of `pos`."""
    slope = drift_per_hour(market.t, anchor, pos, days)
    return anchor[pos][:, None] * np.exp(slope[:, None] * np.asarray(leads)[None, :])
