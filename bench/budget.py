"""Issue 50's bars 1 to 3: the release's training with a budget, on eight whole-history hourly
spot pairs (`../shared/data/binance-spot-16pairs-1h-full.csv.gz`: ADA, BTC, DOGE, ETH, LINK,
NEAR, SOL and XRP against USDT, from `train.py`'s default `--since`, 2021-01-01, as the release
fetches them), offline, `train.py --all --csv` in a fresh process each time, on a local cluster
of one worker a core:

1. cold, without a budget, on the file cut at T (the file's last bar less `STEP` times the most
   runs there can be): the wall time C, and the workers' CPU;
2. with an empty fit cache and `--budget` (6 minutes), on the file cut at T, T + 6 h, T + 12 h,
   ... (a release every six hours), each into a fresh model directory (a fresh image): the wall
   time (bar: within 9 minutes), the exit status (bar: 0), what `run.json` and `/assets`
   (`python api.py` on the model directory) say of each pair, backtested or quick with why
   (bar: every pair served and named), and how many pairs are backtested (bar: strictly more
   than the run before, until all eight are); it stops once all eight are;
3. one more run six hours later, everything cached: its wall time (bar: at most 25% of C).

`--estimate` trains one pair cold on one worker, without a budget, and prints what the eight
would cost (run it before the timed run, to plan it). `--runs N --skip-cold` measures the first
N budgeted runs alone (bar 1 but C, the start of bar 2): a short timed run. Prints a table
with the load average before and after each run, and writes `reports/bench-budget.json`; run
it under `heavy --all`.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.run import API, running, wait_until_ready

ROOT = Path(__file__).resolve().parents[1]
# The shared data sets beside the checkout (`../shared/data`; a worktree's a level further up).
SHARED = next(
    (
        folder / "shared" / "data"
        for folder in ROOT.parents
        if (folder / "shared" / "data").is_dir()
    ),
    ROOT.parent / "shared" / "data",
)
SPOT = SHARED / "binance-spot-16pairs-1h-full.csv.gz"
SYMBOLS = ("ADA", "BTC", "DOGE", "ETH", "LINK", "NEAR", "SOL", "XRP")
SINCE = "2021-01-01T00:00:00Z"  # train.py's default --since, the release's
STEP = timedelta(hours=6)  # a release every six hours
# Budgeted runs before giving up on "all eight backtested": a cold pair may take 15 core-minutes,
# a 6-minute run on two cores some 11 of them after the quick models.
MOST_RUNS = 16
WORK = ROOT / ".cache" / "bench-budget"
REPORT = ROOT / "reports" / "bench-budget.json"
REFITTED = re.compile(
    r"(?P<pair>[\w-]+): backtest: Prophet refitted at (?P<origins>\d+) origins .*: "
    r"(?P<cached>\d+) from the cache, (?P<fitted>\d+) to fit"
)


@dataclass
class Run:
    name: str
    until: str
    budget: str | None
    seconds: float
    status: int
    workers_cpu: float  # the train.py process tree's CPU seconds (its workers, Stan included)
    load: tuple[float, float]  # 1-minute load average before and after
    backtested: list[str] = field(default_factory=list)
    quick: dict[str, str] = field(default_factory=dict)  # pair: why
    failed: dict[str, str] = field(default_factory=dict)
    assets_quick: dict[str, str | None] = field(default_factory=dict)  # /assets' `quick`
    # What each pair's backtest planned when it started: refits to fit, and found in the cache
    # (a budget that ends stops the fitting part-way: `fits_kept` counts what was fitted).
    refits_to_fit: dict[str, int] = field(default_factory=dict)
    refits_cached: dict[str, int] = field(default_factory=dict)
    fits_kept: int = 0  # the fit cache's entries after the run
    tau: dict[str, float | None] = field(default_factory=dict)  # the damping chosen


def slugs() -> list[str]:
    return [f"{symbol.lower()}-usdt" for symbol in SYMBOLS]


def read_rows() -> tuple[str, list[str]]:
    """The header and the eight pairs' rows from SINCE on."""
    wanted = tuple(f"{symbol}USDT," for symbol in SYMBOLS)
    with gzip.open(SPOT, "rt") as file:
        header = file.readline().rstrip("\n")
        rows = [
            line.rstrip("\n")
            for line in file
            if line.startswith(wanted) and line.split(",", 2)[1] >= SINCE
        ]
    return header, rows


def cut(header: str, rows: list[str], until: str, target: Path) -> Path:
    """The rows whose bar opened by `until` (ISO strings in one format sort as times do)."""
    target.write_text("\n".join([header, *(r for r in rows if r.split(",", 2)[1] <= until)]) + "\n")
    return target


def last_bar(rows: list[str]) -> datetime:
    return min(  # the pairs' common last bar
        max(_when(r) for r in rows if r.startswith(f"{symbol}USDT,")) for symbol in SYMBOLS
    )


def _when(row: str) -> datetime:
    return datetime.strptime(row.split(",", 2)[1], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def train(
    name: str, csv: Path, *, fits: Path, out: Path, budget: str | None, pairs: list[str],
    workers: int | None = None,
) -> Run:  # fmt: skip
    """`train.py --all --csv csv` in a fresh process; what it did."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DASK_SCHEDULER_ADDRESS", "ASSETS", "FIT_CACHE", "TRAIN_BUDGET"}
    }
    environment |= {
        "ASSETS": ",".join(pairs),
        "FIT_CACHE": str(fits),
        "CRYPTOPREDICT_CACHE": str(WORK / "history"),
        "LOG_LEVEL": "INFO",
    }
    if workers is not None:
        environment["TRAIN_WORKERS"] = str(workers)
    command = [sys.executable, "train.py", "--all", "--csv", str(csv), "--out", str(out)]
    if budget is not None:
        command += ["--budget", budget]
    log = WORK / f"{name}.log"
    before = os.getloadavg()[0]
    started = time.monotonic()
    with log.open("w") as sink:
        process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=sink, stderr=sink)
        _, status, usage = os.wait4(process.pid, 0)
    seconds = time.monotonic() - started
    run = Run(
        name=name,
        until=csv.stem.removeprefix("until-"),
        budget=budget,
        seconds=seconds,
        status=os.waitstatus_to_exitcode(status),
        workers_cpu=usage.ru_utime + usage.ru_stime,
        load=(before, os.getloadavg()[0]),
    )
    _read_record(run, out)
    _read_log(run, log.read_text())
    run.fits_kept = sum(1 for _ in fits.rglob("*.npy"))
    return run


def _read_record(run: Run, out: Path) -> None:
    record = json.loads((out / "run.json").read_text()) if (out / "run.json").exists() else {}
    run.quick = {pair["asset"]: pair["why"] for pair in record.get("quick", [])}
    run.failed = {pair["asset"]: pair["reason"] for pair in record.get("failed", [])}
    run.backtested = [pair for pair in record.get("trained", []) if pair not in run.quick]
    for pair in run.backtested:
        manifest = json.loads((out / pair / "manifest.json").read_text())
        run.tau[pair] = manifest["params"]["damping_hours"]


def _read_log(run: Run, text: str) -> None:
    for found in REFITTED.finditer(text):
        pair = found["pair"]
        run.refits_to_fit[pair] = run.refits_to_fit.get(pair, 0) + int(found["fitted"])
        run.refits_cached[pair] = run.refits_cached.get(pair, 0) + int(found["cached"])


def assets_quick(out: Path) -> dict[str, str | None]:
    """What `/assets` says of each served pair: why it is quick (None: backtested)."""
    with running(API, out) as (_, base):
        wait_until_ready(base + "/healthz", timeout=60)
        with urllib.request.urlopen(base + "/assets?limit=1000", timeout=30) as answer:
            listing = json.load(answer)
    return {entry["asset"]: entry["quick"] for entry in listing["assets"]}


def estimate() -> int:
    """One pair cold on one worker: what the eight would cost on two."""
    WORK.mkdir(parents=True, exist_ok=True)
    header, rows = read_rows()
    csv = cut(header, rows, _iso(last_bar(rows)), WORK / "until-estimate.csv")
    shutil.rmtree(WORK / "fits-estimate", ignore_errors=True)
    run = train(
        "estimate", csv, fits=WORK / "fits-estimate", out=WORK / "models-estimate",
        budget=None, pairs=["ada-usdt"], workers=1,
    )  # fmt: skip
    print(json.dumps(asdict(run), indent=1))
    print(
        f"ada-usdt cold on one worker: {run.seconds:.0f} s, {run.workers_cpu:.0f} CPU s; eight "
        f"such pairs on two workers: about {8 * run.workers_cpu / 2 / 60:.0f} min"
    )
    return run.status


def measure(budget: str, *, most_runs: int = MOST_RUNS + 1, cold_too: bool = True) -> dict:
    WORK.mkdir(parents=True, exist_ok=True)
    header, rows = read_rows()
    last = last_bar(rows)
    first = last - STEP * (MOST_RUNS + 1)  # T: the same whatever runs are measured
    pairs = slugs()
    for stale in ("fits-cold", "fits-budget"):
        shutil.rmtree(WORK / stale, ignore_errors=True)
    csv = cut(header, rows, _iso(first), WORK / f"until-{_iso(first)}.csv")
    cold = None
    if cold_too:
        cold = train("cold", csv, fits=WORK / "fits-cold", out=WORK / "models-cold",
                     budget=None, pairs=pairs)  # fmt: skip
        _say(cold)
    runs: list[Run] = []
    for number in range(most_runs):
        until = first + STEP * number
        csv = cut(header, rows, _iso(until), WORK / f"until-{_iso(until)}.csv")
        out = WORK / f"models-{number}"
        shutil.rmtree(out, ignore_errors=True)  # a fresh image each release
        every_one = bool(runs) and len(runs[-1].backtested) == len(pairs)
        run = train(
            "cached" if every_one else f"budget-{number}", csv, fits=WORK / "fits-budget",
            out=out, budget=budget, pairs=pairs,
        )  # fmt: skip
        run.assets_quick = assets_quick(out)
        runs.append(run)
        _say(run)
        if every_one or run.status != 0:
            break
    report = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "budget": budget,
        "pairs": pairs,
        "cold": None if cold is None else asdict(cold),
        "runs": [asdict(run) for run in runs],
        "sizes_mb": {name: _mb(WORK / name) for name in ("fits-budget", "history")},
    }
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(json.dumps(report, indent=1) + "\n")
    print(table(cold, runs))
    return report


def _mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def _say(run: Run) -> None:
    print(
        f"{run.name} (until {run.until}): {run.seconds:.0f} s, exit {run.status}, "
        f"{len(run.backtested)} backtested, {len(run.quick)} quick, {len(run.failed)} failed; "
        f"workers {run.workers_cpu:.0f} CPU s; load {run.load[0]:.2f} to {run.load[1]:.2f}",
        flush=True,
    )


def table(cold: Run | None, runs: list[Run]) -> str:
    lines = [
        "| run | bars until | budget | wall s | exit | backtested | quick (why) | "
        "refits to fit / cached (planned) | fits kept | workers' CPU s | load before / after |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in [*([cold] if cold else []), *runs]:
        whys = sorted(set(run.quick.values()))
        lines.append(
            f"| {run.name} | {run.until} | {run.budget or 'none'} | {run.seconds:.0f} | "
            f"{run.status} | {len(run.backtested)} | {len(run.quick)} ({', '.join(whys)}) | "
            f"{sum(run.refits_to_fit.values())} / {sum(run.refits_cached.values())} | "
            f"{run.fits_kept} | "
            f"{run.workers_cpu:.0f} | {run.load[0]:.2f} / {run.load[1]:.2f} |"
        )
    cached = runs[-1]
    if cold is None or cached.name != "cached":
        return "\n".join(lines)
    lines.append(
        f"\nC = {cold.seconds:.0f} s; the all-cached run {cached.seconds:.0f} s = "
        f"{cached.seconds / cold.seconds:.0%} of C"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.budget", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--budget", default="6m", help="train.py --budget of each run (6m)")
    parser.add_argument("--estimate", action="store_true", help="one pair cold, one worker")
    parser.add_argument(
        "--runs",
        type=int,
        default=MOST_RUNS + 1,
        help=f"at most this many runs with the budget, the all-cached one too ({MOST_RUNS + 1})",
    )
    parser.add_argument("--skip-cold", action="store_true", help="no cold run: C not measured")
    args = parser.parse_args(argv)
    if not SPOT.exists():
        print(f"{SPOT} is not here: the shared data sets are beside the checkout", file=sys.stderr)
        return 2
    if args.estimate:
        return estimate()
    report = measure(args.budget, most_runs=args.runs, cold_too=not args.skip_cold)
    return 0 if all(run["status"] == 0 for run in report["runs"]) else 1


if __name__ == "__main__":
    sys.exit(main())
