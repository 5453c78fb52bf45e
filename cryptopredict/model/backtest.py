"""Rolling-origin backtest of the served forecast: the plan (`plan.py`), the band's choice on the
validation origins (`choices.py`; the panel's for hourly pairs) and the scores on the evaluation
origins (`scoring.py`), computed once. At the panel's damping, tau 0, the point forecast is the
last close, so Prophet is refitted nowhere; another needs a refit per origin (`refits.py`).
Not `prophet.diagnostics.cross_validation`: this re-anchors and damps each refit's path,
calibrates bands on earlier errors only and scores the baselines on the same origins.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cryptopredict.artifact.arrays import BacktestRows
from cryptopredict.artifact.schema import (
    LEVELS,
    BandSearch,
    BandSpec,
    EvaluationScores,
    ModelConfig,
)
from cryptopredict.model.band_spec import candidates
from cryptopredict.model.bands import BAND_HOURS, Band
from cryptopredict.model.choices import choose_band, fixed_band
from cryptopredict.model.forecasters import refit_at
from cryptopredict.model.market import Market
from cryptopredict.model.plan import HORIZON_HOURS, HOUR, SERVED, Plan, epoch_seconds, seconds_of
from cryptopredict.model.refits import Refits
from cryptopredict.model.scoring import DenseOrigins, summarize

log = logging.getLogger(__name__)

# The share of a backtest's seconds done at its two steps: the panel's band built, then scored on
# the validation origins; a candidate chosen, then built (measured: BTC/USD's hourly at load 1,
# 5.4 and 6.1 of 7.3 s; ETH/USD's daily on two cores, 1.75 and 1.75 of 2.1 s).
DONE = {"fixed": (0.74, 0.83), "chosen": (0.83, 0.83)}


@dataclass
class BacktestResult:
    dense: DenseOrigins
    band: BandSearch
    served_band: Band  # calibrated at every standard horizon, for the grid
    summary: EvaluationScores
    scores: pd.DataFrame = field(repr=False)  # one row per model, band origin and horizon

    def rows(self) -> BacktestRows:
        """The served forecast's rows of `scores`, by origin then horizon."""
        served = self.scores[self.scores["model"] == SERVED].sort_values("origin", kind="stable")
        hours = served["horizon"].map(HORIZON_HOURS).to_numpy()  # shortest first, as scored
        origin, actual, yhat = served[["origin", "actual", "yhat"]].to_numpy().T
        edges = served[[f"{side}_{level}" for level in LEVELS for side in ("lower", "upper")]]
        band = np.log(edges.to_numpy() / yhat[:, None]).astype(np.float32)
        return BacktestRows(origin.astype(np.int64), hours, actual, yhat, band)


def evaluated_origins(plan: Plan, market: Market) -> np.ndarray:
    times, scored = plan.refit_times(market.t)
    return times[:scored][times[:scored] >= plan.evaluation_start(market.t)]


@dataclass(frozen=True)
class BacktestSetup:
    """What the backtest decides before any fit (built where the history is)."""

    history: pd.DataFrame  # ds, y (and `actual`)
    config: ModelConfig
    plan: Plan
    market: Market  # the prices scored against (the close)
    anchor: np.ndarray  # the model price at each bar
    times: np.ndarray  # every refit origin, oldest first
    scored: int
    validation_start: int
    validation_end: int
    evaluation_start: int

    @classmethod
    def build(
        cls, history: pd.DataFrame, interval: pd.Timedelta, config: ModelConfig, plan: Plan
    ) -> BacktestSetup:
        """ValueError when fewer than two scored origins fit in `history`."""
        market, anchor = market_of(history, interval)
        seconds = market.t
        times, scored = plan.refit_times(seconds)
        if scored < 2:
            raise ValueError(
                f"only {scored} backtest origins fit in the data ({history['ds'].iloc[0]} to "
                f"{history['ds'].iloc[-1]}); at least 2 are needed: fetch more history or use "
                "--no-backtest"
            )
        return cls(
            history=history,
            config=config,
            plan=plan,
            market=market,
            anchor=anchor,
            times=times,
            scored=scored,
            validation_start=plan.validation_start(seconds),
            validation_end=plan.validation_end(seconds),
            evaluation_start=plan.evaluation_start(seconds),
        )

    @property
    def undamped(self) -> ModelConfig:
        return self.config.with_changes(damping_hours=None)

    def refit_origins(self) -> np.ndarray:
        """Every refit origin, unless tau is 0 (the last close wherever Prophet goes)."""
        return self.times if self.config.damping_hours != 0 else self.times[:0]


def market_of(frame: pd.DataFrame, interval: pd.Timedelta) -> tuple[Market, np.ndarray]:
    """The close (scored against) as a Market, and the model price at each bar."""
    actual = frame["actual" if "actual" in frame.columns else "y"].to_numpy(dtype=np.float64)
    market = Market(epoch_seconds(frame["ds"]), np.log(actual), seconds_of(interval))
    if "high" in frame:  # each bar's range, for the bands' `range_variance`
        market.read_ranges(np.log(frame["high"] / frame["low"]).to_numpy())
    return market, frame["y"].to_numpy(dtype=np.float64)


def fitted_refits(setup: BacktestSetup, origins: np.ndarray | None = None) -> Refits:
    """Prophet refitted at `origins` (default: `refit_origins`; train.ipynb passes the damping
    design's)."""
    interval = setup.market.interval
    if origins is None:
        origins = setup.refit_origins()
        if len(origins):
            log.info(
                "backtest: the damping (tau %s h) keeps some of Prophet's move: Prophet is "
                "refitted at %d origins, about two CPU-seconds each",
                setup.config.damping_hours,
                len(origins),
            )
    if len(origins) == 0:
        return Refits.none(interval)
    paths = [refit_at(setup.history, int(t), setup.undamped, setup.plan, interval) for t in origins]
    return Refits(origins, np.stack(paths), interval)


def run_backtest(
    setup: BacktestSetup,
    refits: Refits,
    *,
    band: BandSpec | None = None,
    done: Callable[[float], object] = lambda share: None,
) -> BacktestResult:
    """The band choice (`band`: that one, fixed) and the scores from `refits`; told `done`
    the share of its seconds done at each of its two steps (`DONE`)."""
    market, anchor, plan, config = setup.market, setup.anchor, setup.plan, setup.config
    dense = DenseOrigins(market, anchor, refits, config, plan)
    shares = DONE["fixed" if band is not None else "chosen"]
    if band is None:
        choice = choose_band(dense, candidates(), setup.validation_start, setup.validation_end)
        done(shares[0])
        served_band = Band(choice.chosen, market, dense.pos, dense.errors(BAND_HOURS))
    else:  # the served band built first: the record's validation scores read its calibrations
        served_band = Band(band, market, dense.pos, dense.errors(BAND_HOURS))
        done(shares[0])
        choice = fixed_band(dense, served_band, setup.validation_start, setup.validation_end)
    done(shares[1])
    scores = dense.scores(served_band, setup.validation_start, setup.evaluation_start)
    evaluated = evaluated_origins(plan, market)
    summary = summarize(
        scores,
        origin_step_hours=max(plan.band_step / pd.Timedelta(hours=1), market.interval / HOUR),
        refits=int(np.isin(evaluated, refits.times).sum()),
        boundary=plan.boundary(market.t),
    )
    return BacktestResult(
        dense=dense,
        band=choice,
        served_band=served_band,
        summary=summary,
        scores=scores,
    )
