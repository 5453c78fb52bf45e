"""`make panel`: what every pair serves, decided on the 16 Binance spot pairs' whole history
(the damping, then the band, on their validation origins), written where training reads it
(`cryptopredict/model/panel_choice.json`, `panel_pool.npz`; `--keep` uses them as they are); the
full-strength peers' settings chosen on the validation origins too (`tools/candidates.py`); then
scored with BTC/USD's history on their evaluation origins against naive, the peers
(`tools/peers.py`) and re-anchored, and on their final test against the peers, into
`docs/panel.json`. Every step is tasks on the training cluster; docs/model.md ("Every spot pair:
the panel") says what each does and why.

    python -m tools.panel [--out docs/panel.json] [--pairs ADAUSDT,...] [--no-btc] [--keep]
"""

from __future__ import annotations

import argparse
import json
import logging
import operator
import os
import sys
import time
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pandas as pd
from distributed import Client, Future

from cryptopredict.artifact.schema import BandSpec
from cryptopredict.config import TrainingSettings
from cryptopredict.library import BTC, PAIRS_CSV, PEER_UNIT, PEERS, panel_job
from cryptopredict.model import panel_choice
from cryptopredict.model.band_spec import named
from cryptopredict.model.bands import BAND_HOURS
from cryptopredict.model.panel_choice import PANEL_POOL, stored_pools
from cryptopredict.model.plan import HORIZONS, Plan, seconds_of
from cryptopredict.training.cluster import training_client
from cryptopredict.training.tasks import run
from tools import candidates, peers
from tools import damping as designed
from tools import panel_search as numerics
from tools import panel_steps as chooser
from tools.panel_bars import COVERAGE, bars
from tools.panel_figures import (
    damping_figures,
    pair_figures,
    pooled_figures,
    relative_pooled,
    where_wide,
)
from tools.peer_bands import Settings

log = logging.getLogger("panel")

BINNED = "adaptive step per width bin"  # the search's last step (`gated`)
WIDE = "calibrated where it is wide"  # the step before it (`Search.held_where_wide`)


def setups(
    client: Client, names: list[str], csv: Path, settings: TrainingSettings
) -> dict[str, Future]:
    """Each pair's backtest setup (its history, prices and spans), made and kept on the
    cluster; a pair whose history cannot be read stops the panel, naming it."""
    prepared = {
        name: client.submit(
            run, "prepare", name, "INFO", panel_job(name, settings, csv), pure=False
        )
        for name in names
    }
    for name, future in prepared.items():
        if not hasattr(future.result(), "setup"):
            raise SystemExit(f"panel: {name}: {future.result().message}")
    return {
        name: client.submit(operator.attrgetter("setup"), future, pure=False)
        for name, future in prepared.items()
    }


def refitted(client: Client, setup: Future, origins: np.ndarray) -> list[Future]:
    """Prophet refitted at each of `origins`, a task each, where the pair's history is."""
    return [client.submit(numerics.refit, setup, int(t), pure=False) for t in origins]


def decide_damping(client: Client, pairs: dict[str, Future]) -> dict[str, Any]:
    """The damping chosen on the design's refits of `pairs`, with every candidate's evidence."""
    origins = dict(
        zip(
            pairs,
            client.gather(
                [client.submit(designed.design, setup, pure=False) for setup in pairs.values()]
            ),
            strict=True,
        )
    )
    errors = [
        client.submit(
            numerics.damping_errors, setup, origins[name], refitted(client, setup, origins[name])
        )
        for name, setup in pairs.items()
    ]
    rows = pd.concat(client.gather(errors), ignore_index=True)
    deciding = {label: HORIZONS[label] for label in designed.DECIDING}
    step = seconds_of(Plan().step)
    candidates = []
    for tau in designed.CANDIDATES:
        if tau == 0:
            continue
        mine = rows[rows["tau"] == designed.tau_label(tau)]
        candidates.append({"tau": tau, **damping_figures(mine, deciding, step)})
    chosen = chosen_damping(candidates)
    log.info(
        "panel: damping chosen: tau %s (%d candidates better than tau 0 beyond the critical value)",
        designed.tau_label(chosen),
        sum(c["verdict"] == "lower" for c in candidates),
    )
    return {
        "chosen": chosen,
        "design": f"per pair, {designed.DESIGN_REFITS} of its validation refit origins evenly "
        "spread (all where it has fewer); Prophet refitted at each as training refits it",
        "score": "absolute percentage error of the point forecast relative to tau 0's (the "
        "last close), sum over every pair's forecasts / sum of tau 0's - 1, per horizon; "
        "`relative`: its mean over the horizons, with the standard error clustered by time; "
        "lower is better, and a candidate replaces tau 0 only where `verdict` is `lower`",
        "horizons": list(designed.DECIDING),
        "pairs": len(pairs),
        "refits": int(sum(len(found) for found in origins.values())),
        "candidates": candidates,
    }


def chosen_damping(candidates: list[dict[str, Any]]) -> float | None:
    """Tau 0, unless a candidate is better beyond the critical value (`verdict` lower): then
    the best of those."""
    better = [candidate for candidate in candidates if candidate["verdict"] == "lower"]
    return min(better, key=operator.itemgetter("relative"))["tau"] if better else 0.0


def band_origins(client: Client, setups: dict[str, Future], tau: float | None) -> dict[str, Future]:
    """Each pair's band origins with the served point forecast at `tau` (Prophet refitted at
    every refit origin unless tau is 0: the panel's cost)."""
    out = {}
    for name, setup in setups.items():
        origins: Any = np.empty(0, dtype=np.int64)
        if tau != 0:
            origins = client.submit(operator.methodcaller("refit_origins"), setup).result()
        paths = refitted(client, setup, origins)
        out[name] = client.submit(numerics.pair_origins, name, setup, tau, origins, paths)
    return out


class Search:
    """The fixed search (`panel_steps.py`) on the pairs' validation origins, each candidate a task
    per pair on the cluster; the scores it chose by, stage by stage."""

    def __init__(self, client: Client, pairs: list[Future], days: float, weeks: np.ndarray) -> None:
        self.client, self.pairs, self.days, self.weeks = client, pairs, days, weeks
        self.stages: dict[str, dict] = {}
        self.labels = chooser.deciding(days)
        self.unbinned: BandSpec | None = None  # the band before the last step, its scores
        self.unbinned_scores: dict[str, float] = {}

    def run(self) -> BandSpec:
        starts = [named(chooser.START, window_days=w) for w in chooser.WINDOWS]
        windows = [chooser.uniform_pool(each, 180) for each in starts]
        spec = chooser.best(self.stage("volatility window", windows), self.labels)
        pools = {
            (days, shared): chooser.uniform_pool(spec, days, shared)
            for shared in chooser.SHARED
            for days in chooser.POOL_DAYS
        }
        by_pool = self.stage("calibration pool", pools)
        spec = chooser.with_pools(spec, chooser.per_horizon(by_pool, self.labels))
        mixes = {w: chooser.uniform_mix(spec, w) for w in chooser.MIX_WEIGHTS}
        by_weight = self.stage("empirical weight", mixes)
        spec = chooser.with_mix(spec, chooser.per_horizon(by_weight, self.labels))
        adapted = {
            step: named(spec, horizon_adapt=tuple((h, step) for h in chooser.HOURS.values()))
            for step in chooser.ADAPT_STEPS
        }
        by_step = self.stage("adaptive step", adapted)
        spec = named(spec, horizon_adapt=chooser.per_horizon(by_step, self.labels))
        powers = [named(spec, profile_power=power) for power in chooser.PROFILE_POWERS]
        by_power = self.stage("profile strength", powers)
        spec = chooser.best(by_power, self.labels)
        fast = [
            # a fast variance, today's variances from absolute returns
            named(spec, fast_half_life_hours=hours, fast_weight=weight, robust_variance=True)
            for hours in chooser.FAST_HALF_LIVES
            for weight in chooser.FAST_WEIGHTS
        ]
        spec, scored = self.kept_or_better("fast variance", spec, by_power[spec], fast)
        factored = [
            named(spec, profile_factored=True, profile_power=power)
            for power in chooser.PROFILE_POWERS
            if power > 0
        ]
        spec, scored = self.kept_or_better("factored profile", spec, scored, factored)
        ranged = [named(spec, range_variance=True)]  # each hour's move read from its range
        spec, scored = self.kept_or_better("range variance", spec, scored, ranged)
        # HAR-RV's spread, the strongest peer's intraday cascade, averaged in per horizon
        weights = {
            w: chooser.with_har(spec, tuple((h, w) for h in chooser.HOURS.values()))
            for w in chooser.HAR_WEIGHTS
            if w
        }
        by_weight = {0.0: scored, **self.stage("HAR-RV's weight", weights)}
        self.stages["HAR-RV's weight"]["weights"] = {str(w): by_weight[w] for w in by_weight}
        combined = chooser.with_har(spec, chooser.per_horizon(by_weight, self.labels))
        spec, scored = self.kept_or_better("HAR-RV's weight per horizon", spec, scored, [combined])
        spec, scored = self.held_where_wide(spec)
        self.unbinned, self.unbinned_scores = spec, scored
        binned = [chooser.with_binned_adapt(spec)]
        return self.kept_or_better(BINNED, spec, scored, binned)[0]

    def held_where_wide(self, spec: BandSpec) -> tuple[BandSpec, dict[str, float]]:
        """Issue 111: `spec` or, an hour ahead, `spec` on each pair's own errors (each of
        `POOL_DAYS`), as `panel_steps.held_where_wide` chooses on the validation origins."""
        options = [spec, *(chooser.own_at_hour(spec, days) for days in chooser.POOL_DAYS)]
        by_spec = self.stage(WIDE, options, wide=True)
        best = chooser.held_where_wide(options, by_spec, self.stages[WIDE]["held"])
        return best, by_spec[best]

    def kept_or_better(
        self, name: str, spec: BandSpec, scored: dict[str, float], candidates: list[BandSpec]
    ) -> tuple[BandSpec, dict[str, float]]:
        """The best of `spec` (its scores `scored`) and `candidates` (scored as stage `name`),
        with its scores."""
        by_spec = {spec: scored, **self.stage(name, candidates)}
        best = chooser.best(by_spec, self.labels)
        return best, by_spec[best]

    def stage(self, name: str, specs: Any, *, wide: bool = False) -> dict[Any, dict[str, float]]:
        """Each spec's pooled relative interval score per horizon on the validation origins (and
        `where_wide` with `wide`), by its option where `specs` is a dict of them, else by itself
        (every spec's tasks submitted at once, so that no worker waits between specs)."""
        options = specs if isinstance(specs, dict) else {spec: spec for spec in specs}
        tasks = {}
        for option, spec in options.items():
            shared = self.shared(spec, numerics.SCORED)
            tasks[option] = [
                self.client.submit(numerics.validation_scores, pair, spec, shared, pure=False)
                for pair in self.pairs
            ]
        scores, held = {}, {}
        for option, done in tasks.items():
            rows = pd.concat(self.client.gather(done), ignore_index=True)
            by_horizon = rows.groupby("horizon", sort=False)
            scores[option] = {label: relative_pooled(group) for label, group in by_horizon}
            if wide:
                held[options[option].name] = where_wide(rows)
        self.stages[name] = {
            "validation_days": self.days,
            "scores": {options[option].name: score for option, score in scores.items()},
            **({"held": held} if wide else {}),
        }
        log.info("panel: %s: %d candidates scored", name, len(options))
        return scores

    def shared(self, spec: BandSpec, hours: list[int]) -> Future | None:
        """The pools the pairs share at `hours`, where `spec` calibrates on them, calibrated at
        every week start (on the cluster, once per spec)."""
        if not any(spec.shared_for(h) for h in hours):
            return None
        inputs = [
            self.client.submit(numerics.pair_pool_inputs, pair, spec, hours, pure=False)
            for pair in self.pairs
        ]
        return self.client.submit(
            numerics.shared_calibrations, inputs, spec, self.weeks, pure=False
        )


def gated(
    client: Client, search: Search, spec: BandSpec, panel: list[numerics.PairOrigins]
) -> tuple[BandSpec, dict]:
    """The band the search's last step makes (its state per width bin) measured on the
    evaluation origins, and served only where the validation origins chose it and it holds the
    calibration's bars there (`panel_bars.bars`); else the band before that step. The band
    without it measured on the validation origins too (its 1-day width fifths): the slope any
    step chosen there could see."""
    assert search.unbinned is not None, "the search has not run"
    candidate = chooser.with_binned_adapt(search.unbinned)
    pooled = _pooled(client, search, candidate, panel, list(COVERAGE))
    found = bars(pooled)
    served = spec == candidate and found["holds"]
    log.info("panel: the last step %s: %s", "served" if served else "not served", found["breaches"])
    # The band without the step as the search scored it (calibrated at the scored horizons).
    slope = _slope(_pooled(client, search, search.unbinned, panel, ["1d"], validation=True)["1d"])
    return (candidate if served else search.unbinned), {
        "band": candidate.name,
        "chosen_on_validation": spec == candidate,
        "served": served,
        "validation": {
            "deciding": search.labels,
            "without": search.unbinned_scores,
            "with": search.stages[BINNED]["scores"][candidate.name],
            "1d_width_fifths": slope,
        },
        "evaluation": {label: _measured(figures) for label, figures in pooled.items()},
        "bars": found,
    }


def _pooled(
    client: Client,
    search: Search,
    spec: BandSpec,
    panel: list[numerics.PairOrigins],
    labels: list[str],
    *,
    validation: bool = False,
) -> dict[str, dict]:
    """`spec`'s figures at each horizon of `labels`, pooled over the panel's evaluation origins
    calibrated as served, at every band horizon (with `validation`, over its validation origins
    calibrated as the search scores them, at the scored horizons)."""
    span = "validation" if validation else "evaluation"
    if validation:
        shared = search.shared(spec, numerics.SCORED)
        hours = [p.dense.hours(numerics.SCORED) for p in panel]
    else:
        shared = search.shared(spec, [h for h in BAND_HOURS if spec.shared_for(h)])
        hours = [list(BAND_HOURS)] * len(panel)
    done = client.gather(
        [
            client.submit(numerics.outcomes, p, spec, shared, h, span, pure=False)
            for p, h in zip(search.pairs, hours, strict=True)  # the pairs where they are
        ]
    )
    return pooled_of(spot_rows([p.name for p in panel], done), labels)


def _slope(figures: dict) -> dict:
    return {
        "coverage_80_by_width_fifth": figures["coverage_80_by_width_fifth"],
        "coverage_80_trend": figures["coverage_80_trend"],
    }


def _measured(figures: dict) -> dict:
    """What the model page shows of a band measured beside the served one, at one horizon."""
    return {
        "relative": figures["relative"],
        "relative_se": figures["relative_se"],
        "coverage_80": figures["coverage"]["80"],
        "coverage_80_se": figures["coverage_se"]["80"],
        **_slope(figures),
    }


def chosen(
    search: Search, spec: BandSpec, damping: dict, names: list[str], dispersion: dict
) -> dict:
    return {
        "about": "Generated by `make panel` (python -m tools.panel); do not edit. Training "
        "reads `damping.chosen` and `band` (and, where the band calibrates on the panel's "
        "shared pool, panel_pool.npz); the rest says what they were chosen on, before any "
        "evaluation origin was scored.",
        "damping": damping,
        "band": msgspec.structs.asdict(spec),
        "pairs": names,
        "deciding_horizons": search.labels,
        "score": "80% interval score relative to the naive band's, (served - naive) / naive, "
        "pooled over the pairs' validation origins (every forecast alike); lower is better",
        "stages": search.stages,
        "dispersion": dispersion,
    }


def evaluated(
    client: Client,
    futures: dict[str, Future],
    spec: BandSpec,
    shared: Any,
    settings: Settings,
    *,
    peers_file: Path,
) -> Scored:
    """Every pair's outcomes on its evaluation origins and the spot pairs' on their final test,
    and the spot pairs' figures against the peers (the full-strength ones at `settings`) and
    re-anchored (`tools/peers.py`, pooled over them): per spot pair, its peers' bands a task,
    then its comparison (with its outcomes, from one served band) once the calibrated peers'
    pools, a task per peer, are made from every pair's; the peers' bands stored in `peers_file`."""
    ours = [name for name in futures if name != BTC]
    bands = {
        name: client.submit(peers.peer_bands, futures[name], spec, settings, pure=False)
        for name in ours
    }
    pools = {
        name: client.submit(peers.peer_pools, list(bands.values()), spec, name, pure=False)
        for name in peers.PEERS
    }
    tasks = {
        name: client.submit(peers.compared, pair, spec, shared, bands[name], pools, pure=False)
        if name in bands
        else client.submit(numerics.outcomes, pair, spec, shared, list(BAND_HOURS), pure=False)
        for name, pair in futures.items()
    }
    done = client.gather(tasks)
    results = [done[name][0] if name in bands else done[name] for name in futures]
    final = spot_rows(ours, [done[name][1] for name in ours])
    peer, reanchored = (pd.concat(done[name][k].assign(pair=name) for name in ours) for k in (2, 3))
    stored_peers(peer, peers_file)
    return results, {
        **peers.figures(peer, reanchored),
        "final_test_pooled": pooled_of(final),
        "where_wide": {"final_test": where_wide(final)},
    }


def stored_peers(rows: pd.DataFrame, path: Path) -> None:
    """The peers' 80% bands at every origin and horizon they are scored at, as
    `cryptopredict.cross_validation` reads them: each edge's log offset from the close in
    `PEER_UNIT`s, each column delta-encoded (5 MB, where floats would take 17)."""
    edges = [f"{name}-{side}-80" for name in peers.ROWS for side in ("lo", "hi")]
    units = rows[edges].div(PEER_UNIT).round().astype("Int32")
    delta = dict.fromkeys(["origin", *edges], "DELTA_BINARY_PACKED")
    kept = pd.concat([rows[["pair", "origin", "horizon"]], units], axis=1)
    kept.to_parquet(
        path,
        index=False,
        compression="zstd",
        use_dictionary=["pair", "horizon"],
        column_encoding=delta,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.panel", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("docs/panel.json"))
    parser.add_argument("--pairs", help="comma-separated symbols (default: every pair)")
    parser.add_argument("--no-btc", action="store_true", help="leave BTC/USD's history out")
    parser.add_argument("--csv", type=Path, default=PAIRS_CSV, help="the hourly pairs (long CSV)")
    parser.add_argument(
        "--keep", action="store_true", help="use the damping and band recorded: choose nothing"
    )
    parser.add_argument("--choice-file", type=Path, default=panel_choice.PANEL_CHOICE)
    parser.add_argument("--pool-file", type=Path, default=PANEL_POOL)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    started, load = time.monotonic(), os.getloadavg()
    symbols = (
        args.pairs.split(",")
        if args.pairs
        else sorted(pd.read_csv(args.csv, usecols=["symbol"])["symbol"].unique())
    )
    names = [*symbols, *([] if args.no_btc else [BTC])]
    settings = TrainingSettings.from_env()
    with training_client(settings) as client:
        found = setups(client, names, args.csv, settings)
        if args.keep:
            damping = json.loads(args.choice_file.read_text())["damping"]
        else:
            damping = decide_damping(client, {n: s for n, s in found.items() if n != BTC})
        tau = damping["chosen"]
        served = Served(args, client, band_origins(client, found, tau), damping)
        spec, dispersion, shared = served.recorded() if args.keep else served.chosen()
        peers_file = args.out.with_name(PEERS.name)
        results, versus_peers = evaluated(
            client, served.futures, spec, shared, served.peers(spec), peers_file=peers_file
        )
        about = client.gather(
            [client.submit(numerics.described, found[name], tau) for name in served.names]
        )
    held = json.loads(args.choice_file.read_text())["stages"].get(WIDE, {}).get("held", {})
    versus_peers["where_wide"]["validation"] = held.get(named(spec, adapt_binned=False).name)
    result = report(
        served.names,
        dict(zip(served.names, about, strict=True)),
        results,
        spec=spec,
        damping=damping,
        compared={
            **versus_peers,
            "peer_settings": served.settings,
            "dispersion": dispersion,
            "load_average": {"start": load, "end": os.getloadavg()},
        },
        seconds=time.monotonic() - started,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # msgspec writes NaN as null (JSON has no NaN), numpy's scalars as what their item() is.
    encoded = msgspec.json.encode(result, enc_hook=operator.methodcaller("item"))
    args.out.write_bytes(msgspec.json.format(encoded, indent=1) + b"\n")
    log.info("wrote %s in %.0f s", args.out, time.monotonic() - started)
    return 0


Scored = tuple[list[tuple[pd.DataFrame, dict[str, int]]], dict]  # `evaluated`'s


class Served:
    """The band every pair serves and its evaluation: as recorded (`--keep`), or chosen by the
    search, written where training reads it, then scored."""

    def __init__(
        self, args: argparse.Namespace, client: Client, futures: dict[str, Future], damping: dict
    ) -> None:
        self.args, self.client, self.futures, self.damping = args, client, futures, damping
        self.names = list(futures)
        self.panel = [futures[name] for name in self.names if name != BTC]
        self.local: list[numerics.PairOrigins] = client.gather(self.panel)
        self.settings: dict = {}  # the full-strength peers' settings' evidence (`peers`)

    def recorded(self) -> tuple[BandSpec, dict | None, Any]:
        """The band recorded, what it recorded of its last step, and the pools it shares."""
        spec = panel_choice.panel_band(path=self.args.choice_file)
        assert spec is not None, f"{self.args.choice_file} holds no band: run without --keep"
        dispersion = json.loads(self.args.choice_file.read_text()).get("dispersion")
        return spec, dispersion, stored_pools(self.args.pool_file)

    def chosen(self) -> tuple[BandSpec, dict, Any]:
        """The search's band, its last step served only where the band with it holds the
        calibration's bars (`gated`)."""
        days = min(
            (p.dense.times[p.validation][-1] - p.dense.times[p.validation][0]) / 86_400
            for p in self.local
        )
        search = Search(self.client, self.panel, float(days), numerics.weeks(self.local))
        spec, dispersion = gated(self.client, search, search.run(), self.local)
        choice = chosen(search, spec, self.damping, self.names, dispersion)
        self.args.choice_file.write_text(json.dumps(choice, indent=1) + "\n")
        log.info("panel: band chosen: %s (%s)", spec.name, self.args.choice_file)
        return spec, dispersion, _stored_shared(search, spec, self.args.pool_file)

    def peers(self, spec: BandSpec) -> Settings:
        """The full-strength peers' settings, chosen on the validation origins beside `spec`'s
        band (`tools/candidates.py`), their evidence kept in `settings`."""
        search = Search(self.client, self.panel, 0.0, numerics.weeks(self.local))
        pairs = {name: self.futures[name] for name in self.names if name != BTC}
        shared = search.shared(spec, numerics.SCORED)
        found, self.settings = candidates.chosen(self.client, pairs, spec, shared)
        return found


def _stored_shared(search: Search, spec: BandSpec, path: Path) -> Any:
    """The shared pools at the served band's calibrated horizons, stored for training (the file
    removed where the band calibrates on none); the same pools score the evaluation."""
    hours = [h for h in BAND_HOURS if spec.shared_for(h)]
    if not hours:
        path.unlink(missing_ok=True)
        return None
    future = search.shared(spec, hours)
    numerics.store_pools(future.result() if future is not None else {}, path)
    stored_pools.cache_clear()
    return stored_pools(path)


def report(
    names: list[str],
    summaries: dict[str, dict],
    results: list[tuple[pd.DataFrame, dict[str, int]]],
    *,
    spec: BandSpec,
    damping: dict,
    compared: dict,
    seconds: float,
) -> dict:
    per_pair = {}
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
    rows = spot_rows(names, results)
    pooled = pooled_of(rows)
    wide = {**compared["where_wide"], "evaluation": where_wide(rows)}
    return {
        "about": "Generated by `make panel` (python -m tools.panel); do not edit.",
        "band": spec.name,
        "damping": damping,
        "seconds": round(seconds),
        "pairs": per_pair,
        "pooled": pooled,
        "bars": bars(pooled, compared["final_test"]),
        **compared,
        "where_wide": wide,
    }


def spot_rows(names: list[str], results: list[tuple[pd.DataFrame, dict[str, int]]]) -> pd.DataFrame:
    """The spot pairs' rows, each with its pair (BTC/USD's history left out)."""
    return pd.concat(
        [
            frame.assign(pair=name)
            for name, (frame, _) in zip(names, results, strict=True)
            if name != BTC
        ],
        ignore_index=True,
    )


def pooled_of(rows: pd.DataFrame, labels: Any = HORIZONS) -> dict:
    """Per horizon of `labels`, the figures of `rows` (`spot_rows`) pooled."""
    return {
        label: pooled_figures(rows[rows["horizon"] == label], HORIZONS[label]) for label in labels
    }


if __name__ == "__main__":
    sys.exit(main())
