"""Rolling-origin backtest, along its task graph: the plan (`plan.py`), Prophet's refits
(`refits.py`, the heavy part, each a task of the pair's graph), the damping and band choices on
the validation origins (`choices.py`), and the scores on the evaluation origins (`scoring.py`).

Nothing reported is tuned on the origins it is reported on: the damping (tau) is chosen on the
validation refits by MAPE, the band on the validation band origins by interval score, and a
band at any origin is calibrated only on errors whose outcome was known by then. The summary
comes from the *evaluation* origins and is computed once, here.

Not `prophet.diagnostics.cross_validation`: it refits at each cutoff (on Dask too), but hands
back Prophet's own `yhat` and interval per horizon. This backtest keeps each refit's whole path
(cached by the bars it saw, for the next run), re-anchors it at each origin's last close and
damps it, calibrates bands on earlier errors only, and scores the naive and drift baselines on
the same origins, so it takes from Prophet the fit alone (`refits.py`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cryptopredict.artifact.schema import (
    DEFAULT_LEVEL,
    BacktestSummary,
    BandChoice,
    DampingChoice,
    PastForecast,
)
from cryptopredict.model.band_spec import BandSpec, candidates
from cryptopredict.model.bands import BAND_HOURS, Band
from cryptopredict.model.choices import choose_band, choose_damping, damp, fixed_band
from cryptopredict.model.config import ModelConfig
from cryptopredict.model.market import Market
from cryptopredict.model.plan import HOUR, SERVED, Plan, epoch_seconds, seconds_of
from cryptopredict.model.refits import Refits, refit_frame
from cryptopredict.model.scores import tails
from cryptopredict.model.scoring import DenseOrigins, past_forecasts, summarize

log = logging.getLogger(__name__)

PATH_STEP = pd.Timedelta(hours=24)  # the past forecasts' points, for charts


@dataclass
class Backtest:
    """The refits, the choices made on the validation origins, and the evaluation scores."""

    plan: Plan
    config: ModelConfig  # with the chosen damping
    market: Market  # the prices scored against (the close)
    anchor: np.ndarray  # the model price (close or VWAP) at each bar of `market`
    refits: Refits  # the refits fitted (none past the validation span when tau is 0)
    dense: DenseOrigins
    damping: DampingChoice | None
    band: BandChoice
    served_band: Band  # calibrated at every standard horizon, for the grid
    summary: BacktestSummary
    scores: pd.DataFrame = field(repr=False)  # one row per model, band origin and horizon
    forecasts: pd.DataFrame = field(repr=False)  # refit origins, Prophet's cross-validation shape
    fitted: pd.DataFrame = field(repr=False)  # the same, before damping

    @property
    def evaluated(self) -> list[pd.Timestamp]:
        """The scored refit origins inside the evaluation span (fitted or not)."""
        return evaluated_origins(self.plan, self.market)

    def paths(self) -> list[PastForecast]:
        """Past served forecasts from each evaluated refit origin, a point a day."""
        times = np.array([int(at.timestamp()) for at in self.evaluated], dtype=np.int64)
        return past_forecasts(self.dense, self.served_band, times, PATH_STEP)


def evaluated_origins(plan: Plan, market: Market) -> list[pd.Timestamp]:
    times, scored = plan.refit_times(market.t)
    start = plan.evaluation_start(market.t)
    return [pd.Timestamp(int(t), unit="s") for t in times[:scored] if t >= start]


@dataclass(frozen=True)
class BacktestSetup:
    """What the backtest decides before any fit: the prices, the refit origins and the spans.
    Built where the history is (a worker); every later step of the backtest starts from it."""

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
    leads: np.ndarray  # hours

    @classmethod
    def build(
        cls, history: pd.DataFrame, interval: pd.Timedelta, config: ModelConfig, plan: Plan
    ) -> BacktestSetup:
        """ValueError when fewer than two scored origins fit in `history`."""
        step = seconds_of(interval)
        seconds = epoch_seconds(history["ds"])
        actual = history["actual" if "actual" in history.columns else "y"]
        market = Market(seconds, np.log(actual.to_numpy(dtype=np.float64)), step)
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
            anchor=history["y"].to_numpy(dtype=np.float64),
            times=times,
            scored=scored,
            validation_start=plan.validation_start(seconds),
            validation_end=plan.validation_end(seconds),
            evaluation_start=plan.evaluation_start(seconds),
            leads=np.arange(0, seconds_of(plan.horizon) + 1, step) / HOUR,
        )

    @property
    def undamped(self) -> ModelConfig:
        """The configuration Prophet is refitted with (damping is applied to its paths)."""
        config = self.config
        return config.with_changes(damping_hours=None) if config.damping_grid else config

    def damping_origins(self) -> np.ndarray:
        """The validation refit origins the damping is chosen on (none without a grid)."""
        if not self.config.damping_grid:
            return np.empty(0, dtype=np.int64)
        scored = self.times[: self.scored]
        return scored[(scored >= self.validation_start) & (scored <= self.validation_end)]

    def refit_origins(self, tau: float | None) -> np.ndarray:
        """Every origin Prophet is refitted at once the damping is known: all of them, unless
        tau is 0 (the last close wherever Prophet goes: only the damping's own refits)."""
        return self.times if tau != 0 else self.damping_origins()


def choose_tau(setup: BacktestSetup, refits: Refits) -> tuple[DampingChoice | None, float | None]:
    """The damping chosen on the validation refits (`refits`), and the tau it serves."""
    config = setup.config
    if not config.damping_grid:
        return None, config.damping_hours
    if len(refits.times) == 0:
        # Too short a history for a year of training before the validation outcomes end:
        # serve what validation chose wherever it could choose, the last close. The normal
        # path for a pair with two years of bars (the embedded spot pairs): said at INFO, and
        # in the model card's `served.damping` ("forced").
        log.info(
            "backtest: no Prophet refit fits before the validation outcomes end; "
            "the point forecast is the last close (tau 0)"
        )
        return None, 0.0
    fitted = refit_frame(
        setup.market, anchor=setup.anchor, refits=refits, config=config, leads=setup.leads
    )
    validation = [pd.Timestamp(int(t), unit="s") for t in refits.times]
    damping = choose_damping(fitted, config.damping_grid, validation, config.target)
    return damping, damping.chosen


def finish_backtest(
    setup: BacktestSetup,
    refits: Refits,
    damping: DampingChoice | None,
    tau: float | None,
    *,
    band_candidates: Sequence[BandSpec] | None = None,
    band: BandSpec | None = None,
) -> Backtest:
    """The band choice (`band`: that band, not chosen among `band_candidates`) and the
    scores, from the refits at `setup.refit_origins(tau)`."""
    market, anchor, plan, config = setup.market, setup.anchor, setup.plan, setup.config
    if tau == 0:
        # The served path keeps none of Prophet's move: the evaluation and hindcast refits
        # would change nothing and were not fitted.
        log.info(
            "backtest: damping tau 0 %s: the point forecast is the last close wherever "
            "Prophet goes, so Prophet needs no refit beyond the %d validation ones (none at the "
            "evaluation origins)",
            "chosen" if damping else "forced" if config.damping_grid else "configured",
            len(refits.times),
        )
    fitted = refit_frame(market, anchor=anchor, refits=refits, config=config, leads=setup.leads)
    served_config = config.with_changes(damping_hours=tau)
    forecasts = damp(fitted, tau, config.target)

    dense = DenseOrigins.build(market, anchor, refits, served_config, plan)
    if band is not None:
        choice = fixed_band(dense, band, setup.validation_start, setup.validation_end)
    else:
        specs = list(band_candidates) if band_candidates is not None else candidates()
        choice = choose_band(dense, specs, setup.validation_start, setup.validation_end)
    served_band = Band(
        BandSpec.from_setting(choice.chosen), market, dense.pos, dense.errors(market, BAND_HOURS)
    )
    scores = dense.scores(served_band, setup.validation_start, setup.evaluation_start)
    forecasts = _band_refits(forecasts, market, served_band, setup.leads)
    fitted_times = set(refits.times.tolist())
    evaluated = evaluated_origins(plan, market)
    summary = summarize(
        scores,
        origin_step_hours=max(plan.band_step / pd.Timedelta(hours=1), market.interval / HOUR),
        refits=sum(int(at.timestamp()) in fitted_times for at in evaluated),
        boundary=plan.boundary(market.t),
    )
    return Backtest(
        plan=plan,
        config=served_config,
        market=market,
        anchor=anchor,
        refits=refits,
        dense=dense,
        damping=damping,
        band=choice,
        served_band=served_band,
        summary=summary,
        scores=scores,
        forecasts=forecasts,
        fitted=fitted,
    )


def _band_refits(
    forecasts: pd.DataFrame, market: Market, band: Band, leads: np.ndarray
) -> pd.DataFrame:
    """The served model's rows with its 80% band, as calibrated at each refit origin."""
    low, high = tails(DEFAULT_LEVEL)
    times = epoch_seconds(pd.Series(forecasts.loc[forecasts["model"] == SERVED, "cutoff"].unique()))
    offsets = band.offsets(market.position(times), leads)
    served = forecasts["model"] == SERVED
    out = forecasts.copy()
    yhat = out.loc[served, "yhat"].to_numpy()
    out.loc[served, "yhat_lower"] = yhat * np.exp(offsets[low].ravel())
    out.loc[served, "yhat_upper"] = yhat * np.exp(offsets[high].ravel())
    return out


def unbacktested_band(market: Market, anchor: np.ndarray, spec: BandSpec) -> Band:
    """`spec` calibrated on the naive forecast's errors at the default band origins: the band
    of a model trained without a backtest, whose own errors are unknown."""
    dense = DenseOrigins.build(
        market, anchor, Refits.none(market.interval), ModelConfig(name="naive"), Plan()
    )
    return Band(spec, market, dense.pos, dense.errors(market, BAND_HOURS))
