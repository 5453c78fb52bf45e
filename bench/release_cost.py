"""A release's training cost per pair, with no cache of any kind (issue 59, bar 1): `train.py
--all --csv ../shared/data/binance-spot-16pairs-1h-full.csv.gz` on eight pairs (ADA, BTC, DOGE,
ETH, LINK, NEAR, SOL and XRP against USDT, from train.py's default `--since`, as the release
trains them) in a fresh process with an empty history store, `--runs` times: the workers' CPU
seconds a pair (its process tree's less the client's: the workers, their Stan processes), the
client's, the wall time, and from the median what 202 such pairs cost on a 4-core runner (the
release's `top:200`, BTC/USD and ETH/USD). Prints a table with the load average each run had;
writes `reports/bench-release-cost.json`.

    python -m bench.release_cost [--csv PATH] [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.market import train

ROOT = Path(__file__).parents[1]
CSV = ROOT.parent / "shared" / "data" / "binance-spot-16pairs-1h-full.csv.gz"
PAIRS = ("ada", "btc", "doge", "eth", "link", "near", "sol", "xrp")
RELEASE_PAIRS = 202
RUNNER_CORES = 4
REPORT = ROOT / "reports" / "bench-release-cost.json"


def measure(csv: Path) -> dict[str, float]:
    """One cold run of the eight pairs: its figures, a pair's being the mean over them."""
    assets = ",".join(f"{base}-usdt" for base in PAIRS)
    with tempfile.TemporaryDirectory(prefix="bench-release-") as scratch:
        root = Path(scratch)
        before = os.getloadavg()[0]
        started = time.time()
        seconds, tree, client = train(
            csv, assets, cache=root / "history", out=root / "models", log=root / "train.log"
        )
        return {
            "started": started,
            "seconds": seconds,
            "workers_cpu_per_pair": (tree - client) / len(PAIRS),
            "client_cpu": client,
            "load_before": before,
            "load_after": os.getloadavg()[0],
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.release_cost", description=__doc__)
    parser.add_argument("--csv", type=Path, default=CSV)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    runs = []
    for n in range(args.runs):
        run = measure(args.csv)
        runs.append(run)
        print(
            f"run {n + 1}: {len(PAIRS)} pairs in {run['seconds']:.0f} s, workers "
            f"{run['workers_cpu_per_pair']:.1f} CPU s a pair, client {run['client_cpu']:.1f} CPU "
            f"s; load average {run['load_before']:.2f} to {run['load_after']:.2f}",
            flush=True,
        )
    per_pair = [run["workers_cpu_per_pair"] for run in runs]
    median = statistics.median(per_pair)
    release = RELEASE_PAIRS * median / RUNNER_CORES / 60
    summary = {
        "pairs": list(PAIRS),
        "csv": args.csv.name,
        "runs": runs,
        "workers_cpu_per_pair_median": median,
        "workers_cpu_per_pair_range": [min(per_pair), max(per_pair)],
        "release_minutes_on_4_cores": release,
    }
    print(
        f"median {median:.1f} CPU s a pair (range {min(per_pair):.1f} to {max(per_pair):.1f}): "
        f"{RELEASE_PAIRS} pairs take about {release:.0f} minutes of a {RUNNER_CORES}-core runner"
    )
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(json.dumps(summary, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
