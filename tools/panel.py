"""`make panel`: the band every hourly pair serves, chosen on the panel of 16 Binance spot pairs'
whole history, then scored on their evaluation origins against the naive band.

Each pair (`data/binance-spot-16pairs-1h-full.csv.gz`, 2018-2026 with the exchange's real
gaps) is backtested once, as training backtests it, on the training cluster: its history read
and validated as `train.py --csv` reads it, its damping chosen on its validation refits
(Prophet's fits, the costly part), its band origins and point forecasts kept
(`backtest_pair(..., step="origins")`). Every band candidate is then numerics on those origins,
a task per pair on the same cluster (`cryptopredict/model/panel_search.py`).

The choice (`cryptopredict/model/panel_band.py`, a search fixed before any run) is made on the
validation origins alone, by the pooled relative interval score against naive; written with
every candidate's score to `cryptopredict/model/panel_band.json`, which training reads, and the
pool the pairs share, where the choice calibrates on it, to `panel_pool.npz` (`--keep-band`
uses the files as they are). The evaluation origins are scored once, after the choice, with
BTC/USD's own history (`data/btc-usd-1h.csv.gz`) beside them, as training serves it.

Per pair and pooled over the 16, per horizon: the 80% interval score against naive's (the
difference with its standard error, the relative difference with its one-sided 95% bound),
coverage at 50, 80 and 95%, coverage in every fifth of the band's width and of its variance
ratio and in every calendar quarter, and the origins left out because their window crosses a
gap. Pooled figures count every pair's forecasts alike; their standard errors are clustered by
time (Driscoll-Kraay: the pairs move together, so each origin time counts once) through the
one standard error (`cryptopredict/standard_error.py`).

    python -m tools.panel [--out docs/panel.json] [--jobs N] [--pairs ADAUSDT,...] [--keep-band]
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
from typing import Any

import numpy as np
import pandas as pd
from distributed import Client, Future

from cryptopredict.assets import ASSETS, asset_for_symbol, slug_for_binance
from cryptopredict.config import TrainingSettings
from cryptopredict.model import panel_band as chooser
from cryptopredict.model import panel_search as numerics
from cryptopredict.model.band_spec import BandSpec
from cryptopredict.model.bands import BAND_HOURS
from cryptopredict.model.config import DEFAULT
from cryptopredict.model.gate import GateRules
from cryptopredict.model.panel_pool import PANEL_POOL, store_pools, stored_pools
from cryptopredict.model.plan import HORIZONS, Plan
from cryptopredict.training.cluster import training_client
from cryptopredict.training.fitcache import FitCache
from cryptopredict.training.graph import backtest_pair
from cryptopredict.training.tasks import Fetch, FetchSettings, PairJob
from tools.panel_figures import pair_figures, pooled_figures, relative_pooled

log = logging.getLogger("panel")

PAIRS_CSV = Path("data/binance-spot-16pairs-1h-full.csv.gz")
BTC_CSV = Path("data/btc-usd-1h.csv.gz")
BTC = "BTC/USD"
SINCE = "2017-01-01"  # before every pair's first bar: the whole file

Task = tuple[str, Path, str | None]


def backtested(client: Client, fit_cache: Path, task: Task) -> tuple[numerics.PairOrigins, dict]:
    """One pair backtested as its training backtests it, to its band origins (the product's
    defaults: its damping chosen on its validation refits); and what the panel says of it."""
    name, path, symbol = task
    started = time.monotonic()
    settings = TrainingSettings.from_env()
    asset = ASSETS["btc-usd"] if symbol is None else asset_for_symbol(slug_for_binance(symbol))
    job = PairJob(
        asset=asset,
        bars=Fetch("1h", SINCE, "auto", path.absolute(), FetchSettings.of(settings)),
        gate=GateRules.from_settings(settings),
        horizon_days=settings.max_horizon_days,
        config=DEFAULT,
        plan=Plan(),
    )
    found = backtest_pair(client, job, cache=FitCache(fit_cache), step="origins")
    spans = (found.validation_start, found.validation_end, found.evaluation_start)
    pair = numerics.PairOrigins.of(name, found.dense, *spans)
    market, plan = found.dense.market, Plan()
    about = {
        "bars": len(market.t),
        "first": pd.Timestamp(int(market.t[0]), unit="s").isoformat() + "Z",
        "last": pd.Timestamp(int(market.t[-1]), unit="s").isoformat() + "Z",
        **plan.boundary(market.t).to_builtins(),
        "damping_hours": found.dense.config.damping_hours,
        "validation_days": round((spans[1] - spans[0]) / 86_400, 1),
        "seconds": round(time.monotonic() - started),
    }
    log.info("%s: backtested in %d s", name, about["seconds"])
    return pair, about


class Search:
    """The fixed search (`panel_band.py`) on the pairs' validation origins, each candidate a task
    per pair on the cluster; the scores it chose by, stage by stage."""

    def __init__(self, client: Client, pairs: list[Future], days: float) -> None:
        self.client, self.pairs, self.days = client, pairs, days
        self.stages: dict[str, dict] = {}
        self.labels = chooser.deciding(days)

    def run(self) -> BandSpec:
        windows = {w: chooser.uniform_pool(chooser.with_window(chooser.START, w), 180) for w in
                   chooser.WINDOWS}  # fmt: skip
        scores = self.stage("volatility window", list(windows.values()))
        spec = chooser.best(dict(zip(windows.values(), scores, strict=True)), self.labels)
        options = [(days, shared) for shared in chooser.SHARED for days in chooser.POOL_DAYS]
        pools = [chooser.uniform_pool(spec, days, shared) for days, shared in options]
        scores = self.stage("calibration pool", pools)
        by_pool = dict(zip(options, scores, strict=True))
        spec = chooser.with_pools(spec, chooser.per_horizon(by_pool, self.labels))
        mixes = [chooser.uniform_mix(spec, w) for w in chooser.MIX_WEIGHTS]
        scores = self.stage("empirical weight", mixes)
        by_weight = dict(zip(chooser.MIX_WEIGHTS, scores, strict=True))
        return chooser.with_mix(spec, chooser.per_horizon(by_weight, self.labels))

    def stage(self, name: str, specs: list[BandSpec]) -> list[dict[str, float]]:
        """Each spec's pooled relative interval score per horizon on the validation origins."""
        scores = []
        for spec in specs:
            shared = self.shared(spec, numerics.SCORED)
            done = self.client.gather(
                [
                    self.client.submit(numerics.validation_scores, pair, spec, shared, pure=False)
                    for pair in self.pairs
                ]
            )
            rows = pd.concat(done, ignore_index=True)
            scores.append(
                {
                    label: relative_pooled(group)
                    for label, group in rows.groupby("horizon", sort=False)
                }
            )
        self.stages[name] = {
            "validation_days": self.days,
            "scores": {spec.name: score for spec, score in zip(specs, scores, strict=True)},
        }
        log.info("panel: %s: %d candidates scored", name, len(specs))
        return scores

    def shared(self, spec: BandSpec, hours: list[int]) -> Future | None:
        """The pools the pairs share at `hours`, where `spec` calibrates on them (on the
        cluster, once per spec)."""
        if not any(spec.shared_for(h) for h in hours):
            return None
        inputs = [
            self.client.submit(numerics.pair_pool_inputs, pair, spec, hours, pure=False)
            for pair in self.pairs
        ]
        return self.client.submit(numerics.shared_pools, inputs, spec, pure=False)


def chosen(search: Search, spec: BandSpec, names: list[str]) -> dict:
    return {
        "about": "Generated by `make panel` (python -m tools.panel); do not edit. Training "
        "reads `band` (and, where it calibrates on the panel's shared pool, panel_pool.npz); "
        "the rest says what it was chosen on, before any evaluation origin was scored.",
        "band": spec.to_dict(),
        "pairs": names,
        "deciding_horizons": search.labels,
        "score": "80% interval score relative to the naive band's, (served - naive) / naive, "
        "pooled over the pairs' validation origins (every forecast alike); lower is better",
        "stages": search.stages,
    }


def evaluated(
    client: Client, pairs: list[Future], spec: BandSpec, shared: Any
) -> list[tuple[pd.DataFrame, dict[str, int]]]:
    hours = list(BAND_HOURS)
    return client.gather(
        [client.submit(numerics.outcomes, pair, spec, shared, hours, pure=False) for pair in pairs]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.panel", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("docs/panel.json"))
    parser.add_argument("--pairs", help="comma-separated symbols (default: every pair)")
    parser.add_argument("--no-btc", action="store_true", help="leave BTC/USD's history out")
    parser.add_argument("--jobs", type=int, default=2, help="pairs backtested at once")
    parser.add_argument("--csv", type=Path, default=PAIRS_CSV, help="the hourly pairs (long CSV)")
    parser.add_argument(
        "--keep-band", action="store_true", help="use the band files as they are: choose nothing"
    )
    parser.add_argument("--band-file", type=Path, default=chooser.PANEL_BAND)
    parser.add_argument("--pool-file", type=Path, default=PANEL_POOL)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    started = time.monotonic()
    symbols = args.pairs.split(",") if args.pairs else sorted(
        pd.read_csv(args.csv, usecols=["symbol"])["symbol"].unique()
    )  # fmt: skip
    tasks: list[Task] = [(symbol, args.csv, symbol) for symbol in symbols]
    if not args.no_btc:
        tasks.append((BTC, BTC_CSV, None))
    fit_cache = TrainingSettings.from_env().fit_cache_dir
    with (
        training_client(TrainingSettings.from_env()) as client,
        ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool,
    ):
        done = list(pool.map(functools.partial(backtested, client, fit_cache), tasks))
        names = [pair.name for pair, _ in done]
        panel = [pair for pair, _ in done if pair.name != BTC]
        futures = client.scatter([pair for pair, _ in done])
        ours = [future for future, name in zip(futures, names, strict=True) if name != BTC]
        days = min((p.dense.times[p.validation][-1] - p.dense.times[p.validation][0]) / 86_400
                   for p in panel)  # fmt: skip
        if args.keep_band:
            spec = chooser.panel_band(path=args.band_file)
            assert spec is not None, f"{args.band_file} holds no band: run without --keep-band"
            shared: Any = stored_pools(args.pool_file)
        else:
            search = Search(client, ours, float(days))
            spec = search.run()
            args.band_file.write_text(json.dumps(chosen(search, spec, names), indent=1) + "\n")
            log.info("panel: band chosen: %s (%s)", spec.name, args.band_file)
            shared = _stored_shared(client, search, spec, panel, args.pool_file)
        results = evaluated(client, futures, spec, shared)
    summaries = dict(zip(names, [about for _, about in done], strict=True))
    result = report(names, summaries, results, spec, time.monotonic() - started)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    log.info("wrote %s in %.0f s", args.out, time.monotonic() - started)
    return 0


def _stored_shared(
    client: Client,
    search: Search,
    spec: BandSpec,
    panel: list[numerics.PairOrigins],
    path: Path,
) -> Any:
    """The shared pools at the served band's calibrated horizons, stored for training (the file
    removed where the band calibrates on none); the same pools score the evaluation."""
    hours = [h for h in BAND_HOURS if spec.shared_for(h)]
    if not hours:
        path.unlink(missing_ok=True)
        return None
    future = search.shared(spec, hours)
    pools = future.result() if future is not None else {}
    store_pools(pools, numerics.weeks(panel), path)
    stored_pools.cache_clear()
    return stored_pools(path)


def report(
    names: list[str],
    summaries: dict[str, dict],
    results: list[tuple[pd.DataFrame, dict[str, int]]],
    spec: BandSpec,
    seconds: float,
) -> dict:
    per_pair, panel_rows = {}, []
    for name, (rows, gaps) in zip(names, results, strict=True):
        per_pair[name] = {
            **summaries[name],
            "band": spec.name,
            "horizons": {
                label: {
                    **pair_figures(rows[rows["horizon"] == label], horizon),
                    "skipped_across_gaps": gaps.get(label, 0),
                }
                for label, horizon in HORIZONS.items()
            },
        }
        if name != BTC:
            panel_rows.append(rows.assign(pair=name))
    pooled = pd.concat(panel_rows, ignore_index=True)
    return _finite(
        {
            "about": "Generated by `make panel` (python -m tools.panel); do not edit.",
            "band": spec.name,
            "seconds": round(seconds),
            "pairs": per_pair,
            "pooled": {
                label: pooled_figures(pooled[pooled["horizon"] == label], horizon)
                for label, horizon in HORIZONS.items()
            },
        }
    )


def _finite(value: Any) -> Any:
    """`value` with every NaN as null (JSON has no NaN)."""
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    if isinstance(value, float | np.floating) and not np.isfinite(value):
        return None
    if isinstance(value, np.integer | np.floating):
        return value.item()
    return value


if __name__ == "__main__":
    sys.exit(main())
