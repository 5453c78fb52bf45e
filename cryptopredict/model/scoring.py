"""Every model's forecasts and bands at the band origins, their metrics, and the backtest summary
(`summarize`, of the *evaluation* origins); the point forecast at an origin is the latest refit's
path re-anchored there.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import msgspec
import numpy as np
import pandas as pd

from cryptopredict.artifact.schema import (
    DEFAULT_LEVEL,
    HORIZON_FIELDS,
    LEVELS,
    EvaluationScores,
    ForecastScores,
    ModelConfig,
    NaiveComparison,
    NaiveForecast,
    ScoresAtHorizon,
    SpanBoundary,
    WidthFifthCoverage,
)
from cryptopredict.model.band_spec import NAIVE_BAND
from cryptopredict.model.bands import Band, bounds
from cryptopredict.model.market import TAUS, Market
from cryptopredict.model.plan import HORIZON_HOURS, HORIZONS, HOUR, SERVED, Plan, seconds_of
from cryptopredict.model.refits import Refits, drift_centre, outcome
from cryptopredict.standard_error import (
    inside,
    interval_score,
    mean_se,
    overlap_lags,
    quantile_score,
    relative,
    tails,
)

NAIVE = "naive"
WIDTH_BINS = 5  # coverage is reported within each fifth of band width


def summarize(
    scores: pd.DataFrame, *, origin_step_hours: float, refits: int, boundary: SpanBoundary
) -> EvaluationScores:
    """The evaluation origins' metrics per horizon and model, and the served against naive."""
    evaluation = scores[scores["split"] == "evaluation"]
    horizons: dict[str, ScoresAtHorizon] = {}
    for label, horizon in HORIZONS.items():
        rows = evaluation[evaluation["horizon"] == label]
        if rows.empty:
            continue
        models = {str(model): metrics(group, horizon) for model, group in rows.groupby("model")}
        horizons[label] = ScoresAtHorizon(
            **models, prophet_vs_naive=versus(rows, SERVED, NAIVE, horizon)
        )
    return EvaluationScores(
        origins=int(evaluation["origin"].nunique()),
        origin_step_hours=origin_step_hours,
        refits=refits,
        interval_width=DEFAULT_LEVEL / 100,
        levels=LEVELS,
        boundary=boundary,
        **{HORIZON_FIELDS[label]: scores for label, scores in horizons.items()},
    )


def metrics(rows: pd.DataFrame, horizon: pd.Timedelta) -> ForecastScores:
    actual, yhat = rows["actual"].to_numpy(), rows["yhat"].to_numpy()
    error = yhat - actual
    point = ForecastScores(
        n=len(rows),
        mape=float(np.mean(np.abs(error / actual))),
        mae=float(np.mean(np.abs(error))),
        rmse=float(np.sqrt(np.mean(error**2))),
    )
    if not _banded(rows):
        return point
    bounds = {level: _bounds(rows, level) for level in LEVELS}
    held = {str(level): inside(actual, *bounds[level]) for level in LEVELS}
    coverage = {level: float(hit.mean()) for level, hit in held.items()}
    lags = overlap_lags(horizon / pd.Timedelta(hours=1), spacing_hours(rows["origin"]))
    scores = {
        str(level): float(interval_score(actual, *bounds[level], level).mean()) for level in LEVELS
    }
    return msgspec.structs.replace(
        point,
        coverage=coverage[str(DEFAULT_LEVEL)],
        coverage_by_level=coverage,
        interval_score=scores[str(DEFAULT_LEVEL)],
        interval_score_by_level=scores,
        quantile_score=float(quantile_score(actual, yhat, bounds).mean()),
        coverage_se_by_level={
            level: mean_se(hit.astype(np.float64), lags).se for level, hit in held.items()
        },
        # Fifths need five origins: fewer where gaps leave origins out.
        coverage_by_width_quintile=(
            {str(level): _width_fifths(actual, *bounds[level], lags) for level in LEVELS}
            if len(rows) >= WIDTH_BINS
            else None
        ),
    )


def _bounds(rows: pd.DataFrame, level: int) -> tuple[np.ndarray, np.ndarray]:
    return rows[f"lower_{level}"].to_numpy(), rows[f"upper_{level}"].to_numpy()


def versus(rows: pd.DataFrame, model: str, baseline: str, horizon: pd.Timedelta) -> NaiveComparison:
    """`model` minus `baseline` per origin, averaged, with its standard error: percentage error,
    and for bands the 80% interval score (relative too, and the verdict) and quantile score."""
    mine = rows[rows["model"] == model].set_index("origin").sort_index()
    theirs = rows[rows["model"] == baseline].set_index("origin").reindex(mine.index)
    lags = overlap_lags(horizon / pd.Timedelta(hours=1), spacing_hours(mine.index.to_series()))
    banded = _banded(mine) and _banded(theirs)
    each = [_per_origin(rows, banded=banded) for rows in (mine, theirs)]
    pairs = {name: (each[0][name], each[1][name]) for name in each[0]}
    out: dict[str, float | str | None] = {}
    for name, (a, b) in pairs.items():
        result = mean_se(a - b, lags)  # same origins, in time order
        out[f"{name}_diff"], out[f"{name}_se"] = result.mean, result.se
    if "interval_score" in pairs:
        score = mean_se(np.subtract(*pairs["interval_score"]), lags)
        ratio = relative(*pairs["interval_score"], lags)
        out["df"] = score.df if math.isfinite(score.df) else None
        said = score.verdict()  # BandVerdict's words for standard_error's lower and higher
        out["verdict"] = {"lower": "better", "higher": "worse"}.get(said, said)
        out["interval_score_relative"] = ratio.mean
        out["interval_score_relative_se"] = ratio.se
        out["interval_score_relative_bound"] = ratio.upper() if ratio.enough else None
    return msgspec.convert({"n": len(mine), "lags": lags, **out}, NaiveComparison)


def _width_fifths(
    actual: np.ndarray, lower: np.ndarray, upper: np.ndarray, lags: int
) -> tuple[WidthFifthCoverage, ...]:
    """Each fifth of the origins (in time order) by band width: its coverage, SE and widths."""
    width = np.log(upper / lower)
    held = inside(actual, lower, upper).astype(np.float64)
    which = fifths(width)
    cells = []
    for fifth in range(WIDTH_BINS):
        member = (which == fifth).astype(np.float64)
        share = float(member.mean())
        coverage = float(held[member == 1].mean())
        # The ratio estimator's influence: its mean is 0, its standard error the coverage's.
        influence = member * (held - coverage) / share
        cells.append(
            WidthFifthCoverage(
                coverage=coverage,
                se=mean_se(influence, lags).se,
                n=int(member.sum()),
                width_from=float(width[member == 1].min()),
                width_to=float(width[member == 1].max()),
            )
        )
    return tuple(cells)


def fifths(values: np.ndarray) -> np.ndarray:
    """Each value's fifth by rank, 0 (smallest) to WIDTH_BINS - 1."""
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(len(values)) / max(len(values), 1)
    return np.minimum((ranks * WIDTH_BINS).astype(int), WIDTH_BINS - 1)


def spacing_hours(origins: pd.Series) -> float:
    """The median spacing in hours of epoch-second origins (1 for fewer than two)."""
    times = np.unique(origins.to_numpy(dtype=np.int64))
    return float(np.median(np.diff(times))) / HOUR if len(times) > 1 else 1.0


def _banded(rows: pd.DataFrame) -> bool:
    return not rows["lower_80"].isna().any()


def _per_origin(rows: pd.DataFrame, *, banded: bool) -> dict[str, np.ndarray]:
    """Per origin the absolute percentage error; `banded`, the 80% interval score and the
    quantile score too."""
    actual, yhat = rows["actual"].to_numpy(), rows["yhat"].to_numpy()
    out = {"mape": np.abs(yhat / actual - 1)}
    if banded:
        bounds = {level: _bounds(rows, level) for level in LEVELS}
        out["interval_score"] = interval_score(actual, *bounds[DEFAULT_LEVEL], DEFAULT_LEVEL)
        out["quantile_score"] = quantile_score(actual, yhat, bounds)
    return out


@dataclass
class DenseOrigins:
    market: Market
    anchor: np.ndarray
    refits: Refits
    config: ModelConfig
    plan: Plan
    pos: np.ndarray = field(init=False)  # the band origins' bars (`Plan.band_times`)

    def __post_init__(self) -> None:
        self.pos = self.market.position(self.plan.band_times(self.market.t))

    @property
    def times(self) -> np.ndarray:
        return self.market.t[self.pos]

    def hours(self, wanted: Sequence[int]) -> list[int]:
        """The `wanted` horizons the bars reach within the plan's horizon."""
        interval_hours = self.market.interval / HOUR
        limit = self.plan.horizon / pd.Timedelta(hours=1)
        return [h for h in wanted if h <= limit and (h / interval_hours).is_integer()]

    def centre(self, hours: Sequence[int]) -> np.ndarray:
        anchor = self.anchor[self.pos]
        return self.refits.centre(self.config, anchor, self.times, np.asarray(hours))

    def errors(self, wanted: Sequence[int]) -> dict[int, np.ndarray]:
        """The point forecast's log errors at the `wanted` horizons it reaches (NaN: unknown)."""
        hours = self.hours(wanted)
        centre = self.centre(hours)
        actual = outcome(self.market, self.times, np.asarray(hours))
        error = np.log(actual / centre)
        return {h: error[:, j] for j, h in enumerate(hours)}

    def scored(self) -> np.ndarray:
        return self.times <= self.market.t[-1] - seconds_of(self.plan.horizon)

    def scores(self, band: Band, validation_start: int, evaluation_start: int) -> pd.DataFrame:
        reached = self.hours(list(HORIZON_HOURS.values()))
        labels = {label: h for label, h in HORIZON_HOURS.items() if h in reached}
        hours = np.asarray(list(labels.values()))
        keep = self.scored() & (self.times >= validation_start)
        pos, times = self.pos[keep], self.times[keep]
        actual = outcome(self.market, times, hours)
        anchor = self.anchor[pos]
        centres = {
            SERVED: self.centre(list(hours))[keep],
            "naive": np.repeat(anchor[:, None], len(hours), axis=1),
            "drift": drift_centre(self.market, self.anchor, pos, hours, self.config.window_days),
        }
        offsets = {
            SERVED: band.offsets(pos, hours),
            NAIVE: naive_band(self.market, pos, list(hours)).offsets(
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
                    lower = upper = np.full(len(times), np.nan)
                    if model in offsets:
                        at_j = {tau: values[:, j] for tau, values in offsets[model].items()}
                        lower, upper = bounds(centre[:, j], at_j, level)
                    frame[f"lower_{level}"], frame[f"upper_{level}"] = lower, upper
                frames.append(frame[np.isfinite(frame["actual"])])
        return pd.concat(frames, ignore_index=True)


def naive_band(market: Market, pos: np.ndarray, hours: list[int]) -> Band:
    nothing = {h: np.full(len(pos), np.nan) for h in hours}
    return Band(NAIVE_BAND, market, pos, nothing)


def naive_forecast(market: Market, anchor: np.ndarray, plan: Plan) -> NaiveForecast:
    """The naive forecast at the last bar, made as the backtest's at an origin."""
    last = np.array([len(market.t) - 1])
    reach = seconds_of(plan.horizon) / HOUR
    hours = [h for h in HORIZON_HOURS.values() if h <= reach and (h * HOUR) % market.interval == 0]
    # NAIVE_BAND has drift: its offsets are the quantiles of the moves themselves.
    quantiles = [market.return_quantiles(h, last, market.t[last])[0][0] for h in hours]
    table = np.array(quantiles).reshape(len(hours), len(TAUS))
    bound = {tau: tuple(table[:, k].tolist()) for k, tau in enumerate(TAUS)}
    return NaiveForecast(
        price=float(anchor[-1]),
        hours=tuple(float(h) for h in hours),
        lower={str(level): bound[tails(level)[0]] for level in LEVELS},
        upper={str(level): bound[tails(level)[1]] for level in LEVELS},
    )
