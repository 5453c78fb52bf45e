"""Rolling-origin backtest of Prophet against the baselines, with conformal calibration.

Origins are spaced `step` apart, each far enough from the end to see its whole horizon. At each
origin every model is refitted on the data up to it (Prophet in parallel processes) and predicts
the following `horizon` at the data interval. Nothing reported is tuned on the origins it is
reported on:

- the damping of the served model, and the volatility window its bands scale with, are chosen on
  the validation origins, those older than the evaluation span (the last two years by default);
- its bands are calibrated on older origins only: at origin k, the quantiles of errors come from
  origins whose forecasts had fully played out by origin k;
- metrics are Prophet's own `performance_metrics`, over the evaluation span's origins.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from prophet.diagnostics import performance_metrics

from cryptopredict.model.config import ModelConfig
from cryptopredict.model.forecasters import (
    BAND_HOURS,
    DriftForecaster,
    Forecaster,
    NaiveForecaster,
    ProphetForecaster,
    realized_volatility,
)
from cryptopredict.postprocess import QuantileTable, band, damping_factor

log = logging.getLogger(__name__)

HORIZONS = {"1d": pd.Timedelta(days=1), "7d": pd.Timedelta(days=7), "30d": pd.Timedelta(days=30)}
SERVED = "prophet"
POOL = 0.15  # errors at leads within ±15% of a calibrated horizon are pooled for its quantiles


@dataclass(frozen=True)
class Plan:
    horizon: pd.Timedelta = pd.Timedelta(days=30)
    # A week and seven hours: origins fall on every weekday and hour of the day in turn.
    step: pd.Timedelta = pd.Timedelta(days=7, hours=7)
    evaluation_span: pd.Timedelta = pd.Timedelta(days=730)
    min_training: pd.Timedelta = pd.Timedelta(days=365)
    min_calibration: int = 10  # past origins needed before an origin's band can be calibrated
    max_origins: int | None = None  # keep only the most recent origins (for quick runs)

    def origins(self, ds: pd.Series) -> list[pd.Timestamp]:
        """Bar times to forecast from, oldest first."""
        last_possible = ds.iloc[-1] - self.horizon
        earliest = ds.iloc[0] + self.min_training
        nominal = []
        at = last_possible
        while at >= earliest:
            nominal.append(at)
            at -= self.step
        if self.max_origins is not None:
            nominal = nominal[: self.max_origins]
        positions = np.searchsorted(ds.to_numpy(), np.array(nominal[::-1], dtype=ds.dtype), "right")
        return sorted({ds.iloc[i - 1] for i in positions if i > 0})


@dataclass(frozen=True)
class Choice:
    """A setting chosen on the validation origins, with every candidate's scores."""

    value: float | None
    validation_origins: int
    candidates: list[dict]

    def to_dict(self) -> dict:
        return {
            "chosen": self.value,
            "validation_origins": self.validation_origins,
            "candidates": self.candidates,
        }


@dataclass
class Backtest:
    """Every model's forecasts in Prophet's cross-validation shape, plus the summary."""

    forecasts: pd.DataFrame  # model, cutoff, ds, y, yhat, yhat_lower, yhat_upper
    evaluated: list[pd.Timestamp]
    interval_width: float
    calibration: QuantileTable | None
    damping: Choice | None
    volatility: Choice | None
    # Kept to re-examine the backtest (the notebook does), not used by training: every model's
    # forecasts as fitted, before the backtest damped and banded the served model's...
    fitted: pd.DataFrame | None = field(default=None, repr=False)
    # ...and what the bands were calibrated from: every origin's forecasts before banding (the
    # served model's damped), the plan, and each origin's volatility. None when not calibrated.
    unbanded: pd.DataFrame | None = field(default=None, repr=False)
    plan: Plan | None = None
    scales: dict[pd.Timestamp, float] | None = field(default=None, repr=False)
    metrics: pd.DataFrame = field(init=False)

    def __post_init__(self) -> None:
        self.metrics = horizon_metrics(self.forecasts, self.evaluated)

    def at_width(self, width: float) -> Backtest:
        """The same backtest with the served model's bands calibrated for another nominal width:
        the same calibration on the same errors, origins and volatilities, so the coverage at
        several widths shows whether the bands are calibrated beyond the one width served."""
        if self.unbanded is None or self.plan is None or self.scales is None:
            raise ValueError("this backtest did not calibrate its bands")
        forecasts, table = calibrate(
            self.unbanded,
            SERVED,
            self.plan,
            evaluated=self.evaluated,
            width=width,
            scales=self.scales,
        )
        return replace(self, forecasts=forecasts, interval_width=width, calibration=table)

    def summary(self) -> dict:
        out: dict = {"origins": len(self.evaluated), "interval_width": self.interval_width}
        for label in HORIZONS:
            rows = self.metrics[self.metrics["horizon"] == label]
            out[label] = {
                row["model"]: {
                    key: float(row[key])
                    for key in ("mape", "mae", "rmse", "coverage")
                    if key in row and pd.notna(row[key])
                }
                for _, row in rows.iterrows()
            }
        return out

    def paths(self, model: str = SERVED, every: pd.Timedelta = pd.Timedelta(hours=24)) -> list:
        """Past forecasts against actual prices, thinned to one point per `every`, for charts."""
        chosen = self.forecasts[
            (self.forecasts["model"] == model) & self.forecasts["cutoff"].isin(self.evaluated)
        ]
        out = []
        for cutoff, group in chosen.groupby("cutoff"):
            kept = group[((group["ds"] - cutoff) % every) == pd.Timedelta(0)]
            out.append(
                {
                    "origin": cutoff.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "ds": (kept["ds"].astype("datetime64[s]").astype("int64")).tolist(),
                    "yhat": kept["yhat"].round(2).tolist(),
                    "yhat_lower": kept["yhat_lower"].round(2).tolist(),
                    "yhat_upper": kept["yhat_upper"].round(2).tolist(),
                    "actual": [None if math.isnan(v) else round(v, 2) for v in kept["y"]],
                }
            )
        return out


def run_backtest(
    history: pd.DataFrame,
    interval: pd.Timedelta,
    config: ModelConfig,
    plan: Plan,
    *,
    jobs: int | None = None,
    baselines: Sequence[Callable[[], Forecaster]] | None = None,
) -> Backtest:
    """Backtest `config` (as "prophet") and the baselines on `history` (`ds`, `y`) of bars
    `interval` apart."""
    origins = plan.origins(history["ds"])
    if len(origins) <= plan.min_calibration:
        raise ValueError(
            f"only {len(origins)} backtest origins fit in the data "
            f"({history['ds'].iloc[0]} to {history['ds'].iloc[-1]}); more than "
            f"{plan.min_calibration} are needed: fetch more history or use --no-backtest"
        )
    leads = pd.timedelta_range(pd.Timedelta(0), plan.horizon, freq=interval)
    log.info("backtest: %d origins from %s, %d leads each", len(origins), origins[0], len(leads))
    makers = baselines if baselines is not None else default_baselines(config)
    choosing = bool(config.damping_grid)
    undamped = config.with_changes(damping_hours=None) if choosing else config
    frames = fit_and_predict({SERVED: undamped}, history, origins, leads, jobs)
    for make in makers:
        frames.append(predict_in_process(make, history, origins, leads))
    forecasts = attach_actuals(pd.concat(frames, ignore_index=True), history)
    fitted = forecasts
    evaluated = [at for at in origins if at >= origins[-1] - plan.evaluation_span]
    validation = [at for at in origins if at < evaluated[0]]
    width = config.interval_width
    damping = None
    if choosing and validation:
        damping = choose_damping(forecasts, config.damping_grid, validation, config.target)
        forecasts = damp(forecasts, damping.value, config.target)
    elif choosing:
        log.warning("backtest: no origins before the evaluation span; damping left unchosen")
        forecasts = damp(forecasts, config.damping_hours, config.target)
    calibration = volatility = unbanded = scales = None
    if config.calibrated:
        days = config.volatility_days
        if config.volatility_days_grid and validation:
            volatility = choose_volatility(
                forecasts,
                history,
                plan,
                validation=validation,
                grid=config.volatility_days_grid,
                width=width,
            )
        if volatility is not None:
            assert volatility.value is not None  # a window is a number of days, never None
            days = int(volatility.value)
        elif config.volatility_days_grid:
            log.warning(
                "backtest: no validation origin could be calibrated; volatility window "
                "left at %d days",
                days,
            )
        unbanded, scales = forecasts, origin_volatility(history, origins, days)
        forecasts, calibration = calibrate(
            forecasts, SERVED, plan, evaluated=evaluated, width=width, scales=scales
        )
        banded = set(forecasts.loc[forecasts["model"] == SERVED, "cutoff"])
        evaluated = [at for at in evaluated if at in banded]
        if not evaluated:
            raise ValueError(
                f"no backtest origin has {plan.min_calibration} older origins whose "
                f"{plan.horizon.days}-day forecasts had played out: fetch more history, or "
                "use --no-backtest"
            )
    return Backtest(
        forecasts,
        evaluated,
        width,
        calibration,
        damping,
        volatility,
        fitted=fitted,
        unbanded=unbanded,
        plan=plan,
        scales=scales,
    )


def origin_volatility(
    history: pd.DataFrame, origins: list[pd.Timestamp], days: int
) -> dict[pd.Timestamp, float]:
    return {at: realized_volatility(history[history["ds"] <= at], days) for at in origins}


def choose_volatility(
    forecasts: pd.DataFrame,
    history: pd.DataFrame,
    plan: Plan,
    *,
    validation: list[pd.Timestamp],
    grid: tuple[int, ...],
    width: float,
) -> Choice | None:
    """The volatility window with the best interval score on the validation origins (None when
    no validation origin has enough older ones to be calibrated).

    The interval (Winkler) score is the band's width in log terms plus 2 / alpha times how far
    the outcome fell outside it: it rewards bands that are narrow and still hold the price,
    averaged over the horizons (ties go to the earlier candidate).
    """
    origins = sorted(set(forecasts["cutoff"]))
    candidates = []
    for days in grid:
        scales = origin_volatility(history, origins, days)
        banded, _ = calibrate(
            forecasts, SERVED, plan, evaluated=validation, width=width, scales=scales
        )
        served = banded[banded["model"] == SERVED]
        inside = served["y"].between(served["yhat_lower"], served["yhat_upper"])
        score = _at_horizons(served, interval_score(served, width))
        candidates.append(
            {
                "days": days,
                **{f"coverage_{k}": v for k, v in _at_horizons(served, inside).items()},
                **{f"score_{k}": v for k, v in score.items()},
                "score": float(np.mean(list(score.values()))) if score else float("nan"),
            }
        )
    if not all(np.isfinite(candidate["score"]) for candidate in candidates):
        return None
    best = min(candidates, key=lambda candidate: candidate["score"])
    return Choice(best["days"], len(validation), candidates)


def interval_score(rows: pd.DataFrame, width: float) -> pd.Series:
    """The interval score of each banded forecast, in log terms (lower is better)."""
    y, lower, upper = (np.log(rows[name]) for name in ("y", "yhat_lower", "yhat_upper"))
    penalty = 2 / (1 - width)
    below, above = (lower - y).clip(lower=0), (y - upper).clip(lower=0)
    return (upper - lower) + penalty * (below + above)


def _at_horizons(rows: pd.DataFrame, values: pd.Series) -> dict[str, float]:
    """The mean of `values` over rows at exactly each horizon with a known outcome."""
    lead = rows["ds"] - rows["cutoff"]
    known = rows["y"].notna()
    at = {label: (lead == h) & known for label, h in HORIZONS.items()}
    return {label: float(values[mask].mean()) for label, mask in at.items() if mask.any()}


def choose_damping(
    forecasts: pd.DataFrame,
    grid: tuple[float | None, ...],
    validation: list[pd.Timestamp],
    target: str,
) -> Choice:
    """The tau whose served forecasts have the lowest MAPE, relative to the naive baseline's and
    averaged over the horizons, on the validation origins (ties go to the weaker damping)."""
    older = forecasts[forecasts["cutoff"].isin(validation) & forecasts["y"].notna()]
    naive = _mape_at_horizons(older[older["model"] == "naive"])
    scores: list[dict[str, Any]] = []
    for tau in grid:
        mape = _mape_at_horizons(damp(older[older["model"] == SERVED], tau, target))
        ratio = float(np.mean([mape[label] / naive[label] for label in HORIZONS]))
        scores.append({"tau": tau, **{f"mape_{k}": v for k, v in mape.items()}, "ratio": ratio})
    best = min(scores, key=lambda score: score["ratio"])
    return Choice(best["tau"], len(validation), scores)


def damp(forecasts: pd.DataFrame, tau: float | None, target: str) -> pd.DataFrame:
    """The served model's forecasts with its move away from the origin damped by tau."""
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


def _mape_at_horizons(rows: pd.DataFrame) -> dict[str, float]:
    lead = rows["ds"] - rows["cutoff"]
    return {
        label: float((rows["yhat"] / rows["y"] - 1).abs()[lead == horizon].mean())
        for label, horizon in HORIZONS.items()
    }


def default_baselines(config: ModelConfig) -> list[Callable[[], Forecaster]]:
    return [
        lambda: NaiveForecaster(config.window_days, config.interval_width),
        lambda: DriftForecaster(config.window_days),
    ]


def fit_and_predict(
    configs: dict[str, ModelConfig],
    history: pd.DataFrame,
    origins: list[pd.Timestamp],
    leads: pd.TimedeltaIndex,
    jobs: int | None,
) -> list[pd.DataFrame]:
    """One Prophet fit per configuration and origin, spread over worker processes."""
    tasks = [
        (name, config, history[history["ds"] <= origin], origin + leads)
        for name, config in configs.items()
        for origin in origins
    ]
    workers = min(jobs or os.cpu_count() or 1, len(tasks))
    if workers <= 1:
        return [_prophet_task(task) for task in tasks]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_prophet_task, tasks, chunksize=1))


def _prophet_task(task: tuple) -> pd.DataFrame:
    name, config, train, ds = task
    logging.getLogger("cmdstanpy").setLevel(logging.WARNING)
    forecaster = ProphetForecaster(config, name).fit(train)
    return _labelled(forecaster.predict(pd.Series(ds)), name, train["ds"].iloc[-1])


def predict_in_process(
    make: Callable[[], Forecaster],
    history: pd.DataFrame,
    origins: list[pd.Timestamp],
    leads: pd.TimedeltaIndex,
) -> pd.DataFrame:
    frames = []
    for origin in origins:
        forecaster = make().fit(history[history["ds"] <= origin])
        prediction = forecaster.predict(pd.Series(origin + leads))
        frames.append(_labelled(prediction, forecaster.name, origin))
    return pd.concat(frames, ignore_index=True)


def _labelled(prediction: pd.DataFrame, model: str, cutoff: pd.Timestamp) -> pd.DataFrame:
    return prediction.assign(model=model, cutoff=cutoff)


def attach_actuals(forecasts: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """Each forecast's actual price as `y`: the history's `actual` column where it has one (a
    model of the VWAP is scored against the close), else what the models learned."""
    actual = history.set_index("ds")["actual" if "actual" in history.columns else "y"]
    return forecasts.assign(y=actual.reindex(forecasts["ds"]).to_numpy())


def calibrate(
    forecasts: pd.DataFrame,
    model: str,
    plan: Plan,
    *,
    evaluated: list[pd.Timestamp],
    width: float,
    scales: dict[pd.Timestamp, float],
) -> tuple[pd.DataFrame, QuantileTable]:
    """Give `model`'s forecasts conformal bands, each origin's from strictly older errors.

    Errors are log errors divided by the volatility at their origin (`scales`), so one table
    serves calm and wild markets alike: an origin's band is its forecast times
    exp(quantile * its own volatility).

    Returns the forecasts (the model's rows now banded; origins with fewer than
    `plan.min_calibration` older origins are dropped) and the quantile table from every origin,
    which the served model uses.
    """
    rows = forecasts[forecasts["model"] == model].copy()
    rows["lead"] = (rows["ds"] - rows["cutoff"]) / pd.Timedelta(hours=1)
    rows["error"] = np.log(rows["y"] / rows["yhat"]) / rows["cutoff"].map(scales)
    pools = ErrorPools(rows, calibrated_hours(rows, plan.horizon))
    banded = []
    wanted = set(evaluated)
    for origin, group in rows.groupby("cutoff"):
        if origin not in wanted:
            continue
        table = pools.table(width, plan.min_calibration, known_by=origin)
        if table is not None:
            centre, lead = group["yhat"].to_numpy(), group["lead"].to_numpy()
            lower, upper = band(centre, lead, table, scales[origin])
            banded.append(group.assign(yhat_lower=lower, yhat_upper=upper))
    final = pools.table(width, plan.min_calibration, known_by=None)
    if final is None:
        raise ValueError("too few backtest origins to calibrate the forecast bands")
    columns = list(dict.fromkeys([*forecasts.columns, "yhat_lower", "yhat_upper"]))
    others = forecasts[forecasts["model"] != model].reindex(columns=columns)
    kept = [others, *(frame[columns] for frame in banded)]
    return pd.concat(kept, ignore_index=True), final


def calibrated_hours(rows: pd.DataFrame, horizon: pd.Timedelta) -> tuple[float, ...]:
    """The standard horizons that this data's leads can reach (daily data skips intraday ones)."""
    leads = set(rows["lead"].round(6))
    limit = horizon / pd.Timedelta(hours=1)
    return tuple(h for h in BAND_HOURS if h <= limit and h in leads)


class ErrorPools:
    """Per calibrated horizon, the errors at nearby leads, ordered by when they became known.

    An error at lead h from origin t is known once the whole pooled window has played out, at
    t + h * (1 + POOL); a band for an origin may use only errors known by then.
    """

    def __init__(self, rows: pd.DataFrame, hours: tuple[float, ...]) -> None:
        self.hours = hours
        self.pools = []
        for h in hours:
            near = rows[rows["lead"].between(h * (1 - POOL), h * (1 + POOL))]
            near = near[np.isfinite(near["error"])]
            known_at = (near["cutoff"] + pd.Timedelta(hours=h * (1 + POOL))).to_numpy()
            order = np.argsort(known_at, kind="stable")
            cutoffs = near["cutoff"].to_numpy()[order]
            new_origin = np.r_[True, cutoffs[1:] != cutoffs[:-1]] if len(cutoffs) else cutoffs
            self.pools.append(
                (known_at[order], near["error"].to_numpy()[order], np.cumsum(new_origin))
            )

    def table(
        self, width: float, min_origins: int, known_by: pd.Timestamp | None
    ) -> QuantileTable | None:
        """Error quantiles at each horizon from errors known by `known_by` (all when None);
        None when some horizon has fewer than `min_origins` origins to learn from."""
        tails = ((1 - width) / 2, (1 + width) / 2)
        lower, upper = [], []
        for known_at, errors, origins_so_far in self.pools:
            count = len(errors)
            if known_by is not None:
                count = np.searchsorted(known_at, pd.Timestamp(known_by).to_datetime64(), "right")
            if count == 0 or origins_so_far[count - 1] < min_origins:
                return None
            low, high = np.quantile(errors[:count], tails)
            lower.append(float(low))
            upper.append(float(high))
        return self.hours, tuple(lower), tuple(upper)


def horizon_metrics(forecasts: pd.DataFrame, evaluated: list[pd.Timestamp]) -> pd.DataFrame:
    """MAE, RMSE, MAPE and coverage per model at 1, 7 and 30 days (Prophet's diagnostics)."""
    chosen = forecasts[forecasts["cutoff"].isin(evaluated) & forecasts["y"].notna()]
    rows = []
    for model, group in chosen.groupby("model"):
        metrics = ["mae", "rmse", "mape"]
        has_band = "yhat_lower" in group and group["yhat_lower"].notna().all()
        if has_band:
            metrics.append("coverage")
        lead = group["ds"] - group["cutoff"]
        at = group[lead.isin(list(HORIZONS.values()))]
        table = performance_metrics(at, metrics=metrics, rolling_window=0)
        if table is None:  # no forecast at any of the horizons
            continue
        for label, horizon in HORIZONS.items():
            match = table[table["horizon"] == horizon]
            if match.empty:
                continue
            count = int((at["ds"] - at["cutoff"] == horizon).sum())
            rows.append({"model": model, "horizon": label, "n": count, **match.iloc[0][metrics]})
    return pd.DataFrame(rows)
