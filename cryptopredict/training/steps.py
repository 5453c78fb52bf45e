"""A pair's training, one task on a worker (`tasks.run` calls it): `train` fetches and validates
its history, backtests the served forecast, fits Prophet once, builds the grid, checks the gate
and encodes the artifact, telling the client each phase (`tasks.phase`); `market` ranks
`top:N`'s pairs; `backtest` is the backtest alone (`cryptopredict.cross_validation()`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from cryptopredict.artifact.arrays import ArtifactError
from cryptopredict.artifact.run import MarketRanking
from cryptopredict.assets import Asset
from cryptopredict.data.csvfile import CsvSource
from cryptopredict.data.errors import DataError
from cryptopredict.data.history import History, load_history
from cryptopredict.model.backtest import BacktestResult, BacktestSetup, fitted_refits, run_backtest
from cryptopredict.model.build import TrainingRequest, build, model_frame
from cryptopredict.model.gate import GateError
from cryptopredict.model.panel_choice import panel_band, served_config
from cryptopredict.model.plan import Plan
from cryptopredict.model.scorecard import training_report
from cryptopredict.training.tasks import (
    BACKTEST,
    FINAL_STEP,
    READING,
    Fetch,
    FetchSettings,
    Finished,
    PairJob,
    phase,
)

# A task's own verdict on its pair: the pair fails, the task is not retried.
FINAL = (DataError, ValueError, GateError, ArtifactError)


@dataclass(frozen=True)
class Prepared:
    history: History
    request: TrainingRequest
    frame: pd.DataFrame
    setup: BacktestSetup | None  # None: trained without a backtest
    job: PairJob


def market(count: int, fetch: FetchSettings) -> MarketRanking:
    from cryptopredict.data.binance import top_pairs  # noqa: PLC0415  (only `top:N` needs it)

    return top_pairs(count, fetch.settings())


def train(job: PairJob, keep_backtest: bool = False) -> Finished:
    """The pair trained, its artifact's files encoded (and its backtest, when kept)."""
    prepared = prepare(job)
    tested = None
    if prepared.setup is not None:
        phase(BACKTEST)
        tested = _backtest(prepared, prepared.setup)
    phase(FINAL_STEP)
    files, manifest = build(prepared.history, prepared.request, prepared.frame, tested)
    return Finished(
        files=files,
        report=training_report(manifest),
        model_version=manifest.model_version,
        backtest=tested if keep_backtest else None,
    )


def backtest(job: PairJob) -> BacktestResult:
    prepared = prepare(job)
    if prepared.setup is None:
        raise ValueError(f"{job.asset.slug}: the job asks for no backtest")
    return _backtest(prepared, prepared.setup)


def prepare(job: PairJob) -> Prepared:
    history = job.bars if isinstance(job.bars, History) else fetch(job.asset, job.bars)
    request = TrainingRequest(
        asset=job.asset,
        config=job.config or served_config(),
        horizon=pd.Timedelta(days=job.horizon_days),
        gate=job.gate,
        model_version=job.model_version,
        git_sha=job.git_sha,
        price=job.price,
    )
    frame = model_frame(history.bars.frame, job.price)
    setup = None
    if job.backtest:
        interval = history.bars.interval.delta
        setup = BacktestSetup.build(frame, interval, request.config, job.plan or Plan())
    return Prepared(history, request, frame, setup, job)


def fetch(asset: Asset, bars: Fetch) -> History:
    """The pair's history, at `--interval`; else the `--csv` file's, read from its timestamps;
    else the pair's."""
    phase(READING)
    held = CsvSource(bars.csv).interval(asset) if bars.csv and not bars.interval else None
    interval = bars.interval or (held.label if held is not None else asset.interval)
    return load_history(
        asset, interval, pd.to_datetime(bars.since, utc=True),
        bars.settings.settings(), source=bars.source, csv=bars.csv,
        until=None if bars.until is None else pd.to_datetime(bars.until, utc=True),
    )  # fmt: skip


def _backtest(prepared: Prepared, setup: BacktestSetup) -> BacktestResult:
    band = prepared.job.band or panel_band(prepared.history.bars.interval.delta)
    refits = fitted_refits(setup)
    return run_backtest(setup, refits, band=band, done=lambda share: phase(BACKTEST, done=share))
