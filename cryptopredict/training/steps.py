"""A pair's training, step by step, as the tasks of its graph (`graph.py` submits them,
`tasks.run` calls them on a worker): `prepare` (fetch, validate, plan), `refit` at each origin
the client asks for, `damping` (chosen on the validation refits), then `finish` (the band
choice, the scores, the final fit, the grid, the gate and the encoded artifact), or `backtest`
(the band choice and the scores alone, for the tools); `quick`, beside them when serving while
training, the model served until `finish` is written. Before any pair, `market` ranks the pairs
`top:N` asks for.

The history stays where `prepare` ran: the other steps get it from there, as Dask moves a
task's inputs, never through the client.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from cryptopredict.artifact.arrays import ArtifactError
from cryptopredict.artifact.run import Ranking
from cryptopredict.artifact.schema import DampingChoice
from cryptopredict.assets import Asset
from cryptopredict.data import DataError, History, load_history
from cryptopredict.data.csvfile import CsvSource
from cryptopredict.data.market import top_pairs
from cryptopredict.model.backtest import Backtest, BacktestSetup, choose_tau, finish_backtest
from cryptopredict.model.band_spec import BandSpec
from cryptopredict.model.build import Built, TrainingRequest, build, model_frame
from cryptopredict.model.config import DEFAULT, ModelConfig
from cryptopredict.model.gate import GateError
from cryptopredict.model.panel_band import panel_band
from cryptopredict.model.plan import Plan, epoch_seconds
from cryptopredict.model.refits import Refits, refit_at, refit_inputs, refit_steps
from cryptopredict.model.scorecard import training_report
from cryptopredict.training.fitcache import fit_key
from cryptopredict.training.tasks import Fetch, FetchSettings, Finished, Needs, PairJob

# A task's own verdict on its pair: the pair fails, the task is not retried.
FINAL = (DataError, ValueError, GateError, ArtifactError)

Damping = tuple[DampingChoice | None, float | None]


@dataclass(frozen=True)
class Prepared:
    """A pair's validated history, its model frame and its backtest's plan."""

    history: History
    request: TrainingRequest
    frame: pd.DataFrame
    setup: BacktestSetup | None  # None: trained without a backtest
    needs: Needs
    band: BandSpec | None  # the band served, None: the panel's band for the interval


def market(count: int, fetch: FetchSettings) -> Ranking:
    """`top:N`: the `count` pairs most traded on Binance now (`data/market.py`)."""
    return top_pairs(count, fetch.settings())


def prepare(job: PairJob) -> Prepared:
    history = job.bars if isinstance(job.bars, History) else fetch(job.asset, job.bars)
    request = TrainingRequest(
        asset=job.asset,
        config=job.config or DEFAULT,
        horizon=pd.Timedelta(days=job.horizon_days),
        gate=job.gate,
        plan=(job.plan or Plan()) if job.backtest else None,
        model_version=job.model_version,
        git_sha=job.git_sha,
        price=job.price,
    )
    frame = model_frame(history.bars.frame, job.price)
    if request.plan is None:
        return Prepared(history, request, frame, None, Needs((), (), 0, backtest=False), job.band)
    setup = BacktestSetup.build(frame, history.bars.interval.delta, request.config, request.plan)
    interval = setup.market.interval

    def keyed(origins: np.ndarray) -> tuple[tuple[int, str], ...]:
        return tuple(
            (int(t), refit_key(frame, int(t), setup.undamped, setup.plan, interval))
            for t in origins
        )

    needs = Needs(
        damping=keyed(setup.damping_origins()),
        every=keyed(setup.times),
        steps=refit_steps(setup.plan, interval),
        backtest=True,
    )
    return Prepared(history, request, frame, setup, needs, job.band)


def fetch(asset: Asset, bars: Fetch) -> History:
    return load_history(
        asset, _interval(asset, bars), utc(bars.since), bars.settings.settings(),
        source=bars.source, csv=bars.csv, until=None if bars.until is None else utc(bars.until),
    )  # fmt: skip


def _interval(asset: Asset, bars: Fetch) -> str:
    """`--interval`; else the `--csv` file's, read from its timestamps; else the pair's."""
    if bars.interval:
        return bars.interval
    held = CsvSource(bars.csv).interval(asset) if bars.csv is not None else None
    return held.label if held is not None else asset.interval


def refit(prepared: Prepared, origin: int) -> np.ndarray:
    setup = _setup(prepared)
    return refit_at(setup.history, origin, setup.undamped, setup.plan, setup.market.interval)


Paths = dict[int, np.ndarray]  # Prophet's path from each refit origin (epoch seconds)


def damping(prepared: Prepared, paths: Paths, stores: list[Paths]) -> Damping:
    setup = _setup(prepared)
    return choose_tau(setup, _refits(setup, setup.damping_origins(), paths, stores))


def backtest(prepared: Prepared, chosen: Damping, paths: Paths, stores: list[Paths]) -> Backtest:
    """The band choice and the scores, from the refits the damping chosen needs."""
    setup = _setup(prepared)
    choice, tau = chosen
    refits = _refits(setup, setup.refit_origins(tau), paths, stores)
    band = prepared.band or panel_band(prepared.history.bars.interval.delta)
    return finish_backtest(setup, refits, choice, tau, band=band)


def finish(
    prepared: Prepared,
    chosen: Damping | None,
    paths: Paths,
    stores: list[Paths],
    keep_backtest: bool = False,
) -> Finished:
    tested = None
    if prepared.setup is not None and chosen is not None:
        tested = backtest(prepared, chosen, paths, stores)
    built = build(prepared.history, prepared.request, prepared.frame, tested)
    return _finished(built, tested if keep_backtest else None)


def quick(prepared: Prepared) -> Finished:
    """The pair's quick model, written first when serving while training (`train.py --serve`):
    the last close (tau 0) with the panel's band calibrated on this pair's naive errors, and no
    backtest, so it costs one Prophet fit; the backtested model replaces it when written."""
    request = replace(
        prepared.request,
        config=prepared.request.config.with_changes(damping_hours=0.0),
        plan=None,
        quick=True,
    )
    return _finished(build(prepared.history, request, prepared.frame, None))


def _finished(built: Built, backtest: Backtest | None = None) -> Finished:
    return Finished(
        files=built.files(),
        report=training_report(built.manifest),
        model_version=built.manifest.model_version,
        backtest=backtest,
    )


def _setup(prepared: Prepared) -> BacktestSetup:
    if prepared.setup is None:
        raise RuntimeError("a pair trained without a backtest has no refit")
    return prepared.setup


def _refits(setup: BacktestSetup, origins: np.ndarray, paths: Paths, stores: list[Paths]) -> Refits:
    interval = setup.market.interval
    if len(origins) == 0:
        return Refits.none(interval)
    every = dict(paths)
    for store in stores:
        every.update(store)
    return Refits(origins, np.stack([every[int(t)] for t in origins]), interval)


def utc(text: str) -> pd.Timestamp:
    stamp = pd.Timestamp(text)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def refit_key(
    history: pd.DataFrame, origin: int, config: ModelConfig, plan: Plan, interval: int
) -> str:
    """The fit cache's key of the refit at `origin`: a digest of what its path depends on."""
    train, ahead = refit_inputs(history, origin, config, plan, interval)
    settings = {
        "prophet": config.prophet_kwargs(),
        "target": config.target,
        "window_days": config.window_days,
    }
    return fit_key(settings, epoch_seconds(train["ds"]), train["y"].to_numpy(), ahead)
