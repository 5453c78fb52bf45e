"""Artifacts made from synthetic arrays and written by the real writer (`write_artifact`), in a
fraction of a second: for tests of serving that need no trained model.

Each is whole: a history with a missing bar (and, daily, a week without trades), a forecast
grid from the first bar to the full horizon with a hindcast inside the history and bands that
widen with the lead and nest (50% in 80% in 95%), a manifest with every field the contract has,
and a backtest with scores at every horizon, the choices behind the band and the damping, and
past forecasts; or, `backtest=False`, what `train.py --no-backtest` writes (no summary, no
paths). The numbers are made up; the shapes and the checks they pass are the real ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import numpy as np

from cryptopredict.artifact.arrays import BacktestRows, BarHistory, Grid
from cryptopredict.artifact.schema import (
    LEVELS,
    BacktestReport,
    BandSearch,
    EvaluationScores,
    FitWindow,
    ForecastScores,
    GapCount,
    GridSpan,
    HindcastCheck,
    Manifest,
    MixCandidate,
    MixSearch,
    ModelConfig,
    NaiveComparison,
    PoolCandidate,
    PoolSearch,
    PostprocessRules,
    RepairCount,
    ScoredBandSpec,
    ScoresAtHorizon,
    ServedBandSpec,
    ServedNames,
    Settlement,
    SpanBoundary,
    TrainingData,
    ValidationFindings,
    WidthFifthCoverage,
)
from tests.artifact_files import write_artifact

HOUR = 3600
DAY = 24 * HOUR
HORIZON_DAYS = 1096  # the default MAX_HORIZON_DAYS: every date the API accepts has a grid row
# How wide each band is per square root of an hour of lead, in log price.
SPREAD = {50: 0.002, 80: 0.004, 95: 0.006}


@dataclass(frozen=True)
class Pair:
    slug: str
    symbol: str
    interval: int  # seconds
    bars: int
    last_bar: int  # epoch seconds
    price: float


# BTC/USD hourly for 60 days and ETH/USD daily for 300, ending where the embedded data ends; a
# pair quoted below 1, whose prices keep six significant digits.
BTC = Pair("btc-usd", "BTC/USD", HOUR, 60 * 24, 1_785_081_600, 65_000.0)
ETH = Pair("eth-usd", "ETH/USD", DAY, 300, 1_785_024_000, 2_000.0)
DOGE = Pair("doge-usdt", "DOGE/USDT", HOUR, 30 * 24, 1_785_081_600, 0.16175)


def write_synthetic(
    out: Path,
    pair: Pair,
    *,
    backtest: bool = True,
    seed: int = 0,
    history: BarHistory | None = None,
    model_version: str | None = None,
) -> Path:
    """The artifact of `pair` under `out` (`out/<slug>`), entered in `out/index.json`: on
    `history` when given (else bars made up from `seed`), named `model_version` when given."""
    history = history or _history(pair, np.random.default_rng(seed))
    grid = _grid(pair, history)
    report = _backtest(pair, history) if backtest else _no_backtest()
    manifest = _manifest(pair, history, grid, report.summary)
    if model_version is not None:
        manifest = msgspec.structs.replace(manifest, model_version=model_version)
    write_artifact(
        out,
        model={"synthetic": pair.slug},  # serving never unpickles the model
        grid=grid,
        history=history,
        backtest=report,
        manifest=manifest,
        origins=_origins(pair, history) if backtest else None,
    )
    return out / pair.slug


def _history(pair: Pair, rng: np.random.Generator) -> BarHistory:
    first = pair.last_bar - (pair.bars - 1) * pair.interval
    ds = np.arange(first, pair.last_bar + 1, pair.interval, dtype=np.int64)
    ds = np.delete(ds, len(ds) - 7 * DAY // pair.interval)  # one bar missing in the last week
    close = pair.price * np.exp(np.cumsum(rng.normal(0, 0.004, len(ds))))
    volume = rng.uniform(10, 100, len(ds))
    if pair.interval == DAY:
        volume[100:107] = 0.0  # a week without trades
    return bars(ds, close, volume)


def bars(ds: np.ndarray, close: np.ndarray, volume: np.ndarray) -> BarHistory:
    """Bars closing at `close`: each opened at the close before it, its high and low 0.2% beyond."""
    opened = np.concatenate([[close[0]], close[:-1]])
    high, low = np.maximum(opened, close) * 1.002, np.minimum(opened, close) * 0.998
    vwap = (high + low + close) / 3
    return BarHistory(ds=ds, open=opened, high=high, low=low, close=close, volume=volume, vwap=vwap)


def _grid(pair: Pair, history: BarHistory) -> Grid:
    first, last_bar = int(history.ds[0]), int(history.ds[-1])
    ds = np.arange(first, last_bar + HORIZON_DAYS * DAY + 1, pair.interval, dtype=np.int64)
    inside = ds <= last_bar
    # A hindcast is made at the bar before its time (the first bar is its own origin); the
    # forecast at the last bar.
    origin = np.where(inside, np.maximum(ds - pair.interval, first), last_bar)
    yhat = np.interp(ds, history.ds, history.close)
    yhat[~inside] = history.close[-1] * (1 + 1e-6 * (ds[~inside] - last_bar) / HOUR)
    lead = np.sqrt((ds - origin) / HOUR)
    bands = {
        f"yhat_{side}_{level}": yhat * np.exp(sign * SPREAD[level] * lead)
        for level in LEVELS
        for side, sign in (("lower", -1), ("upper", 1))
    }
    return Grid(ds=ds, origin=origin, yhat=yhat, **bands)


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _iso(epoch: float) -> str:
    return _utc(epoch).strftime("%Y-%m-%dT%H:%M:%SZ")


def _scores(n: int, level_shift: float) -> ForecastScores:
    coverage = {str(level): min(0.99, level / 100 + level_shift) for level in LEVELS}
    fifths = {
        str(level): tuple(
            WidthFifthCoverage(
                coverage=coverage[str(level)], se=0.05, n=n // 5, width_from=i, width_to=i
            )
            for i in range(5)
        )
        for level in LEVELS
    }
    return ForecastScores(
        n=n,
        mape=0.012 + level_shift,
        mae=800.0,
        rmse=1000.0,
        coverage=coverage["80"],
        coverage_by_level=coverage,
        coverage_se_by_level={str(level): 0.04 for level in LEVELS},
        coverage_by_width_quintile=fifths,
        interval_score=0.07 + level_shift,
        interval_score_by_level={str(level): 0.05 + level / 1000 for level in LEVELS},
        quantile_score=0.004,
    )


def _horizon(n: int, difference: float) -> ScoresAtHorizon:
    return ScoresAtHorizon(
        prophet=_scores(n, 0.0),
        naive=_scores(n, 0.02),
        drift=ForecastScores(n=n, mape=0.014, mae=900.0, rmse=1100.0),
        prophet_vs_naive=NaiveComparison(
            n=n,
            lags=3,
            mape_diff=-0.001,
            mape_se=0.0005,
            interval_score_diff=difference,
            interval_score_se=0.004,
            quantile_score_diff=-0.0002,
            quantile_score_se=0.0001,
            df=40.0,
            interval_score_relative=difference / 0.07,
            interval_score_relative_bound=(difference + 1.684 * 0.004) / 0.07,
            verdict="tie" if abs(difference) <= 0.008 else "better" if difference < 0 else "worse",
        ),
    )


def _boundary(history: BarHistory) -> SpanBoundary:
    last = int(history.ds[-1])
    return SpanBoundary(
        first_validation_origin=_utc(last - 30 * DAY),
        last_validation_outcome=_utc(last - 15 * DAY - 1),
        first_evaluation_origin=_utc(last - 15 * DAY),
    )


def _band_setting(name: str) -> dict:
    return {
        "kind": "scaled",
        "window_days": 1.0,
        "half_life_hours": 24.0,
        "profile": True,
        "drift": False,
        "pool_days": 180,
        "horizon_pools": ((1, 90), (24, None)),
        "horizon_mix": ((1, 0.0), (168, 0.5)),
        "width_bins": 5,
        "floor": 0.1,
        "name": name,
    }


def _backtest(pair: Pair, history: BarHistory) -> BacktestReport:
    n = 27
    # better, tie and worse than naive, and one horizon scored without a band comparison
    summary = EvaluationScores(
        origins=n,
        origin_step_hours=7.0,
        refits=2,
        interval_width=0.8,
        levels=LEVELS,
        boundary=_boundary(history),
        h1=_horizon(n, -0.02) if pair.interval < DAY else None,
        d1=_horizon(n, 0.001),
        d7=_horizon(n, 0.03),
        d30=ScoresAtHorizon(prophet=ForecastScores(n=n, mape=0.05, mae=3000.0, rmse=3500.0)),
    )
    candidate = ScoredBandSpec(**_band_setting("the served band"), score=0.9, score_1d=0.07)
    return BacktestReport(
        summary=summary,
        band=BandSearch(
            chosen=candidate,
            validation_origins=12,
            candidates=(candidate,),
            pools=PoolSearch(
                score="interval score",
                candidates=(PoolCandidate(days=90, h1=0.07), PoolCandidate(days=None, d1=0.08)),
                chosen={"1h": 90, "1d": None},
            ),
            mix=MixSearch(
                score="interval score",
                candidates=(MixCandidate(weight=0.5, d7=0.09),),
                chosen={"7d": 0.5},
            ),
        ),
        hindcast=HindcastCheck(days=30, bars=720, coverage_by_level={"80": 0.79}),
    )


def _origins(pair: Pair, history: BarHistory) -> BacktestRows:
    """The last close, 1 d ahead, with bands 1%, 2% and 3% wide each way, from each bar of the
    last 30 days that has one."""
    ahead = DAY // pair.interval
    at = np.arange(max(len(history) - 30 * ahead, 0), len(history) - ahead)
    band = np.tile(np.log([0.99, 1.01, 0.98, 1.02, 0.97, 1.03]), (len(at), 1)).astype(np.float32)
    close = history.close
    return BacktestRows(history.ds[at], np.full(len(at), 24), close[at + ahead], close[at], band)


def _no_backtest() -> BacktestReport:
    hindcast = HindcastCheck(days=30, bars=720, coverage_by_level={"80": 0.8})
    return BacktestReport(summary=None, band=None, hindcast=hindcast)


def _manifest(
    pair: Pair, history: BarHistory, grid: Grid, summary: EvaluationScores | None
) -> Manifest:
    first, last = int(history.ds[0]), int(history.ds[-1])
    label = f"{pair.interval // DAY}d" if pair.interval >= DAY else f"{pair.interval // HOUR}h"
    rows = len(history.ds)
    validation = ValidationFindings(
        rows=rows,
        first=_iso(first),
        last=_iso(last),
        exact_duplicates_dropped=0,
        was_unsorted=False,
        conflicting_duplicates=RepairCount(),
        ohlc_repaired=RepairCount(count=1, first=_iso(first)),
        gaps=GapCount(
            count=1, missing_bars=1, largest_after=_iso(last - 7 * DAY), largest_missing_bars=1
        ),
    )
    tau = 48.0 if summary is not None else 0.0
    damping = Settlement(how="chosen" if summary is not None else "fixed", why="made up for a test")
    return Manifest(
        schema_version=0,  # set by the writer
        asset=pair.slug,
        symbol=pair.symbol,
        interval=label,
        model_version=f"synthetic-{pair.slug}",
        created_at=_utc(last + HOUR),
        git_sha=None,
        data=TrainingData(
            source="snapshot",
            failed_sources=(),
            first=_utc(first),
            last=_utc(last),
            rows=rows,
            sha256="0" * 64,
            validation=validation,
            training_window=FitWindow(first=_utc(first), last=_utc(last), rows=rows),
        ),
        versions={"prophet": "synthetic", "python": "3.11"},
        params=ModelConfig(
            name="prophet", changepoint_range=0.9, window_days=None, damping_hours=tau
        ),
        postprocess=PostprocessRules(
            target="log",
            origin=last,
            last_close=float(history.close[-1]),
            model_at_origin=math.log(float(history.close[-1])),
            anchored=True,
            damping_hours=tau,
            interval_width=0.8,
            band_hours=(1.0, 24.0),
            band_lower=(-0.01, -0.03),
            band_upper=(0.01, 0.03),
        ),
        band=ServedBandSpec(**_band_setting("a made-up scaled band"), hindcast="made up"),
        served=ServedNames(
            point_forecast="the last close plus Prophet's move, damped",
            band_method="a made-up scaled band",
            damping=damping,
            band=Settlement(how="fixed", why="made up for a test"),
        ),
        metrics=summary,
        backtest_boundary=None if summary is None else _boundary(history),
        horizon=GridSpan(
            days=float(HORIZON_DAYS), grid_first=_utc(grid.ds[0]), grid_last=_utc(grid.ds[-1])
        ),
        levels=LEVELS,
        files={},
    )
