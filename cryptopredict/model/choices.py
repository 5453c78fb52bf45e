"""The band chosen on a pair's validation origins (pairs the panel's band does not cover) by
interval score relative to naive's within fifths of the day before's volatility; or the panel's
band scored there for the record. A band is calibrated only on errors known at its origin.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
import numpy as np

from cryptopredict.artifact.schema import (
    DEFAULT_LEVEL,
    HORIZON_FIELDS,
    LEVELS,
    BandSearch,
    BandSpec,
    MixCandidate,
    MixSearch,
    PoolCandidate,
    PoolSearch,
    ScoredBandSpec,
)
from cryptopredict.model.band_spec import EMPIRICAL, named
from cryptopredict.model.bands import Band, bounds
from cryptopredict.model.plan import HORIZON_HOURS, horizon_label
from cryptopredict.model.refits import outcome
from cryptopredict.model.scoring import WIDTH_BINS, DenseOrigins, fifths, naive_band
from cryptopredict.standard_error import inside, interval_score, quantile_score

log = logging.getLogger(__name__)

POOL_DAYS = (365, 730, None)  # how far back a scaled band's calibration may reach (None: all)
# The empirical band's weight averaged into a scaled band's quantiles (Vincentization).
MIX_WEIGHTS = (0.0, 0.5, 1.0)


def choose_band(
    dense: DenseOrigins, specs: Sequence[BandSpec], validation_start: int, validation_end: int
) -> BandSearch:
    """The band chosen on the validation origins: the drift-free candidate of the lowest
    `_Validation.score`; for a scaled one its pool per horizon by quantile score; drift or not;
    for a scaled one its weight of the empirical band per horizon (`mixes`)."""
    rows = dense.scored() & (dense.times >= validation_start) & (dense.times <= validation_end)
    if rows.sum() < 2:
        raise ValueError(
            "no band origin lies between a year after the first bar and the evaluation span: "
            "fetch more history, or use --no-backtest"
        )
    validation = _Validation.of(dense, rows)
    pools: PoolSearch | None = None
    mix: MixSearch | None = None
    scored = {spec: validation.score(spec) for spec in specs}
    best = min(scored, key=lambda spec: scored[spec].score)
    if best.kind == "scaled":
        best, pools = validation.pools(best)
    refined = [named(best, drift=drift) for drift in (False, True)]
    for spec in refined:
        if spec not in scored:
            scored[spec] = validation.score(spec)
    chosen = min(refined, key=lambda spec: scored[spec].score)
    if chosen.kind == "scaled":
        mixed, mix = validation.mixes(chosen)
        if any(weight for _, weight in mixed.horizon_mix):
            chosen = mixed
            scored[chosen] = validation.score(chosen)
    log.info(
        "backtest: band chosen: %s (%.4f of naive's interval score)",
        chosen.name,
        scored[chosen].score,
    )
    return BandSearch(
        chosen=chosen,
        validation_origins=int(rows.sum()),
        candidates=tuple(scored.values()),
        pools=pools,
        mix=mix,
    )


def fixed_band(
    dense: DenseOrigins, band: Band, validation_start: int, validation_end: int
) -> BandSearch:
    """`band`, its spec set beforehand, scored on the validation origins for the record."""
    rows = dense.scored() & (dense.times >= validation_start) & (dense.times <= validation_end)
    if rows.sum() < 2:
        return BandSearch(chosen=band.spec, validation_origins=0, candidates=())
    entry = _Validation.of(dense, rows).score(band)
    return BandSearch(chosen=band.spec, validation_origins=int(rows.sum()), candidates=(entry,))


@dataclass
class _Validation:
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
        hours = dense.hours(list(HORIZON_HOURS.values()))
        pos, times = dense.pos[rows], dense.times[rows]
        actual = outcome(dense.market, times, np.asarray(hours))
        naive = naive_band(dense.market, pos, hours).offsets(
            pos, np.asarray(hours), calibrated_at=times
        )
        baseline = _interval_scores(actual, dense.anchor[pos][:, None], naive)
        errors = dense.errors(hours)
        calm = fifths(dense.market.variance(pos, 1, None))
        centre = dense.centre(hours)[rows]
        return cls(dense, hours, errors, pos, actual, centre, baseline, calm)

    def offsets(self, band: BandSpec | Band) -> dict[float, np.ndarray]:
        """A candidate's, or a band's built at these horizons among others."""
        if isinstance(band, BandSpec):
            band = Band(band, self.dense.market, self.dense.pos, self.errors)
        return band.at_hours(self.hours).offsets(self.pos, np.asarray(self.hours))

    def score(self, band: BandSpec | Band) -> ScoredBandSpec:
        """Per horizon the mean 80% interval score and coverage; `score`, the mean over horizons
        of `calm_ratios` (so calm days weigh as much as busy ones)."""
        offsets, spec = self.offsets(band), band if isinstance(band, BandSpec) else band.spec
        mine = _interval_scores(self.actual, self.centre, offsets)
        covered = inside(self.actual, *bounds(self.centre, offsets, DEFAULT_LEVEL))
        entry: dict[str, float | None] = {}
        ratios = self.calm_ratios(mine)
        for j, h in enumerate(self.hours):
            label = horizon_label(h)
            ok = np.isfinite(mine[:, j]) & np.isfinite(self.baseline[:, j])
            entry[f"score_{label}"] = _mean(mine[ok, j])
            entry[f"calm_score_{label}"] = ratios[j]
            entry[f"coverage_{label}"] = _mean(covered[ok, j])
        entry["score"] = _mean(np.array([ratio for ratio in ratios if ratio is not None]))
        if entry["score"] is None:
            raise ValueError(
                "no validation origin has an outcome at any horizon to score the band on: the "
                "history is too short for the backtest (train with --no-backtest)"
            )
        return msgspec.convert({**spec.to_builtins(), **entry}, ScoredBandSpec)

    def calm_ratios(self, scores: np.ndarray) -> list[float | None]:
        """Per horizon, the mean over volatility fifths of the score relative to naive's."""
        out = []
        for j in range(len(self.hours)):
            ok = np.isfinite(scores[:, j]) & np.isfinite(self.baseline[:, j])
            ratios = [
                scores[ok & (self.calm == q), j].mean()
                / self.baseline[ok & (self.calm == q), j].mean()
                for q in range(WIDTH_BINS)
                if (ok & (self.calm == q)).any()
            ]
            out.append(_mean(np.array(ratios)))
        return out

    def quantile_scores(self, spec: BandSpec) -> list[float]:
        offsets = self.offsets(spec)
        out = []
        for j in range(len(self.hours)):
            ok = np.isfinite(self.actual[:, j])
            centre = self.centre[ok, j]
            at_j = {tau: values[ok, j] for tau, values in offsets.items()}
            band = {level: bounds(centre, at_j, level) for level in LEVELS}
            out.append(float(quantile_score(self.actual[ok, j], centre, band).mean()))
        return out

    def pools(self, spec: BandSpec) -> tuple[BandSpec, PoolSearch]:
        """`spec` with each horizon's pool chosen by quantile score, and the scores."""
        scores = {days: self.quantile_scores(named(spec, pool_days=days)) for days in POOL_DAYS}
        pools = _lowest(scores, self.hours)
        table = PoolSearch(
            score="mean quantile score over every served level, per horizon",
            candidates=tuple(
                PoolCandidate(days=days, **self.per_horizon(scores[days])) for days in POOL_DAYS
            ),
            chosen={horizon_label(h): days for h, days in pools},
        )
        return named(spec, horizon_pools=pools), table

    def per_horizon(self, values: Sequence[float | None]) -> dict[str, float | None]:
        return {
            HORIZON_FIELDS[horizon_label(h)]: value
            for h, value in zip(self.hours, values, strict=True)
        }

    def mixes(self, spec: BandSpec) -> tuple[BandSpec, MixSearch]:
        """`spec` with each horizon's weight of the empirical band's quantiles chosen by
        `calm_ratios`, and the scores."""
        scaled = self.offsets(spec)
        empirical = self.offsets(named(EMPIRICAL, drift=spec.drift))
        scores = {}
        for weight in MIX_WEIGHTS:
            blend = {tau: scaled[tau] * (1 - weight) + empirical[tau] * weight for tau in scaled}
            scores[weight] = self.calm_ratios(_interval_scores(self.actual, self.centre, blend))
        mix = _lowest(scores, self.hours)
        table = MixSearch(
            score="80% interval score relative to naive's, mean over the fifths of the day "
            "before's volatility, per horizon; weight of the empirical band",
            candidates=tuple(
                MixCandidate(weight=w, **self.per_horizon(scores[w])) for w in MIX_WEIGHTS
            ),
            chosen={horizon_label(h): weight for h, weight in mix},
        )
        return named(spec, horizon_mix=mix), table


def _lowest(scores: Mapping[Any, Sequence[float | None]], hours: Sequence[int]) -> tuple[Any, ...]:
    """Per horizon, the first key of `scores` scoring lowest there (a missing score as infinite)."""
    per_horizon = (
        {key: math.inf if (score := row[j]) is None else score for key, row in scores.items()}
        for j in range(len(hours))
    )
    return tuple((h, min(at, key=at.__getitem__)) for h, at in zip(hours, per_horizon, strict=True))


def _interval_scores(
    actual: np.ndarray, centre: np.ndarray, offsets: dict[float, np.ndarray]
) -> np.ndarray:
    return interval_score(actual, *bounds(centre, offsets, DEFAULT_LEVEL), DEFAULT_LEVEL)


def _mean(values: np.ndarray) -> float | None:
    return float(values.mean()) if values.size else None
