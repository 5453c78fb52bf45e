"""The damping's evidence: each candidate tau's path against the last close, for `make panel`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cryptopredict.artifact.schema import ModelConfig
from cryptopredict.model.backtest import BacktestSetup
from cryptopredict.model.market import Market
from cryptopredict.model.plan import HORIZONS, HOUR, SERVED, horizon_label
from cryptopredict.model.refits import Refits, drift_centre, outcome

CANDIDATES: tuple[float | None, ...] = (None, 720.0, 240.0, 72.0, 24.0, 6.0, 0.0)
DESIGN_REFITS = 32
DECIDING = ("1d", "7d", "30d")


def tau_label(tau: float | None) -> str:
    return "none" if tau is None else f"{tau:g}"


def design(setup: BacktestSetup, count: int = DESIGN_REFITS) -> np.ndarray:
    """`count` of the pair's validation refit origins, evenly spread (all where fewer)."""
    scored = setup.times[: setup.scored]
    validation = scored[(scored >= setup.validation_start) & (scored <= setup.validation_end)]
    if len(validation) <= count:
        return validation
    return validation[np.unique(np.linspace(0, len(validation) - 1, count).round().astype(int))]


def errors(
    setup: BacktestSetup, refits: Refits, candidates: tuple[float | None, ...] = CANDIDATES
) -> pd.DataFrame:
    """Each known origin's, horizon's and tau's absolute percentage errors, `served` (the point
    forecast as served at that tau) and `naive`."""
    hours = np.array([HORIZONS[label] / pd.Timedelta(hours=1) for label in DECIDING])
    market = setup.market
    times = refits.times[refits.times <= market.t[-1] - int(hours[-1] * HOUR)]
    anchor = setup.anchor[market.position(times)]
    actual = outcome(market, times, hours)
    known = np.isfinite(actual)
    at, lead = np.nonzero(known)  # each known error's origin and horizon
    served = [
        refits.centre(setup.config.with_changes(damping_hours=tau), anchor, times, hours)
        for tau in candidates
    ]
    taus = len(candidates)
    return pd.DataFrame(
        {
            "origin": np.tile(times[at], taus),
            "horizon": np.tile(np.array([horizon_label(h) for h in hours])[lead], taus),
            "tau": np.repeat([tau_label(tau) for tau in candidates], len(at)),
            "served": np.concatenate([np.abs(each / actual - 1)[known] for each in served]),
            "naive": np.tile(np.abs(anchor[:, None] / actual - 1)[known], taus),
        }
    )


def refit_frame(
    market: Market,
    *,
    anchor: np.ndarray,
    refits: Refits,
    config: ModelConfig,
    leads: np.ndarray,
) -> pd.DataFrame:
    """Each scored refit's paths: `prophet` (as `config` serves it), `naive`, `drift`; close `y`."""
    times = refits.times[refits.times <= market.t[-1] - int(leads[-1] * HOUR)]
    pos = market.position(times)
    seconds = times[:, None] + (leads * HOUR).astype(np.int64)[None, :]
    paths = {
        SERVED: refits.centre(config, anchor[pos], times, leads),
        "naive": np.repeat(anchor[pos][:, None], len(leads), axis=1),
        "drift": drift_centre(market, anchor, pos, leads, config.window_days),
    }
    actual = outcome(market, times, leads)
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
