"""Training in one process, the refits on an `Engine`: `train` (a pair, to its artifact) and
`run_backtest` (the backtest alone), for the notebook, the tools and the tests. `train.py` runs
every step of a pair as a task of its graph instead (`graph.py`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cryptopredict.artifact.arrays import Grid
from cryptopredict.artifact.schema import Manifest
from cryptopredict.artifact.write import install_artifact
from cryptopredict.data import History
from cryptopredict.model.backtest import Backtest, BacktestSetup, choose_tau, finish_backtest
from cryptopredict.model.bands import BandSpec
from cryptopredict.model.build import TrainingRequest, build, model_frame
from cryptopredict.model.config import ModelConfig
from cryptopredict.model.panel_band import panel_band
from cryptopredict.model.plan import Plan
from cryptopredict.model.refits import Refits, refit_at, refit_steps
from cryptopredict.training.engine import Engine, LocalEngine
from cryptopredict.training.fitcache import FitCache
from cryptopredict.training.steps import refit_key
from cryptopredict.training.tasks import DAMPING_PURPOSE, REFITS_LOG, every_refit_purpose

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Trained:
    path: Path
    manifest: Manifest
    backtest: Backtest | None
    grid: Grid


def train(
    history: History, request: TrainingRequest, out_dir: Path, engine: Engine | None = None
) -> Trained:
    """Everything from validated bars to a written artifact, in this process (the backtest's
    refits on `engine`); raises before writing on failure."""
    frame = model_frame(history.bars.frame, request.price)
    interval = history.bars.interval.delta
    backtest = None
    if request.plan is not None:
        backtest = run_backtest(
            frame,
            interval,
            request.config,
            request.plan,
            engine=engine or LocalEngine(),
            cache=FitCache(request.fit_cache),
            band=panel_band(interval),
        )
    built = build(history, request, frame, backtest)
    path = install_artifact(out_dir, built.manifest.asset, built.files())
    return Trained(path, built.manifest, backtest, built.grid)


def run_backtest(
    history: pd.DataFrame,
    interval: pd.Timedelta,
    config: ModelConfig,
    plan: Plan,
    *,
    engine: Engine | None = None,
    cache: FitCache | None = None,
    band_candidates: Sequence[BandSpec] | None = None,
    band: BandSpec | None = None,
) -> Backtest:
    """Backtest `config` (as "prophet") against the naive and drift baselines on `history`
    (`ds`, `y`, and `actual` when the model learns another price than the close), every step
    in this process but the refits (tasks on `engine`)."""
    engine = engine or LocalEngine()
    cache = cache or FitCache(None)
    setup = BacktestSetup.build(history, interval, config, plan)
    origins, refits = setup.damping_origins(), Refits.none(setup.market.interval)
    if len(origins):
        refits = fit_refits(
            history,
            origins,
            setup.undamped,
            plan,
            setup.market.interval,
            engine=engine,
            cache=cache,
            purpose=DAMPING_PURPOSE,
        )
    damping, tau = choose_tau(setup, refits)
    if tau != 0:
        refits = fit_refits(
            history,
            setup.refit_origins(tau),
            setup.undamped,
            plan,
            setup.market.interval,
            engine=engine,
            cache=cache,
            purpose=every_refit_purpose(tau),
        )
    return finish_backtest(setup, refits, damping, tau, band_candidates=band_candidates, band=band)


def log_refits(count: int, cached: int, purpose: str) -> None:
    log.info(
        REFITS_LOG,
        count,
        purpose,
        cached,
        count - cached,
    )


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
    steps = refit_steps(plan, interval)
    raw = np.empty((len(times), steps))
    missing: list[tuple[int, str]] = []
    for i, origin in enumerate(times):
        key = refit_key(history, int(origin), config, plan, interval)
        cached = cache.get(key)
        if cached is not None and cached.shape == (steps,):
            raw[i] = cached
        else:
            missing.append((i, key))
    log_refits(len(times), len(times) - len(missing), purpose)
    fit = functools.partial(refit_at, history, config=config, plan=plan, interval=interval)
    origins = [int(times[i]) for i, _ in missing]
    for (i, key), path in zip(missing, engine.map(fit, origins, what="refit"), strict=True):
        raw[i] = path
        cache.put(key, path)
    return Refits(times, raw, interval)
