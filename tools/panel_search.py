"""The panel's numerics, run on the training cluster by `tools/panel.py`: the damping's refits
and errors, each pair's band origins, the search's validation scores, the pool the pairs share
(calibrated at every week start and stored for training) and the outcomes on the evaluation
origins and the final test. Origins whose window to a horizon crosses a gap in the bars are left
out there and counted, never filled.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cryptopredict.artifact.schema import DEFAULT_LEVEL, LEVELS, BandSpec
from cryptopredict.model.backtest import BacktestSetup
from cryptopredict.model.bands import Band, Calibrated, pool_inputs, spreads, variance_ratio
from cryptopredict.model.calibration import Pool, Stored
from cryptopredict.model.forecasters import refit_at
from cryptopredict.model.market import HOUR, TAUS
from cryptopredict.model.panel_choice import FIELDS, PANEL_POOL
from cryptopredict.model.plan import HORIZONS, horizon_label, seconds_of
from cryptopredict.model.refits import Refits, actual_at, outcome
from cryptopredict.model.scoring import DenseOrigins, naive_band
from cryptopredict.standard_error import inside, interval_score, tails
from cryptopredict.utc import utc_datetime
from tools import damping

SCORED = [int(h / pd.Timedelta(hours=1)) for h in HORIZONS.values()]


@dataclass
class PairOrigins:
    """One pair's band origins as its backtest left them (its point forecast's errors at each
    horizon among `hours`), split into validation, evaluation and the final test."""

    name: str
    dense: DenseOrigins
    validation: np.ndarray  # per band origin: a validation origin with its horizon played out
    evaluation: np.ndarray  # ... an evaluation origin
    final: np.ndarray  # ... a final test origin

    @classmethod
    def of(cls, name: str, dense: DenseOrigins) -> PairOrigins:
        splits = dense.plan.splits(dense.times, dense.market.t)
        return cls(name, dense, *(dense.scored() & split for split in splits))

    def errors(self, hours: list[int]) -> dict[int, np.ndarray]:
        return self.dense.errors(hours)


def described(setup: BacktestSetup, tau: float | None) -> dict[str, object]:
    """What the panel says of a pair: its bars, its spans, the damping served."""
    t = setup.market.t
    return {
        "bars": len(t),
        "first": pd.Timestamp(int(t[0]), unit="s").isoformat() + "Z",
        "last": pd.Timestamp(int(t[-1]), unit="s").isoformat() + "Z",
        **setup.plan.boundary(t).to_builtins(),
        "first_final_test_origin": utc_datetime(setup.plan.final_start(t)),
        "damping_hours": tau,
        "validation_days": round((setup.validation_end - setup.validation_start) / 86_400, 1),
    }


def refit(setup: BacktestSetup, origin: int) -> np.ndarray:
    """Prophet refitted at `origin` (its path, model space), as training refits it."""
    return refit_at(setup.history, origin, setup.undamped, setup.plan, setup.market.interval)


def refits_of(setup: BacktestSetup, origins: np.ndarray, paths: list[np.ndarray]) -> Refits:
    interval = setup.market.interval
    if len(origins) == 0:
        return Refits.none(interval)
    return Refits(np.asarray(origins, dtype=np.int64), np.stack(paths), interval)


def damping_errors(
    setup: BacktestSetup, origins: np.ndarray, paths: list[np.ndarray]
) -> pd.DataFrame:
    """The damping candidates' errors at the pair's design origins (`damping.errors`)."""
    return damping.errors(setup, refits_of(setup, origins, paths))


def pair_origins(
    name: str,
    setup: BacktestSetup,
    tau: float | None,
    origins: np.ndarray,
    paths: list[np.ndarray],
) -> PairOrigins:
    """The pair's band origins with the served point forecast at the damping `tau` (Prophet's
    refits at `origins`: none at tau 0), split into validation and evaluation."""
    config = setup.config.with_changes(damping_hours=tau)
    refits = refits_of(setup, origins, paths)
    dense = DenseOrigins(setup.market, setup.anchor, refits, config, setup.plan)
    return PairOrigins.of(name, dense)


def pair_pool_inputs(
    pair: PairOrigins, spec: BandSpec, hours: list[int]
) -> Mapping[int, tuple[np.ndarray, ...]]:
    """What this pair adds to a shared pool at each of `hours` (`bands.pool_inputs`)."""
    dense = pair.dense
    spread_of = functools.partial(spreads, dense.market, spec)
    return pool_inputs(spread_of, dense.market, dense.pos, pair.errors(hours))


def shared_pools(
    inputs: list[Mapping[int, tuple[np.ndarray, ...]]], spec: BandSpec
) -> dict[int, Pool]:
    """The pool the pairs share at each horizon: every pair's standardized errors together,
    binned and floored by their spread relative to the year's (scale-free across pairs)."""
    out = {}
    for h in inputs[0]:
        known, values, relative = (
            np.concatenate([each[h][k] for each in inputs]) for k in (0, 1, 3)
        )
        out[h] = Pool(
            known, values, relative, spec.pool_for(h), bins=spec.width_bins, floor=spec.floor
        )
    return out


def validation_scores(
    pair: PairOrigins, spec: BandSpec, shared: Mapping[int, Calibrated] | None
) -> pd.DataFrame:
    """The pair's validation origins as the search scores them: `outcomes` with `spec`'s band
    calibrated at the scored horizons."""
    rows, _ = outcomes(pair, spec, shared, pair.dense.hours(SCORED), "validation")
    return rows.assign(pair=pair.name)


def banded(
    actual: np.ndarray,
    centre: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    level: int = DEFAULT_LEVEL,
) -> tuple[np.ndarray, np.ndarray]:
    """The interval score at `level` and whether the band held (0 or 1), around log-offsets
    `lower` and `upper` from `centre`."""
    low, high = centre * np.exp(lower), centre * np.exp(upper)
    return interval_score(actual, low, high, level), inside(actual, low, high).astype(np.float64)


def outcomes(
    pair: PairOrigins,
    spec: BandSpec,
    shared: Mapping[int, Calibrated] | None,
    hours: list[int],
    span: str = "evaluation",
    *,
    band: Band | None = None,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """The pair's origins of `span` (`evaluation`, `validation` or `final`, its final test) at
    each scored horizon, as the panel reports them: the 80% interval scores of the served band
    (`spec` calibrated at the horizons `hours`) and of the naive band, whether the served band
    held the close at each level, its 80% width (log upper minus log lower), the band's own variance
    ratio at the origin and the calendar quarter; and, per horizon label, the origins left out
    because their window crosses a gap in the bars. `band`: that band, where made already."""
    dense = pair.dense
    market = dense.market
    band = band or Band(spec, market, dense.pos, pair.errors(hours), shared)
    origins = getattr(pair, span)
    pos, times = dense.pos[origins], dense.times[origins]
    scored = dense.hours(SCORED)
    leads = np.asarray(scored, dtype=np.float64)
    actual = outcome(market, times, leads)
    closes = actual_at(market, times[:, None] + (leads * HOUR).astype(np.int64)[None, :])
    centre = dense.centre(scored)[origins]
    anchor = dense.anchor[pos]
    offsets = band.offsets(pos, leads)
    naive = naive_band(market, pos, scored).offsets(pos, leads, calibrated_at=times)
    ratio = variance_ratio(market, spec, pos)
    quarter = pd.PeriodIndex(pd.to_datetime(times, unit="s"), freq="Q").astype(str)
    frames, gaps = [], {}
    for j, h in enumerate(scored):
        label = horizon_label(h)
        ok = np.isfinite(actual[:, j])
        gaps[label] = int((np.isfinite(closes[:, j]) & ~ok).sum())
        low, high = tails(DEFAULT_LEVEL)
        held = {}
        for level in LEVELS:
            lower, upper = (offsets[tail][:, j] for tail in tails(level))
            held[level] = banded(actual[:, j], centre[:, j], lower, upper, level)
        frame = pd.DataFrame(
            {
                "horizon": label,
                "origin": times,
                "score_served": held[DEFAULT_LEVEL][0],
                "score_naive": banded(actual[:, j], anchor, naive[low][:, j], naive[high][:, j])[0],
                "width": offsets[high][:, j] - offsets[low][:, j],
                "ratio": ratio,
                "quarter": quarter,
                **{f"held_{level}": found[1] for level, found in held.items()},
            }
        )
        frames.append(frame[ok])
    return pd.concat(frames, ignore_index=True), gaps


def weeks(pairs: list[PairOrigins]) -> np.ndarray:
    """Every week start from the first origin of any pair to a week past the last bar: when a
    stored shared pool is calibrated."""
    first = min(int(pair.dense.times[0]) for pair in pairs)
    last = max(int(pair.dense.market.t[-1]) for pair in pairs) + seconds_of(pd.Timedelta(days=7))
    step = seconds_of(pd.Timedelta(days=7))
    return np.arange(first // step * step, last, step, dtype=np.int64)


def shared_calibrations(
    inputs: list[Mapping[int, tuple[np.ndarray, ...]]], spec: BandSpec, weeks: np.ndarray
) -> dict[int, Stored]:
    """The pools the pairs share (`shared_pools`) calibrated once at each of `weeks` (ascending
    week starts, `stored`), where every pair's band reads them, and as training reads them."""
    return {h: stored(pool, weeks) for h, pool in shared_pools(inputs, spec).items()}


def store_pools(pools: Mapping[int, Stored], path: Path = PANEL_POOL) -> None:
    """Write each shared pool's calibrations as training reads them (`stored_pools`)."""
    arrays = {f"{h}_{field}": getattr(kept, field) for h, kept in pools.items() for field in FIELDS}
    with path.open("wb") as file:
        np.savez_compressed(file, **arrays)


def stored(pool: Pool, weeks: np.ndarray) -> Stored:
    """The pool's calibrations at each of `weeks`, kept as arrays."""
    found = [pool.calibration(int(at)) for at in weeks]
    bins = max((len(c.tables) for c in found if c is not None), default=1)
    tables = np.full((len(weeks), bins, len(TAUS) + 1), np.nan)
    edges = np.full((len(weeks), bins - 1), np.nan)
    floors = np.zeros(len(weeks))
    for i, calibration in enumerate(found):
        if calibration is not None:
            n = len(calibration.tables)
            tables[i, :n], edges[i, : n - 1] = calibration.tables, calibration.edges
            floors[i] = calibration.floor
    return Stored(np.asarray(weeks, dtype=np.int64), tables, edges, floors)
