"""Rolling-origin backtest: Prophet refits, the damping and band choices, and the scores.

Two sets of origins, both on grids fixed to the epoch (so adding bars only adds origins, and
cached fits stay valid):

- **refits**, every `Plan.step` (7 days 7 hours: every weekday and hour in turn), from a year
  after the first bar to the last bar. Prophet is refitted at each on the data up to it (in
  parallel processes, cached) and predicts the bars after it.
- **band origins**, every `Plan.band_step` (7 hours), from `BAND_WARMUP` after the first bar.
  Bands cost nothing next to a Prophet fit, so they are scored here, where comparisons have
  power. The point forecast at a band origin is the latest refit's path re-anchored there (what
  the served model says between retrainings; exactly the naive forecast when tau is 0).

Nothing reported is tuned on the origins it is reported on. Origins older than the evaluation
span (the last two years by default) are *validation* origins: the damping (tau) is chosen on
the validation refits by MAPE, and the band on the validation band origins by interval score.
A band at any origin is calibrated only on errors whose outcome was known by then. The figures
reported come from the *evaluation* origins.
"""

from __future__ import annotations

import functools
import logging
import math
import operator
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from cryptopredict.artifact import DEFAULT_LEVEL, LEVELS
from cryptopredict.model import bands as bandlib
from cryptopredict.model.bands import BAND_HOURS, NAIVE_BAND, Band, BandSpec, Market
from cryptopredict.model.config import ModelConfig
from cryptopredict.model.fitcache import FitCache, fit_key
from cryptopredict.model.forecasters import prophet_path, window
from cryptopredict.model.progress import progress
from cryptopredict.model.scores import (
    inside,
    interval_score,
    overlap_lags,
    paired,
    quantile_score,
    tails,
)
from cryptopredict.postprocess import centre_path, damping_factor
from cryptopredict.utc import iso_utc

log = logging.getLogger(__name__)

HORIZONS = {
    "1h": pd.Timedelta(hours=1),
    "1d": pd.Timedelta(days=1),
    "7d": pd.Timedelta(days=7),
    "30d": pd.Timedelta(days=30),
}
SERVED = "prophet"
HOUR = 3600
BAND_WARMUP = pd.Timedelta(days=30)  # band origins start this long after the first bar
REFIT_SLACK = pd.Timedelta(days=2)  # each refit predicts this far past the next one's horizon


def _seconds(delta: pd.Timedelta) -> int:
    return int(delta / pd.Timedelta(seconds=1))


@dataclass(frozen=True)
class Plan:
    horizon: pd.Timedelta = pd.Timedelta(days=30)
    # A week and seven hours: refits fall on every weekday and hour of the day in turn.
    step: pd.Timedelta = pd.Timedelta(days=7, hours=7)
    evaluation_span: pd.Timedelta = pd.Timedelta(days=730)
    min_training: pd.Timedelta = pd.Timedelta(days=365)
    band_step: pd.Timedelta = pd.Timedelta(hours=7)
    max_origins: int | None = None  # keep only the most recent scored refits (quick runs)

    def refit_times(self, seconds: np.ndarray) -> tuple[np.ndarray, int]:
        """Bar times Prophet is refitted at, oldest first, and how many of the first ones are
        scored (their whole horizon had played out by the last bar)."""
        first = seconds[0] + _seconds(self.min_training)
        times = _grid(seconds, first, seconds[-1], _seconds(self.step))
        scored = int(np.sum(times <= seconds[-1] - _seconds(self.horizon)))
        if self.max_origins is not None and scored > self.max_origins:
            times, scored = times[scored - self.max_origins :], self.max_origins
        return times, scored

    def origins(self, ds: pd.Series) -> list[pd.Timestamp]:
        """The scored refit origins as timestamps, oldest first."""
        times, scored = self.refit_times(_epoch(ds))
        return [pd.Timestamp(int(t), unit="s") for t in times[:scored]]

    def band_times(self, seconds: np.ndarray) -> np.ndarray:
        first = seconds[0] + _seconds(BAND_WARMUP)
        return _grid(seconds, first, seconds[-1], max(_seconds(self.band_step), 1))

    def evaluation_start(self, seconds: np.ndarray) -> int:
        """The first evaluation origin: the evaluation span before the last scored origin, but
        never before the middle of the band origins' history (a short history is shared
        evenly between validation, outcomes included, and evaluation)."""
        horizon = _seconds(self.horizon)
        last_scored = int(seconds[-1]) - horizon
        band_start = int(seconds[0]) + _seconds(BAND_WARMUP)
        even = (last_scored + band_start + horizon) // 2
        return max(last_scored - _seconds(self.evaluation_span), even)

    def validation_start(self, seconds: np.ndarray) -> int:
        """The first validation origin: `min_training` after the first bar, or on a short
        history the middle of what precedes the validation outcomes' end."""
        band_start = int(seconds[0]) + _seconds(BAND_WARMUP)
        half = (self.validation_end(seconds) - band_start) // 2
        return min(int(seconds[0]) + _seconds(self.min_training), band_start + max(half, 0))

    def validation_end(self, seconds: np.ndarray) -> int:
        """The last validation origin: its whole horizon has played out by the first evaluation
        origin, so no validation outcome is known only inside the evaluation span."""
        return self.evaluation_start(seconds) - _seconds(self.horizon) - 1

    def boundary(self, seconds: np.ndarray) -> dict[str, str]:
        """The dates the manifest records: validation outcomes end before evaluation starts."""
        return {
            "first_validation_origin": iso_utc(self.validation_start(seconds)),
            "last_validation_outcome": iso_utc(
                self.validation_end(seconds) + _seconds(self.horizon)
            ),
            "first_evaluation_origin": iso_utc(self.evaluation_start(seconds)),
        }


def _grid(seconds: np.ndarray, first: int, last: int, step: int) -> np.ndarray:
    """Every multiple of `step` in [first, last], snapped to the last bar at or before it."""
    points = np.arange(-(-first // step) * step, last + 1, step, dtype=np.int64)
    at = np.searchsorted(seconds, points, "right") - 1
    return np.unique(seconds[at[at >= 0]])


def _epoch(ds: pd.Series) -> np.ndarray:
    return pd.to_datetime(ds).to_numpy().astype("datetime64[s]").astype(np.int64)


@dataclass(frozen=True)
class Choice:
    """A setting chosen on the validation origins, with every candidate's scores."""

    value: float | dict | None
    validation_origins: int
    candidates: list[dict]
    details: dict = field(default_factory=dict)  # how parts of the choice were made

    @property
    def tau(self) -> float | None:
        """The damping chosen (hours; None: undamped)."""
        if isinstance(self.value, dict):
            raise TypeError("this choice is a band, not a damping")
        return self.value

    @property
    def spec(self) -> BandSpec:
        """The band chosen."""
        if not isinstance(self.value, dict):
            raise TypeError("this choice is a damping, not a band")
        return BandSpec.from_dict(self.value)

    def to_dict(self) -> dict:
        return {
            "chosen": self.value,
            "validation_origins": self.validation_origins,
            "candidates": self.candidates,
            **self.details,
        }


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


def fit_refits(
    history: pd.DataFrame,
    times: np.ndarray,
    config: ModelConfig,
    plan: Plan,
    interval: int,
    *,
    jobs: int | None,
    cache: FitCache,
) -> Refits:
    """Prophet fitted at each refit time on the data up to it; cached fits are reused."""
    steps = (_seconds(plan.step + plan.horizon + REFIT_SLACK)) // interval + 1
    seconds = _epoch(history["ds"])
    settings = {
        "prophet": config.prophet_kwargs(),
        "target": config.target,
        "window_days": config.window_days,
    }
    raw = np.empty((len(times), steps))
    tasks, keys = [], []
    for i, origin in enumerate(times):
        train = window(history[seconds <= origin], config.window_days)
        ahead = origin + interval * np.arange(steps, dtype=np.int64)
        key = fit_key(settings, _epoch(train["ds"]), train["y"].to_numpy(), ahead)
        cached = cache.get(key)
        if cached is not None and cached.shape == (steps,):
            raw[i] = cached
        else:
            tasks.append((i, config, train[["ds", "y"]], ahead))
            keys.append(key)
    log.info(
        "backtest: %d Prophet refits, %d cached, %d to fit",
        len(times),
        len(times) - len(tasks),
        len(tasks),
    )
    if tasks:
        workers = max(1, min(jobs or os.cpu_count() or 1, len(tasks)))
        with progress(len(tasks), "backtest: Prophet refits", "fit", position=1) as bar:
            for (i, *_), key, path in zip(tasks, keys, _run(tasks, workers), strict=True):
                raw[i] = path
                cache.put(key, path)
                bar.update(1)
    return Refits(times, raw, interval)


def _run(tasks: list[tuple], workers: int):
    if workers <= 1:
        yield from map(_refit_task, tasks)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(_refit_task, tasks, chunksize=1)


def _refit_task(task: tuple) -> np.ndarray:
    _, config, train, ahead = task
    for chatty in ("cmdstanpy", "prophet"):  # a line per fit, e.g. "Disabling yearly seasonality"
        logging.getLogger(chatty).setLevel(logging.WARNING)
    return prophet_path(config, train, ahead)


@dataclass
class Backtest:
    """The refits, the choices made on the validation origins, and the evaluation scores."""

    plan: Plan
    config: ModelConfig  # with the chosen damping
    market: Market  # the prices scored against (the close)
    anchor: np.ndarray  # the model price (close or VWAP) at each bar of `market`
    refits: Refits  # the refits fitted (none past the validation span when tau is 0)
    dense: DenseOrigins
    damping: Choice | None
    band: Choice
    served_band: Band  # calibrated at every standard horizon, for the grid
    scores: pd.DataFrame = field(repr=False)  # one row per model, band origin and horizon
    forecasts: pd.DataFrame = field(repr=False)  # refit origins, Prophet's cross-validation shape
    fitted: pd.DataFrame = field(repr=False)  # the same, before damping

    @property
    def interval_width(self) -> float:
        return DEFAULT_LEVEL / 100

    @property
    def evaluated(self) -> list[pd.Timestamp]:
        """The scored refit origins inside the evaluation span (fitted or not)."""
        times, scored = self.plan.refit_times(self.market.t)
        start = self.plan.evaluation_start(self.market.t)
        return [pd.Timestamp(int(t), unit="s") for t in times[:scored] if t >= start]

    @property
    def refitted(self) -> list[pd.Timestamp]:
        """The evaluated refit origins Prophet was actually fitted at."""
        fitted = set(self.refits.times.tolist())
        return [at for at in self.evaluated if int(at.timestamp()) in fitted]

    def summary(self) -> dict:
        evaluation = self.scores[self.scores["split"] == "evaluation"]
        interval_hours = self.market.interval / HOUR
        out: dict = {
            "origins": int(evaluation["origin"].nunique()),
            "origin_step_hours": max(self.plan.band_step / pd.Timedelta(hours=1), interval_hours),
            "refits": len(self.refitted),
            "interval_width": self.interval_width,
            "levels": list(LEVELS),
            # Every choice was made on outcomes known before the first evaluation origin.
            "boundary": self.plan.boundary(self.market.t),
        }
        for label, horizon in HORIZONS.items():
            rows = evaluation[evaluation["horizon"] == label]
            if rows.empty:
                continue
            out[label] = {model: metrics(group) for model, group in rows.groupby("model")}
            for model, group in rows.groupby("model"):
                if _banded(group):
                    out[label][model]["coverage_se_by_level"] = coverage_se(group, horizon)
                    out[label][model]["coverage_by_width_quintile"] = coverage_by_width(
                        group, horizon
                    )
            out[label]["prophet_vs_naive"] = versus(rows, SERVED, "naive", horizon)
        return out

    def paths(self, every: pd.Timedelta = pd.Timedelta(hours=24)) -> list[dict]:
        """Past served forecasts (80% band) against actual prices from each evaluated refit
        origin, one point per `every` up to the horizon, for charts."""
        times = np.array([int(at.timestamp()) for at in self.evaluated], dtype=np.int64)
        if not len(times):
            return []
        pos = self.market.position(times)
        leads = np.arange(
            0, self.plan.horizon / pd.Timedelta(hours=1) + 1, every / pd.Timedelta(hours=1)
        )
        centre = self.refits.centre(
            self.config, self.config.damping_hours, self.anchor[pos], times, leads
        )
        offsets = self.served_band.offsets(pos, leads)
        low, high = tails(DEFAULT_LEVEL)
        seconds = times[:, None] + (leads * HOUR).astype(np.int64)[None, :]
        actual = _actual_at(self.market, seconds)
        return [
            {
                "origin": iso_utc(int(times[i])),
                "ds": seconds[i].tolist(),
                "yhat": np.round(centre[i], 2).tolist(),
                "yhat_lower": np.round(centre[i] * np.exp(offsets[low][i]), 2).tolist(),
                "yhat_upper": np.round(centre[i] * np.exp(offsets[high][i]), 2).tolist(),
                "actual": [None if math.isnan(v) else round(float(v), 2) for v in actual[i]],
            }
            for i in range(len(times))
        ]


def metrics(rows: pd.DataFrame) -> dict:
    """Point errors, and for a banded model its coverage, interval and quantile scores."""
    actual, yhat = rows["actual"].to_numpy(), rows["yhat"].to_numpy()
    error = yhat - actual
    out = {
        "n": len(rows),
        "mape": float(np.mean(np.abs(error / actual))),
        "mae": float(np.mean(np.abs(error))),
        "rmse": float(np.sqrt(np.mean(error**2))),
    }
    if rows["lower_80"].isna().any():
        return out
    bounds = {level: _bounds(rows, level) for level in LEVELS}
    coverage = {str(level): float(inside(actual, *bounds[level]).mean()) for level in LEVELS}
    scores = {
        str(level): float(interval_score(actual, *bounds[level], level).mean()) for level in LEVELS
    }
    return {
        **out,
        "coverage": coverage[str(DEFAULT_LEVEL)],
        "coverage_by_level": coverage,
        "interval_score": scores[str(DEFAULT_LEVEL)],
        "interval_score_by_level": scores,
        "quantile_score": float(quantile_score(actual, yhat, bounds).mean()),
    }


def _bounds(rows: pd.DataFrame, level: int) -> tuple[np.ndarray, np.ndarray]:
    return rows[f"lower_{level}"].to_numpy(), rows[f"upper_{level}"].to_numpy()


def versus(rows: pd.DataFrame, model: str, baseline: str, horizon: pd.Timedelta) -> dict:
    """`model` minus `baseline` per origin, averaged, with Newey-West standard errors over the
    origins a horizon overlaps: absolute percentage error, and for bands the 80% interval score
    and the quantile score."""
    mine = rows[rows["model"] == model].set_index("origin").sort_index()
    theirs = rows[rows["model"] == baseline].set_index("origin").reindex(mine.index)
    lags = overlap_lags(horizon / pd.Timedelta(hours=1), _spacing_hours(mine.index.to_series()))
    pairs = {"mape": (_ape(mine), _ape(theirs))}
    if _banded(mine) and _banded(theirs):
        pairs["interval_score"] = (_interval(mine), _interval(theirs))
        pairs["quantile_score"] = (_quantile(mine), _quantile(theirs))
    out: dict = {"n": len(mine), "lags": lags}
    for name, (a, b) in pairs.items():
        result = paired(a, b, lags)
        out[f"{name}_diff"], out[f"{name}_se"] = result.diff, result.se
    return out


def coverage_se(rows: pd.DataFrame, horizon: pd.Timedelta) -> dict[str, float]:
    """The Newey-West standard error of each level's coverage over one model's origins (their
    outcomes overlap when the horizon is longer than their spacing)."""
    rows = rows.sort_values("origin")
    lags = overlap_lags(horizon / pd.Timedelta(hours=1), _spacing_hours(rows["origin"]))
    actual = rows["actual"].to_numpy()
    out = {}
    for level in LEVELS:
        held = inside(actual, *_bounds(rows, level)).astype(np.float64)
        out[str(level)] = paired(held, np.zeros(len(held)), lags).se
    return out


WIDTH_BINS = 5  # coverage is reported within each fifth of band width


def coverage_by_width(rows: pd.DataFrame, horizon: pd.Timedelta) -> dict[str, list[dict]]:
    """Per level, each fifth of the origins by band width (narrowest first): the share of
    outcomes the band held, with its Newey-West standard error, and the widths it spans
    (log upper minus log lower)."""
    rows = rows.sort_values("origin")
    lags = overlap_lags(horizon / pd.Timedelta(hours=1), _spacing_hours(rows["origin"]))
    actual = rows["actual"].to_numpy()
    out = {}
    for level in LEVELS:
        lower, upper = _bounds(rows, level)
        width = np.log(upper / lower)
        held = inside(actual, lower, upper).astype(np.float64)
        which = np.minimum((_ranks(width) * WIDTH_BINS).astype(int), WIDTH_BINS - 1)
        cells = []
        for fifth in range(WIDTH_BINS):
            member = (which == fifth).astype(np.float64)
            share = float(member.mean())
            coverage = float(held[member == 1].mean())
            # The ratio estimator's influence: its mean is 0, its HAC error the coverage's.
            influence = member * (held - coverage) / share
            cells.append(
                {
                    "coverage": coverage,
                    "se": paired(influence, np.zeros(len(held)), lags).se,
                    "n": int(member.sum()),
                    "width_from": float(width[member == 1].min()),
                    "width_to": float(width[member == 1].max()),
                }
            )
        out[str(level)] = cells
    return out


def _ranks(values: np.ndarray) -> np.ndarray:
    """Each value's rank as a share in [0, 1) (ties broken by order)."""
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(len(values)) / max(len(values), 1)
    return ranks


def _spacing_hours(origins: pd.Series) -> float:
    times = np.unique(origins.to_numpy())
    return float(np.median(np.diff(times))) / HOUR if len(times) > 1 else 1.0


def _banded(rows: pd.DataFrame) -> bool:
    return not rows["lower_80"].isna().any()


def _ape(rows: pd.DataFrame) -> np.ndarray:
    return np.abs(rows["yhat"].to_numpy() / rows["actual"].to_numpy() - 1)


def _interval(rows: pd.DataFrame) -> np.ndarray:
    bounds = _bounds(rows, DEFAULT_LEVEL)
    return interval_score(rows["actual"].to_numpy(), *bounds, DEFAULT_LEVEL)


def _quantile(rows: pd.DataFrame) -> np.ndarray:
    bounds = {level: _bounds(rows, level) for level in LEVELS}
    return quantile_score(rows["actual"].to_numpy(), rows["yhat"].to_numpy(), bounds)


def run_backtest(
    history: pd.DataFrame,
    interval: pd.Timedelta,
    config: ModelConfig,
    plan: Plan,
    *,
    jobs: int | None = None,
    cache: FitCache | None = None,
    band_candidates: Sequence[BandSpec] | None = None,
) -> Backtest:
    """Backtest `config` (as "prophet") against the naive and drift baselines on `history`
    (`ds`, `y`, and `actual` when the model learns another price than the close)."""
    step = _seconds(interval)
    seconds = _epoch(history["ds"])
    actual = history["actual" if "actual" in history.columns else "y"].to_numpy(dtype=np.float64)
    market = Market(seconds, np.log(actual), step)
    anchor = history["y"].to_numpy(dtype=np.float64)
    times, scored = plan.refit_times(seconds)
    if scored < 2:
        raise ValueError(
            f"only {scored} backtest origins fit in the data ({history['ds'].iloc[0]} to "
            f"{history['ds'].iloc[-1]}); at least 2 are needed: fetch more history or use "
            "--no-backtest"
        )
    undamped = config.with_changes(damping_hours=None) if config.damping_grid else config
    validation_start, validation_end, evaluation_start = (
        plan.validation_start(seconds),
        plan.validation_end(seconds),
        plan.evaluation_start(seconds),
    )
    leads = np.arange(0, _seconds(plan.horizon) + 1, step) / HOUR
    cache = cache or FitCache(None)
    damping, tau = None, config.damping_hours
    refits = Refits(np.empty(0, dtype=np.int64), np.empty((0, 1)), step)
    if config.damping_grid:
        chosen_on = times[:scored][
            (times[:scored] >= validation_start) & (times[:scored] <= validation_end)
        ]
        if len(chosen_on):
            refits = fit_refits(history, chosen_on, undamped, plan, step, jobs=jobs, cache=cache)
            fitted = refit_frame(market, anchor=anchor, refits=refits, config=config, leads=leads)
            validation = [pd.Timestamp(int(t), unit="s") for t in chosen_on]
            damping = choose_damping(fitted, config.damping_grid, validation, config.target)
            tau = damping.tau
        else:
            # Too short a history for a year of training before the validation outcomes end:
            # serve what validation chose wherever it could choose, the last close.
            tau = 0.0
            log.warning(
                "backtest: no Prophet refit fits before the validation outcomes end; "
                "the point forecast is the last close (tau 0)"
            )
    if tau != 0:
        # The served path keeps some of Prophet's move: every refit matters (cached ones are
        # free). With tau = 0 it is the last close wherever Prophet goes, so the evaluation
        # and hindcast refits would change nothing and are not fitted.
        refits = fit_refits(history, times, undamped, plan, step, jobs=jobs, cache=cache)
    else:
        log.info(
            "backtest: tau 0 chosen: the point forecast is the last close, so Prophet is not "
            "refitted on the evaluation origins"
        )
    fitted = refit_frame(market, anchor=anchor, refits=refits, config=config, leads=leads)
    served_config = config.with_changes(damping_hours=tau)
    forecasts = damp(fitted, tau, config.target)

    dense = DenseOrigins.build(market, anchor, refits, served_config, plan)
    specs = list(band_candidates) if band_candidates is not None else bandlib.candidates()
    band = choose_band(dense, specs, validation_start, validation_end)
    chosen = band.spec
    served_band = Band(chosen, market, dense.pos, dense.errors(market, BAND_HOURS))
    scores = dense.scores(served_band, validation_start, evaluation_start)
    forecasts = _band_refits(forecasts, market, served_band, leads)
    return Backtest(
        plan=plan,
        config=served_config,
        market=market,
        anchor=anchor,
        refits=refits,
        dense=dense,
        damping=damping,
        band=band,
        served_band=served_band,
        scores=scores,
        forecasts=forecasts,
        fitted=fitted,
    )


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
    actual = _actual_at(market, seconds)
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


def _actual_at(market: Market, seconds: np.ndarray) -> np.ndarray:
    at = np.minimum(np.searchsorted(market.t, seconds), len(market.t) - 1)
    return np.where(market.t[at] == seconds, np.exp(market.log_price[at]), np.nan)


def drift_centre(
    market: Market, anchor: np.ndarray, pos: np.ndarray, leads: np.ndarray, days: int | None
) -> np.ndarray:
    """A random walk with drift: the window's average log change per hour, carried forward."""
    reach = days * 24 * HOUR if days is not None else market.t[-1] - market.t[0]
    start = np.maximum(market.position(market.t[pos] - reach) + 1, 0)
    start = np.minimum(start, pos)
    hours = np.maximum((market.t[pos] - market.t[start]) / HOUR, 1.0)
    slope = np.log(anchor[pos] / anchor[start]) / hours
    return anchor[pos][:, None] * np.exp(slope[:, None] * np.asarray(leads)[None, :])


def _band_refits(
    forecasts: pd.DataFrame, market: Market, band: Band, leads: np.ndarray
) -> pd.DataFrame:
    """The served model's rows with its 80% band, as calibrated at each refit origin."""
    low, high = tails(DEFAULT_LEVEL)
    times = _epoch(pd.Series(forecasts.loc[forecasts["model"] == SERVED, "cutoff"].unique()))
    offsets = band.offsets(market.position(times), leads)
    served = forecasts["model"] == SERVED
    out = forecasts.copy()
    yhat = out.loc[served, "yhat"].to_numpy()
    out.loc[served, "yhat_lower"] = yhat * np.exp(offsets[low].ravel())
    out.loc[served, "yhat_upper"] = yhat * np.exp(offsets[high].ravel())
    return out


@dataclass
class DenseOrigins:
    """The band origins: each one's bar, point forecasts and what became of them."""

    market: Market
    anchor: np.ndarray
    refits: Refits
    config: ModelConfig
    plan: Plan
    pos: np.ndarray

    @classmethod
    def build(
        cls, market: Market, anchor: np.ndarray, refits: Refits, config: ModelConfig, plan: Plan
    ) -> DenseOrigins:
        pos = market.position(plan.band_times(market.t))
        return cls(market, anchor, refits, config, plan, pos)

    @property
    def times(self) -> np.ndarray:
        return self.market.t[self.pos]

    def hours(self, wanted: Sequence[int]) -> list[int]:
        """The wanted horizons this data's bars can reach within the plan's horizon."""
        interval_hours = self.market.interval / HOUR
        limit = self.plan.horizon / pd.Timedelta(hours=1)
        return [h for h in wanted if h <= limit and (h / interval_hours).is_integer()]

    def centre(self, hours: Sequence[int]) -> np.ndarray:
        tau = self.config.damping_hours
        anchor = self.anchor[self.pos]
        return self.refits.centre(self.config, tau, anchor, self.times, np.asarray(hours))

    def errors(self, market: Market, wanted: Sequence[int]) -> dict[int, np.ndarray]:
        """The log error of the served point forecast at each horizon (NaN while unknown)."""
        hours = self.hours(wanted)
        centre = self.centre(hours)
        later = self.times[:, None] + np.asarray(hours, dtype=np.int64)[None, :] * HOUR
        actual = _actual_at(market, later)
        error = np.log(actual / centre)
        return {h: error[:, j] for j, h in enumerate(hours)}

    def scored(self) -> np.ndarray:
        return self.times <= self.market.t[-1] - _seconds(self.plan.horizon)

    def scores(self, band: Band, validation_start: int, evaluation_start: int) -> pd.DataFrame:
        """Every model's forecasts and bands at each scored band origin and horizon."""
        labels = {label: int(h / pd.Timedelta(hours=1)) for label, h in HORIZONS.items()}
        labels = {label: h for label, h in labels.items() if h in self.hours(list(labels.values()))}
        hours = np.asarray(list(labels.values()))
        keep = self.scored() & (self.times >= validation_start)
        pos, times = self.pos[keep], self.times[keep]
        later = times[:, None] + hours[None, :] * HOUR
        actual = _actual_at(self.market, later)
        anchor = self.anchor[pos]
        centres = {
            SERVED: self.centre(list(hours))[keep],
            "naive": np.repeat(anchor[:, None], len(hours), axis=1),
            "drift": drift_centre(self.market, self.anchor, pos, hours, self.config.window_days),
        }
        offsets = {
            SERVED: band.offsets(pos, hours),
            "naive": naive_band(self.market, pos, list(hours)).offsets(
                pos, hours, calibrated_at=times
            ),
        }
        split = np.where(times >= evaluation_start, "evaluation", "validation")
        frames = []
        for model, centre in centres.items():
            for j, label in enumerate(labels):
                frame = pd.DataFrame(
                    {
                        "model": model,
                        "horizon": label,
                        "origin": times,
                        "split": split,
                        "actual": actual[:, j],
                        "yhat": centre[:, j],
                    }
                )
                for level in LEVELS:
                    low, high = tails(level)
                    lower = upper = np.full(len(times), np.nan)
                    if model in offsets:
                        lower = centre[:, j] * np.exp(offsets[model][low][:, j])
                        upper = centre[:, j] * np.exp(offsets[model][high][:, j])
                    frame[f"lower_{level}"], frame[f"upper_{level}"] = lower, upper
                frames.append(frame[np.isfinite(frame["actual"])])
        return pd.concat(frames, ignore_index=True)


def unbacktested_band(market: Market, anchor: np.ndarray, spec: BandSpec) -> Band:
    """`spec` calibrated on the naive forecast's errors at the default band origins: the band
    of a model trained without a backtest, whose own errors are unknown."""
    nothing = Refits(np.empty(0, dtype=np.int64), np.empty((0, 1)), market.interval)
    dense = DenseOrigins.build(market, anchor, nothing, ModelConfig(name="naive"), Plan())
    return Band(spec, market, dense.pos, dense.errors(market, BAND_HOURS))


def naive_band(market: Market, pos: np.ndarray, hours: list[int]) -> Band:
    """The naive forecast's band: quantiles of the year's returns, with their drift."""
    nothing = {h: np.full(len(pos), np.nan) for h in hours}
    return Band(NAIVE_BAND, market, pos, nothing)


POOL_DAYS = (365, 730, None)  # how far back a scaled band's calibration may reach (None: all)
# The empirical band's weight in a scaled band's quantiles, chosen per horizon: the scaled band
# alone, the equal-weight average of the two (Vincentization), the empirical band alone.
MIX_WEIGHTS = (0.0, 0.5, 1.0)


def choose_band(
    dense: DenseOrigins, specs: Sequence[BandSpec], validation_start: int, validation_end: int
) -> Choice:
    """The band chosen on the validation band origins, in three steps:

    1. the drift-free candidate with the lowest mean interval score (80%) relative to the
       naive band's, over the horizons;
    2. for a scaled band, how far back its calibration reaches, per horizon, by the quantile
       score (every served level, not the 80% band alone: a long horizon's quantiles rest on
       few independent outcomes, so it may need a longer pool than a short one);
    3. whether keeping drift pays, by the score of step 1;
    4. for a scaled band, per horizon, the scaled band alone, the empirical band, or the
       equal-weight average of their quantiles, by the 80% interval score at that horizon.
    """
    rows = dense.scored() & (dense.times >= validation_start) & (dense.times <= validation_end)
    if rows.sum() < 2:
        raise ValueError(
            "no band origin lies between a year after the first bar and the evaluation span: "
            "fetch more history, or use --no-backtest"
        )
    validation = _Validation.of(dense, rows)
    details: dict = {}
    with progress(len(specs) + 6, "backtest: band candidates", "band", position=1) as bar:
        entries = []
        for spec in specs:
            entries.append(validation.score(spec))
            bar.update(1)
        best = BandSpec.from_dict(min(entries, key=lambda entry: entry["score"]))
        if best.kind == "scaled":
            best, details["pools"] = validation.pools(best)
        bar.update(len(POOL_DAYS))
        refined = []
        for drift in (False, True):
            spec = replace(best, drift=drift)
            entry = next((e for e in entries if BandSpec.from_dict(e) == spec), None)
            if entry is None:
                entry = validation.score(spec)
                entries.append(entry)
            refined.append(entry)
            bar.update(1)
        chosen = min(refined, key=lambda entry: entry["score"])
        if chosen["kind"] == "scaled":
            mixed, details["mix"] = validation.mixes(BandSpec.from_dict(chosen))
            if any(weight for _, weight in mixed.horizon_mix):
                chosen = validation.score(mixed)
                entries.append(chosen)
        bar.update(1)
    log.info(
        "backtest: band chosen: %s (%.4f of naive's interval score)",
        chosen["name"],
        chosen["score"],
    )
    value = {key: value for key, value in chosen.items() if key in BandSpec.__dataclass_fields__}
    return Choice(value, int(rows.sum()), entries, details)


@dataclass
class _Validation:
    """What band candidates are scored on: the validation origins' outcomes at each scored
    horizon, the served point forecast, and the naive band's interval scores."""

    dense: DenseOrigins
    hours: list[int]
    errors: dict[int, np.ndarray]
    pos: np.ndarray
    actual: np.ndarray
    centre: np.ndarray
    baseline: np.ndarray
    calm: np.ndarray  # each origin's fifth by the volatility of the day before it (0: calmest)

    @classmethod
    def of(cls, dense: DenseOrigins, rows: np.ndarray) -> _Validation:
        hours = dense.hours([int(h / pd.Timedelta(hours=1)) for h in HORIZONS.values()])
        pos, times = dense.pos[rows], dense.times[rows]
        later = times[:, None] + np.asarray(hours, dtype=np.int64)[None, :] * HOUR
        actual = _actual_at(dense.market, later)
        naive = naive_band(dense.market, pos, hours).offsets(
            pos, np.asarray(hours), calibrated_at=times
        )
        baseline = _interval_scores(actual, dense.anchor[pos][:, None], naive)
        errors = dense.errors(dense.market, hours)
        day = dense.market.variance(pos, 1, None)
        calm = np.minimum((_ranks(day) * WIDTH_BINS).astype(int), WIDTH_BINS - 1)
        centre = dense.centre(hours)[rows]
        return cls(dense, hours, errors, pos, actual, centre, baseline, calm)

    def offsets(self, spec: BandSpec) -> dict[float, np.ndarray]:
        band = Band(spec, self.dense.market, self.dense.pos, self.errors)
        return band.offsets(self.pos, np.asarray(self.hours))

    def score(self, spec: BandSpec) -> dict:
        """The candidate's mean 80% interval score and coverage at each horizon, and its
        `score`: the interval score relative to the naive band's within each fifth of the
        origins by the volatility of the day before them, averaged over the fifths and the
        horizons. A plain mean is dominated by busy days, whose scores are large; this one
        weighs a band too narrow on calm days as much as one too wide on busy days."""
        offsets = self.offsets(spec)
        mine = _interval_scores(self.actual, self.centre, offsets)
        low, high = tails(DEFAULT_LEVEL)
        band = (self.centre * np.exp(offsets[low]), self.centre * np.exp(offsets[high]))
        covered = inside(self.actual, *band)
        entry: dict = {**spec.to_dict()}
        ratios = self.calm_ratios(mine)
        for j, h in enumerate(self.hours):
            label = _label(h)
            ok = np.isfinite(mine[:, j]) & np.isfinite(self.baseline[:, j])
            entry[f"score_{label}"] = float(mine[ok, j].mean())
            entry[f"calm_score_{label}"] = ratios[j]
            entry[f"coverage_{label}"] = float(covered[ok, j].mean())
        entry["score"] = float(np.mean(ratios))
        return entry

    def calm_ratios(self, scores: np.ndarray) -> list[float]:
        """Per horizon: the mean over the volatility fifths of the interval score relative to
        the naive band's there."""
        out = []
        for j in range(len(self.hours)):
            ok = np.isfinite(scores[:, j]) & np.isfinite(self.baseline[:, j])
            fifths = [
                scores[ok & (self.calm == q), j].mean()
                / self.baseline[ok & (self.calm == q), j].mean()
                for q in range(WIDTH_BINS)
                if (ok & (self.calm == q)).any()
            ]
            out.append(float(np.mean(fifths)))
        return out

    def quantile_scores(self, spec: BandSpec) -> list[float]:
        """The candidate's mean quantile score at each horizon."""
        offsets = self.offsets(spec)
        out = []
        for j in range(len(self.hours)):
            ok = np.isfinite(self.actual[:, j])
            centre = self.centre[ok, j]
            bounds = {
                level: (
                    centre * np.exp(offsets[tails(level)[0]][ok, j]),
                    centre * np.exp(offsets[tails(level)[1]][ok, j]),
                )
                for level in LEVELS
            }
            out.append(float(quantile_score(self.actual[ok, j], centre, bounds).mean()))
        return out

    def pools(self, spec: BandSpec) -> tuple[BandSpec, dict]:
        """`spec` with the calibration pool of each horizon chosen by quantile score, and the
        scores it was chosen by."""
        scores = {days: self.quantile_scores(replace(spec, pool_days=days)) for days in POOL_DAYS}
        pools = tuple(
            (h, min(POOL_DAYS, key=functools.partial(_score_at, scores, j)))
            for j, h in enumerate(self.hours)
        )
        table = {
            "score": "mean quantile score over every served level, per horizon",
            "candidates": [
                {"days": days, **{_label(h): scores[days][j] for j, h in enumerate(self.hours)}}
                for days in POOL_DAYS
            ],
            "chosen": {_label(h): days for h, days in pools},
        }
        return replace(spec, horizon_pools=pools), table

    def mixes(self, spec: BandSpec) -> tuple[BandSpec, dict]:
        """`spec` with its quantiles averaged, per horizon, with the empirical band's by the
        weight (MIX_WEIGHTS) whose 80% interval score is lowest there, and the scores."""
        scaled = self.offsets(spec)
        empirical = self.offsets(BandSpec("empirical", drift=spec.drift))
        scores = {}
        for weight in MIX_WEIGHTS:
            blend = {tau: scaled[tau] * (1 - weight) + empirical[tau] * weight for tau in scaled}
            scores[weight] = self.calm_ratios(_interval_scores(self.actual, self.centre, blend))
        mix = tuple(
            (h, min(MIX_WEIGHTS, key=functools.partial(_score_at, scores, j)))
            for j, h in enumerate(self.hours)
        )
        table = {
            "score": "80% interval score relative to naive's, mean over the fifths of the day "
            "before's volatility, per horizon; weight of the empirical band",
            "candidates": [
                {"weight": w, **{_label(h): scores[w][j] for j, h in enumerate(self.hours)}}
                for w in MIX_WEIGHTS
            ],
            "chosen": {_label(h): weight for h, weight in mix},
        }
        return replace(spec, horizon_mix=mix), table


def _score_at(scores: dict[Any, list[float]], horizon: int, key: Any) -> float:
    return scores[key][horizon]


def _label(hours: int) -> str:
    for label, horizon in HORIZONS.items():
        if horizon == pd.Timedelta(hours=hours):
            return label
    return f"{hours}h"


def _interval_scores(
    actual: np.ndarray, centre: np.ndarray, offsets: dict[float, np.ndarray]
) -> np.ndarray:
    low, high = tails(DEFAULT_LEVEL)
    return interval_score(
        actual, centre * np.exp(offsets[low]), centre * np.exp(offsets[high]), DEFAULT_LEVEL
    )


def choose_damping(
    forecasts: pd.DataFrame,
    grid: tuple[float | None, ...],
    validation: list[pd.Timestamp],
    target: str,
) -> Choice:
    """The tau whose served forecasts have the lowest MAPE, relative to the naive baseline's and
    averaged over the horizons of a day and more, on the validation refits (ties go to the
    weaker damping)."""
    older = forecasts[forecasts["cutoff"].isin(validation) & forecasts["y"].notna()]
    naive = _mape_at_horizons(older[older["model"] == "naive"])
    scores: list[dict[str, Any]] = []
    for tau in grid:
        mape = _mape_at_horizons(damp(older[older["model"] == SERVED], tau, target))
        ratio = float(np.mean([mape[label] / naive[label] for label in mape]))
        scores.append({"tau": tau, **{f"mape_{k}": v for k, v in mape.items()}, "ratio": ratio})
    best = min(scores, key=operator.itemgetter("ratio"))
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
    out = {}
    for label, horizon in HORIZONS.items():
        if horizon < pd.Timedelta(days=1):
            continue  # tau shapes the path over days; an hour ahead every tau is the last close
        at = lead == horizon
        if at.any():
            out[label] = float((rows["yhat"] / rows["y"] - 1).abs()[at].mean())
    return out
