"""The damping's evidence: each candidate tau's path against the last close, for `make panel`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cryptopredict.artifact.schema import ModelConfig
from cryptopredict.model.backtest import BacktestSetup
from cryptopredict.model.market import Market
from cryptopredict.model.plan import HORIZONS, HOUR, SERVED, horizon_label
from cryptopredict.model.refits import Refits, drift_centre, outcome
from cryptopredict.postprocess import damping_factor

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
    """Each known origin's, horizon's and tau's absolute percentage errors, `served` and `naive`."""
    hours = [0, *(int(HORIZONS[label] / pd.Timedelta(hours=1)) for label in DECIDING)]
    fitted = refit_frame(
        setup.market,
        anchor=setup.anchor,
        refits=refits,
        config=setup.config,
        leads=np.asarray(hours, dtype=np.float64),
    )
    fitted = fitted[fitted["y"].notna()]
    fitted = fitted.assign(
        lead=((fitted["ds"] - fitted["cutoff"]) / pd.Timedelta(hours=1)).round().astype(int)
    )
    naive = fitted[fitted["model"] == "naive"].set_index(["cutoff", "lead"])["yhat"]
    frames = []
    for tau in candidates:
        served = damp(fitted, tau, setup.config.target)
        served = served[(served["model"] == SERVED) & (served["lead"] > 0)]
        key = pd.MultiIndex.from_frame(served[["cutoff", "lead"]])
        actual = served["y"].to_numpy()
        frames.append(
            pd.DataFrame(
                {
                    "origin": served["cutoff"].to_numpy().astype("datetime64[s]").astype(np.int64),
                    "horizon": [horizon_label(lead) for lead in served["lead"]],
                    "tau": tau_label(tau),
                    "served": np.abs(served["yhat"].to_numpy() / actual - 1),
                    "naive": np.abs(naive.reindex(key).to_numpy() / actual - 1),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def refit_frame(
    market: Market,
    *,
    anchor: np.ndarray,
    refits: Refits,
    config: ModelConfig,
    leads: np.ndarray,
) -> pd.DataFrame:
    """Each scored refit's `prophet`, `naive` and `drift` paths, with the close as `y`."""
    times = refits.times[refits.times <= market.t[-1] - int(leads[-1] * HOUR)]
    pos = market.position(times)
    seconds = times[:, None] + (leads * HOUR).astype(np.int64)[None, :]
    undamped = config.with_changes(damping_hours=None)
    paths = {
        SERVED: refits.centre(undamped, anchor[pos], times, leads),
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


def damp(forecasts: pd.DataFrame, tau: float | None, target: str) -> pd.DataFrame:
    """The served model's forecasts with their move away from the origin damped by tau."""
    served = forecasts["model"] == SERVED
    rows = forecasts[served]
    hours = ((rows["ds"] - rows["cutoff"]) / pd.Timedelta(hours=1)).to_numpy()
    at_origin = rows.loc[hours == 0].set_index("cutoff")["yhat"]
    start = rows["cutoff"].map(at_origin).to_numpy()
    factor = damping_factor(tau, hours)
    yhat = rows["yhat"].to_numpy(dtype=np.float64)
    if target == "log":
        damped = start * np.exp(np.log(yhat / start) * factor)
    else:
        damped = start + (yhat - start) * factor
    out = forecasts.astype({"yhat": np.float64})
    out.loc[served, "yhat"] = damped
    return out
