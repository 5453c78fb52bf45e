"""`make panel`: the band every pair serves, chosen on the panel of hourly spot pairs, then
backtested on every embedded hourly pair against naive.

First the choice (`cryptopredict/model/panel_band.py`): on the validation origins of the 16
Binance spot pairs of `data/binance-spot-16pairs-1h.csv.gz`, the scaled band's volatility
model, then per horizon its calibration pool and its weight of the empirical band, each by the
score pooled over the pairs; written to `cryptopredict/model/panel_band.json`, which training
reads (`--keep-band` skips the choice and uses the file as it is). Then each pair (and BTC/USD's
long hourly history) goes through the backtest training runs (each pair's graph on the training
cluster, as `train.py --csv` reads it, with the product defaults and that band): validation
origins choose the damping, evaluation origins score it.
Per pair and horizon: the 80% interval score minus naive's with its Newey-West standard error,
and coverage at 50, 80 and 95%. Pooled over the 16 Binance pairs: the same figures averaged over
the pairs at each origin time, with standard errors clustered by time (Driscoll-Kraay: the
pairs move together, so each time counts once, with Newey-West lags for overlapping horizons).

    python -m tools.panel [--out docs/panel.json] [--jobs N] [--pairs ADAUSDT,...] [--keep-band]

21 minutes with `--jobs 2` on two cores shared with other work, without BTC's long history
(`--no-btc`), whose Prophet refits take half an hour more unless cached; results are written
as generated data (`docs/panel.json`) that `tools/report.py` renders into docs/model.md.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from distributed import Client

from cryptopredict.artifact.schema import DEFAULT_LEVEL, LEVELS
from cryptopredict.assets import ASSETS, asset_for_symbol, slug_for_binance
from cryptopredict.config import TrainingSettings
from cryptopredict.model import panel_band as chooser
from cryptopredict.model.backtest import Backtest
from cryptopredict.model.band_spec import BandSpec, candidates
from cryptopredict.model.choices import band_scores
from cryptopredict.model.config import DEFAULT
from cryptopredict.model.gate import GateRules
from cryptopredict.model.plan import HORIZONS, SERVED, Plan
from cryptopredict.model.scores import (
    inside,
    interval_score,
    mean_se,
    overlap_lags,
    paired,
    relative,
)
from cryptopredict.model.scoring import spacing_hours
from cryptopredict.training.cluster import training_client
from cryptopredict.training.fitcache import FitCache
from cryptopredict.training.graph import backtest_pair
from cryptopredict.training.tasks import Fetch, FetchSettings, PairJob
from cryptopredict.utc import iso_moment

log = logging.getLogger("panel")

PAIRS_CSV = Path("data/binance-spot-16pairs-1h.csv.gz")
BTC_CSV = Path("data/btc-usd-1h.csv.gz")
BTC = "BTC/USD (2021-)"


Task = tuple[str, Path, str | None, Path, BandSpec]
SINCE = "2017-01-01"  # before every pair's first bar: the whole file


def _backtest(client: Client, task: Task) -> tuple[pd.DataFrame, Backtest]:
    """A pair's backtest as its training makes it: its graph on the training cluster."""
    _, path, symbol, fit_cache, band = task
    settings = TrainingSettings.from_env()
    asset = ASSETS["btc-usd"] if symbol is None else asset_for_symbol(slug_for_binance(symbol))
    job = PairJob(
        asset=asset,
        bars=Fetch("1h", SINCE, "auto", path.absolute(), FetchSettings.of(settings)),
        gate=GateRules.from_settings(settings),
        horizon_days=settings.max_horizon_days,
        config=DEFAULT,
        plan=Plan(),
        band=band,
    )
    backtest = backtest_pair(client, job, cache=FitCache(fit_cache))
    return pd.DataFrame({"ds": pd.to_datetime(backtest.market.t, unit="s")}), backtest


def validation_pair(
    client: Client, task: tuple[Task, list[BandSpec]]
) -> tuple[list[dict[str, float]], float]:
    """One pair's validation scores of each spec (`band_scores`), and its validation days."""
    pair, specs = task
    _, backtest = _backtest(client, pair)
    seconds, plan = backtest.market.t, Plan()
    start, end = plan.validation_start(seconds), plan.validation_end(seconds)
    return band_scores(backtest.dense, specs, start, end), (end - start) / 86_400


def choose(client: Client, pool: ThreadPoolExecutor, pairs: list[Task]) -> dict:
    """The panel's band, chosen on the pairs' pooled validation scores, with the scores."""
    stages: dict[str, dict] = {}

    def stage(name: str, specs: list[BandSpec]) -> tuple[list[dict[str, float]], list[str]]:
        scored = functools.partial(validation_pair, client)
        done = list(pool.map(scored, [(pair, specs) for pair in pairs]))
        days = min(d for _, d in done)
        scores = [chooser.pooled([per_pair[k] for per_pair, _ in done]) for k in range(len(specs))]
        stages[name] = {
            "validation_days": days,
            "scores": {s.name: v for s, v in zip(specs, scores, strict=True)},
        }
        log.info("panel: %s scored on %d pairs", name, len(done))
        return scores, chooser.deciding(days)

    models = [chooser.uniform_pool(s, 180) for s in candidates() if s.kind == "scaled"]
    scores, labels = stage("volatility model", models)
    spec = chooser.best(dict(zip(models, scores, strict=True)), labels)
    pools = {days: chooser.uniform_pool(spec, days) for days in chooser.POOL_DAYS}
    scores, labels = stage("calibration pool", list(pools.values()))
    by_pool = {float(days): score for days, score in zip(pools, scores, strict=True)}
    spec = chooser.with_pools(spec, chooser.per_horizon(by_pool, labels))
    mixes = {w: chooser.uniform_mix(spec, w) for w in chooser.MIX_WEIGHTS}
    scores, labels = stage("empirical weight", list(mixes.values()))
    by_weight = dict(zip(mixes, scores, strict=True))
    spec = chooser.with_mix(spec, chooser.per_horizon(by_weight, labels))
    return {
        "about": "Generated by `make panel` (python -m tools.panel); do not edit. Training "
        "reads `band`; the rest says what it was chosen on.",
        "band": spec.to_dict(),
        "pairs": [name for name, *_ in pairs],
        "deciding_horizons": labels,
        "score": "80% interval score relative to the naive band's on the validation origins, "
        "within fifths of the day before's volatility, averaged over the pairs",
        "stages": stages,
    }


def pair_outcomes(client: Client, task: Task) -> tuple[str, dict, pd.DataFrame]:
    """One pair's backtest: its summary, and its evaluation origins' per-origin outcomes."""
    name = task[0]
    started = time.monotonic()
    frame, backtest = _backtest(client, task)
    scores = backtest.scores
    rows = scores[scores["split"] == "evaluation"]
    outcomes = per_origin(rows)
    outcomes["pair"] = name
    seconds = backtest.market.t
    summary = {
        "bars": len(frame),
        "first": iso_moment(frame["ds"].iloc[0]),
        "last": iso_moment(frame["ds"].iloc[-1]),
        **Plan().boundary(seconds).to_builtins(),
        "damping_hours": backtest.config.damping_hours,
        "band": backtest.band.chosen.name,
        "validation_days": round(
            (Plan().validation_end(seconds) - Plan().validation_start(seconds)) / 86_400, 1
        ),
        "seconds": round(time.monotonic() - started),
        "horizons": {
            label: pair_figures(outcomes[outcomes["horizon"] == label], horizon)
            for label, horizon in HORIZONS.items()
        },
    }
    log.info("%s: done in %d s", name, summary["seconds"])
    return name, summary, outcomes


def per_origin(rows: pd.DataFrame) -> pd.DataFrame:
    """Per evaluation origin and horizon: the served and naive 80% interval scores and whether
    the served band held the outcome at each level."""
    served = rows[rows["model"] == SERVED].set_index(["horizon", "origin"]).sort_index()
    naive = rows[rows["model"] == "naive"].set_index(["horizon", "origin"]).reindex(served.index)
    actual = served["actual"].to_numpy()
    out = pd.DataFrame(index=served.index)
    for name, frame in (("served", served), ("naive", naive)):
        low, high = frame[f"lower_{DEFAULT_LEVEL}"], frame[f"upper_{DEFAULT_LEVEL}"]
        out[f"score_{name}"] = interval_score(actual, low.to_numpy(), high.to_numpy(), 80)
    for level in LEVELS:
        held = inside(actual, served[f"lower_{level}"], served[f"upper_{level}"])
        out[f"held_{level}"] = np.asarray(held, dtype=np.float64)
    return out.reset_index()


def pair_figures(rows: pd.DataFrame, horizon: pd.Timedelta) -> dict:
    """One pair at one horizon: interval score difference against naive and coverage, with
    the one standard error over overlapping origins."""
    rows = rows.sort_values("origin")
    lags = overlap_lags(horizon / pd.Timedelta(hours=1), spacing_hours(rows["origin"]))
    return _figures(rows, lags)


def pooled_figures(rows: pd.DataFrame, horizon: pd.Timedelta) -> dict:
    """Every pair at one horizon: each origin time's mean over the pairs, then the one standard
    error over the times (clustered by time, Driscoll-Kraay)."""
    by_time = rows.drop(columns=["pair", "horizon"]).groupby("origin").mean().reset_index()
    lags = overlap_lags(horizon / pd.Timedelta(hours=1), spacing_hours(by_time["origin"]))
    figures = _figures(by_time, lags)
    figures["pairs"] = int(rows["pair"].nunique())
    figures["forecasts"] = len(rows)
    return figures


def _figures(rows: pd.DataFrame, lags: int) -> dict:
    served, naive = rows["score_served"].to_numpy(), rows["score_naive"].to_numpy()
    versus = paired(served, naive, lags)
    ratio = relative(served, naive, lags)
    coverage: dict[str, float] = {}
    coverage_se: dict[str, float] = {}
    for level in LEVELS:
        held = rows[f"held_{level}"].to_numpy()
        coverage[str(level)] = float(held.mean())
        coverage_se[str(level)] = mean_se(held, lags).se
    return {
        "origins": len(rows),
        "lags": lags,
        "df": versus.df,
        "interval_score": float(served.mean()),
        "naive_interval_score": float(naive.mean()),
        "interval_score_diff": versus.mean,
        "interval_score_se": versus.se,
        "relative": ratio.mean,
        "relative_se": ratio.se,
        "relative_bound": ratio.upper(),
        "verdict": versus.verdict(),
        "coverage": coverage,
        "coverage_se": coverage_se,
    }


def symbols(path: Path) -> list[str]:
    return sorted(pd.read_csv(path, usecols=["symbol"])["symbol"].unique())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.panel", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("docs/panel.json"))
    parser.add_argument("--pairs", help="comma-separated symbols (default: every pair)")
    parser.add_argument("--no-btc", action="store_true", help="leave BTC's long history out")
    parser.add_argument("--jobs", type=int, default=1, help="pairs backtested at once")
    parser.add_argument("--csv", type=Path, default=PAIRS_CSV, help="the hourly pairs (long CSV)")
    parser.add_argument(
        "--keep-band", action="store_true", help="use the band file as it is: choose nothing"
    )
    parser.add_argument("--band-file", type=Path, default=chooser.PANEL_BAND)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    fit_cache = TrainingSettings.from_env().fit_cache_dir
    chosen = args.pairs.split(",") if args.pairs else symbols(args.csv)
    band = chooser.panel_band(path=args.band_file)
    with (
        training_client(TrainingSettings.from_env()) as client,
        ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool,
    ):
        if not args.keep_band or band is None:
            start = BandSpec("scaled", 1, 24, True, width_bins=5, floor=0.1)
            pairs = [(symbol, args.csv, symbol, fit_cache, start) for symbol in chosen]
            choice = choose(client, pool, pairs)
            args.band_file.write_text(json.dumps(choice, indent=1) + "\n")
            band = BandSpec.from_dict(choice["band"])
            log.info("panel: band chosen: %s (%s)", band.name, args.band_file)
        tasks: list[Task] = [(symbol, args.csv, symbol, fit_cache, band) for symbol in chosen]
        if not args.no_btc:
            tasks.append((BTC, BTC_CSV, None, fit_cache, band))
        done = list(pool.map(functools.partial(pair_outcomes, client), tasks))
    per_pair = {name: summary for name, summary, _ in done}
    panel = pd.concat([rows for name, _, rows in done if name != BTC], ignore_index=True)
    result = {
        "about": "Generated by `make panel` (python -m tools.panel); do not edit.",
        "pairs": per_pair,
        "pooled": {
            label: pooled_figures(panel[panel["horizon"] == label], horizon)
            for label, horizon in HORIZONS.items()
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    log.info("wrote %s", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
