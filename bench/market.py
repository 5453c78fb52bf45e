"""The market image's bars (issue 45), each one command, on the shared data of many pairs:
`../shared/data/binance-perp-206pairs-1d.csv.gz` (206 daily perpetual-futures pairs, trained as
`<base>-usd`) and `data/binance-spot-16pairs-1h.csv.gz` (16 hourly spot pairs, two years,
trained as `<base>-usdt`), one model directory of 222 pairs.

- `python -m bench.market cache` (bar 1): `train.py --all` on both files with their last day
  removed, then again on the whole files with the same history store: the second run's wall time
  against the first's (bar: at most 25%), and the workers' CPU seconds a pair, daily and hourly,
  cold and warm; from the hourly ones, a cold and a warm release (202 pairs) on a 4-core
  GitHub runner and the workers 1,612 pairs need inside six hours (docs/performance.md).
  Leaves the 222-pair model directory for the others. `--daily N --hourly M`: only the first
  N and M pairs (a quick look, into `.cache/bench-market/models-subset`).
- `python -m bench.market serve` (bar 2): `python api.py` on the 222 pairs against the same on 2
  of them: resident memory after one request to every pair (bar: at most 1.25x), `/assets`
  latency (bar: under 100 ms) and `/healthz`'s size (bar: under 64 KiB).
- `python -m bench.market sizes` (bar 3): the files the image holds of each hourly pair (bar:
  each at most 1.5 MB); `--models DIR` measures another model directory (issue 68's five-year
  pairs, docs/performance.md).

Each prints a table with the load average it ran at and writes `reports/bench-market-*.json`.
Figures taken while the machine does other work move with that work: re-measure on idle cores.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil

from bench.run import API, resident_mb, running, wait_until_ready
from bench.scale_serving import pair_set

ROOT = Path(__file__).parents[1]
SHARED = ROOT.parent / "shared" / "data"
DAILY = ROOT / "bench" / "data" / "binance-perp-206pairs-1d.csv.gz"
HOURLY = ROOT / "data" / "binance-spot-16pairs-1h.csv.gz"
WORK = ROOT / ".cache" / "bench-market"
MODELS = WORK / "models"
REPORTS = ROOT / "reports"
# The daily file's 2025-10-10 crash put many lows far below the previous close: real wicks
# (bench/scale_training.py), so training here accepts them as the scale benchmark does.
MAX_BAR_JUMP = 25.0
DAY = 86_400


@dataclass(frozen=True)
class Run:
    file: str
    cache: str  # "cold" or "warm"
    pairs: int
    seconds: float
    workers_cpu: float  # the train.py process tree's CPU seconds, less the client's own
    client_cpu: float
    load: tuple[float, float]  # 1-minute load average before and after

    @property
    def cpu_per_pair(self) -> float:
        return self.workers_cpu / self.pairs


def _symbols(path: Path) -> list[str]:
    with gzip.open(path, "rt") as file:
        return sorted({line.split(",", 1)[0] for line in file if not line.startswith("symbol,")})


def subset(source: Path, target: Path, symbols: list[str], *, drop_last_day: bool) -> None:
    """`source`'s rows of `symbols`, without those of its last 24 hours when asked (the last
    bar's time minus a day: the daily file's last day, the hourly file's last 24 bars)."""
    with gzip.open(source, "rt") as file:
        header, *rows = file.read().splitlines()
    wanted = set(symbols)
    rows = [row for row in rows if row.split(",", 1)[0] in wanted]
    if not drop_last_day:
        target.write_text("\n".join([header, *rows]) + "\n")
        return
    times = [row.split(",", 2)[1] for row in rows]
    last = max(times)
    cutoff = time.strftime(
        "%Y-%m-%dT%H:%M:%SZ", time.gmtime(_epoch(last) - DAY)
    )  # ISO strings in one format sort as the times do
    kept = [row for row, when in zip(rows, times, strict=True) if when <= cutoff]
    target.write_text("\n".join([header, *kept]) + "\n")


def _epoch(iso: str) -> int:
    return int(time.mktime(time.strptime(iso, "%Y-%m-%dT%H:%M:%SZ")) - time.timezone)


def assets_of(path: Path, symbols: list[str]) -> str:
    """The pairs, named as here: the spot file's `<base>-usdt`, the perpetuals by the product's
    convention (`<base>-usd`: what `ASSETS='*'` names them)."""
    if path == HOURLY:
        return ",".join(f"{symbol.removesuffix('USDT').lower()}-usdt" for symbol in symbols)
    return "*"


def train(
    csv: Path, assets: str, *, cache: Path, out: Path, log: Path
) -> tuple[float, float, float]:
    """`train.py --all --csv csv` in a fresh process, its history store in `cache`: its wall
    seconds, the CPU seconds of its process tree (its workers and their Stan processes included)
    and of the client alone."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DASK_SCHEDULER_ADDRESS", "ASSETS", "CRYPTOPREDICT_CACHE"}
    }
    environment |= {
        "ASSETS": assets,
        "CRYPTOPREDICT_CACHE": str(cache),
        "LOG_LEVEL": "INFO",
        "MAX_BAR_JUMP": str(MAX_BAR_JUMP),
    }
    command = [sys.executable, "train.py", "--all", "--csv", str(csv), "--out", str(out)]
    started = time.monotonic()
    with log.open("w") as sink:
        process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=sink, stderr=sink)
        own = _follow_own_cpu(process.pid)
        _, status, usage = os.wait4(process.pid, 0)
    seconds = time.monotonic() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"training failed ({status}); see {log}:\n{log.read_text()[-3000:]}")
    tree = usage.ru_utime + usage.ru_stime
    return seconds, tree, own()


def _follow_own_cpu(pid: int) -> Callable[[], float]:
    """Samples the process's own CPU seconds (not its children's) until it exits."""
    last = [0.0]
    process = psutil.Process(pid)

    def sample() -> None:
        while True:
            try:
                times = process.cpu_times()
            except psutil.Error:
                return
            last[0] = times.user + times.system
            time.sleep(0.5)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()

    def result() -> float:
        thread.join(timeout=5)
        return last[0]

    return result


def measure_cache(counts: dict[Path, int | None], models: Path) -> list[Run]:
    """Cold then warm, each the daily file then the hourly one (the first `counts[file]` pairs
    of each, or all), into `models`."""
    WORK.mkdir(parents=True, exist_ok=True)
    cache = WORK / "history"
    for stale in (cache, models):
        if stale.exists():
            subprocess.run(["rm", "-rf", str(stale)], check=True)
    runs = []
    for cache in ("cold", "warm"):
        for source, count in counts.items():
            name = "daily" if source == DAILY else "hourly"
            symbols = _symbols(source)[:count]
            csv = WORK / f"{name}-{cache}.csv"
            subset(source, csv, symbols, drop_last_day=cache == "cold")
            before = os.getloadavg()[0]
            log = WORK / f"train-{cache}-{name}.log"
            assets = assets_of(source, symbols)
            seconds, tree, client = train(csv, assets, cache=cache, out=models, log=log)
            pairs = len(symbols)
            load = (before, os.getloadavg()[0])
            run = Run(name, cache, pairs, seconds, tree - client, client, load)
            runs.append(run)
            print(
                f"{cache} {name}: {pairs} pairs in {seconds:.0f} s, workers "
                f"{run.workers_cpu:.0f} CPU s ({run.cpu_per_pair:.1f} a pair), client "
                f"{client:.1f} CPU s; load average {load[0]:.1f} to {load[1]:.1f}",
                flush=True,
            )
    return runs


def cache_table(runs: list[Run]) -> str:
    cold = sum(run.seconds for run in runs if run.cache == "cold")
    warm = sum(run.seconds for run in runs if run.cache == "warm")
    lines = [
        "| run | pairs | wall s | workers' CPU s | CPU s a pair | client CPU s | load average |",
        "|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        lines.append(
            f"| {run.cache} {run.file} | {run.pairs} | {run.seconds:.0f} | "
            f"{run.workers_cpu:.0f} | {run.cpu_per_pair:.1f} | {run.client_cpu:.1f} | "
            f"{run.load[0]:.1f} to {run.load[1]:.1f} |"
        )
    ratio = warm / cold
    verdict = "holds" if ratio <= 0.25 else "does NOT hold"
    lines += [
        "",
        f"warm (whole files, the cache of the first run) {warm:.0f} s against cold (without the "
        f"last day) {cold:.0f} s: {ratio:.1%} (bar: at most 25%; {verdict}).",
        "",
        release_table(runs),
    ]
    return "\n".join(lines)


# The release: `top:200` (hourly USDT pairs) plus BTC/USD and ETH/USD, on a GitHub-hosted
# runner (4 cores: a local cluster of 4 single-threaded workers), every six hours.
RELEASE_PAIRS = 202
RUNNER_CORES = 4
CYCLE = 6 * 3600
MARKET_PAIRS = 1612


def release_estimate(runs: list[Run]) -> dict[str, dict[str, float]]:
    """From the measured workers' CPU seconds a pair (hourly, cold and warm): the release's wall
    seconds on the runner, as if its 4 workers were busy throughout, and the workers that keep
    1,612 pairs inside six hours. A lower bound: no start-up, no straggler at the end."""
    estimate = {}
    for cache in ("cold", "warm"):
        measured = [run for run in runs if run.cache == cache and run.file == "hourly"]
        if not measured:
            continue
        per_pair = sum(run.workers_cpu for run in measured) / sum(run.pairs for run in measured)
        estimate[cache] = {
            "cpu_per_pair": per_pair,
            "release_seconds": RELEASE_PAIRS * per_pair / RUNNER_CORES,
            "workers_for_market": math.ceil(MARKET_PAIRS * per_pair / CYCLE),
        }
    return estimate


def release_table(runs: list[Run]) -> str:
    lines = [
        f"The release ({RELEASE_PAIRS} hourly pairs, {RUNNER_CORES} workers on a GitHub runner) "
        "and 1,612 pairs, from the hourly workers' CPU seconds a pair:",
        "",
        "| cache | CPU s a pair | release on the runner, h | inside 6 h | workers for 1,612 |",
        "|---|---|---|---|---|",
    ]
    for cache, figures in release_estimate(runs).items():
        hours = figures["release_seconds"] / 3600
        lines.append(
            f"| {cache} | {figures['cpu_per_pair']:.0f} | {hours:.2f} | "
            f"{_verdict(figures['release_seconds'] <= CYCLE)} | "
            f"{figures['workers_for_market']:.0f} |"
        )
    return "\n".join(lines)


@dataclass
class Served:
    pairs: int
    rss_started_mb: float = 0.0  # once /healthz answers
    rss_after_mb: float = 0.0  # after one /forecast request to every pair
    assets_ms: list[float] = field(default_factory=list)  # /assets, every pair listed
    assets_bytes: int = 0
    healthz_bytes: int = 0
    load: tuple[float, float] = (0.0, 0.0)

    @property
    def assets_p50_ms(self) -> float:
        return statistics.median(self.assets_ms)


ASSETS_ROUNDS = 30
BAR_MEMORY, BAR_ASSETS_MS, BAR_HEALTHZ = 1.25, 100.0, 64 * 1024


def measure_serving(models: Path, rounds: int) -> list[Served]:
    """`python api.py` on 2 of the pairs, then on all of them (twice each, interleaved)."""
    entries = json.loads((models / "index.json").read_text())["assets"]
    slugs = sorted(entries)
    figures: dict[int, list[Served]] = {2: [], len(slugs): []}
    with tempfile.TemporaryDirectory(prefix="bench-market-") as scratch:
        two = pair_set(models, ["btc-usdt", slugs[0]] if "btc-usdt" in slugs else slugs[:2],
                       Path(scratch))  # fmt: skip
        for _ in range(rounds):
            for directory in (two, models):
                found = serve_once(directory)
                figures[found.pairs].append(found)
                print(
                    f"{found.pairs} pairs: {found.rss_started_mb:.1f} MB started, "
                    f"{found.rss_after_mb:.1f} MB after a request to each; /assets "
                    f"{found.assets_p50_ms:.1f} ms ({found.assets_bytes} bytes); /healthz "
                    f"{found.healthz_bytes} bytes; load average {found.load[0]:.1f} to "
                    f"{found.load[1]:.1f}",
                    flush=True,
                )
    return [run for runs in figures.values() for run in runs]


def serve_once(directory: Path) -> Served:
    index = json.loads((directory / "index.json").read_text())["assets"]
    found = Served(len(index), load=(os.getloadavg()[0], 0.0))
    with running(API, directory) as (process, base):
        wait_until_ready(f"{base}/healthz", timeout=120)
        found.rss_started_mb = resident_mb(process.pid)
        for slug, entry in sorted(index.items()):
            when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(entry["last_bar"]))
            _get(f"{base}/forecast/{slug}?date={when}")
        found.rss_after_mb = resident_mb(process.pid)
        for _ in range(ASSETS_ROUNDS):
            started = time.perf_counter()
            body = _get(f"{base}/assets")
            found.assets_ms.append(1000 * (time.perf_counter() - started))
        found.assets_bytes = len(body)
        found.healthz_bytes = len(_get(f"{base}/healthz"))
    found.load = (found.load[0], os.getloadavg()[0])
    return found


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as answer:
        if answer.status != 200:
            raise SystemExit(f"{url} answered {answer.status}")
        return answer.read()


def serving_table(runs: list[Served]) -> str:
    small = [run for run in runs if run.pairs == 2]
    large = [run for run in runs if run.pairs != 2]
    memory = statistics.median(run.rss_after_mb for run in large) / statistics.median(
        run.rss_after_mb for run in small
    )
    assets = statistics.median(run.assets_p50_ms for run in large)
    healthz = max(run.healthz_bytes for run in large)
    lines = [
        "| pairs | RSS started, MB | RSS after one request to each, MB | /assets p50, ms | "
        "/assets bytes | /healthz bytes | load average |",
        "|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        lines.append(
            f"| {run.pairs} | {run.rss_started_mb:.1f} | {run.rss_after_mb:.1f} | "
            f"{run.assets_p50_ms:.1f} | {run.assets_bytes} | {run.healthz_bytes} | "
            f"{run.load[0]:.1f} to {run.load[1]:.1f} |"
        )
    pairs = large[0].pairs
    lines += [
        "",
        f"{pairs} pairs against 2, medians: memory {memory:.2f}x (bar: at most {BAR_MEMORY}x; "
        f"{_verdict(memory <= BAR_MEMORY)}); /assets {assets:.1f} ms (bar: under "
        f"{BAR_ASSETS_MS:.0f} ms; {_verdict(assets < BAR_ASSETS_MS)}); /healthz {healthz} bytes "
        f"(bar: under 64 KiB; {_verdict(healthz < BAR_HEALTHZ)}).",
    ]
    return "\n".join(lines)


BAR_FILE_BYTES = 1_500_000


def sizes(models: Path) -> list[dict]:
    """What the image holds of each hourly pair: every file of its directory but the pickled
    model, which stays in the build stage."""
    rows = []
    for manifest in sorted(models.glob("*/manifest.json")):
        directory = manifest.parent
        if json.loads(manifest.read_text())["interval"] != "1h":
            continue
        files = {
            path.name: path.stat().st_size
            for path in sorted(directory.iterdir())
            if path.name != "model.pkl"
        }
        rows.append({"asset": directory.name, "files": files, "bytes": sum(files.values())})
    return rows


def sizes_table(rows: list[dict]) -> str:
    names = sorted({name for row in rows for name in row["files"]})
    lines = [
        "| pair | " + " | ".join(names) + " | served, bytes |",
        "|---" * (len(names) + 2) + "|",
    ]
    for row in rows:
        cells = [f"{row['files'].get(name, 0):,}" for name in names]
        lines.append(f"| {row['asset']} | " + " | ".join(cells) + f" | {row['bytes']:,} |")
    largest = max(rows, key=lambda row: row["bytes"])
    typical = statistics.median(row["bytes"] for row in rows)
    lines += [
        "",
        f"{len(rows)} hourly pairs; the largest, {largest['asset']}, serves "
        f"{largest['bytes']:,} bytes (bar: each at most {BAR_FILE_BYTES:,}; "
        f"{_verdict(largest['bytes'] <= BAR_FILE_BYTES)}). The median pair, {typical:,.0f} "
        f"bytes, puts the release's {RELEASE_PAIRS} pairs at about "
        f"{RELEASE_PAIRS * typical / 1e6:.0f} MB of the image (uncompressed).",
    ]
    return "\n".join(lines)


def _verdict(holds: bool) -> str:
    return "holds" if holds else "does NOT hold"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.market", description=__doc__)
    parser.add_argument("bar", choices=("cache", "serve", "sizes"))
    parser.add_argument("--rounds", type=int, default=3, help="serve: starts of each set")
    parser.add_argument("--daily", type=int, help="only the first N daily pairs (a quick look)")
    parser.add_argument("--hourly", type=int, help="only the first N hourly pairs")
    parser.add_argument("--models", type=Path, help="serve, sizes: this model directory")
    args = parser.parse_args(argv)
    REPORTS.mkdir(exist_ok=True)
    whole = args.daily is None and args.hourly is None
    models = args.models or (MODELS if whole else WORK / "models-subset")
    if args.bar == "cache":
        runs = measure_cache({DAILY: args.daily, HOURLY: args.hourly}, models)
        print(cache_table(runs))
        measured = {
            "runs": [{**asdict(run), "cpu_per_pair": run.cpu_per_pair} for run in runs],
            "release": release_estimate(runs),
        }
        (REPORTS / "bench-market-cache.json").write_text(json.dumps(measured, indent=1) + "\n")
        return 0
    if not (models / "index.json").exists():
        raise SystemExit(f"{models} holds no trained pairs: run `python -m bench.market cache`")
    if args.bar == "serve":
        served = measure_serving(models, args.rounds)
        print(serving_table(served))
        report = [{**asdict(run), "assets_p50_ms": run.assets_p50_ms} for run in served]
        (REPORTS / "bench-market-serve.json").write_text(json.dumps(report, indent=1) + "\n")
    else:
        rows = sizes(models)
        print(sizes_table(rows))
        (REPORTS / "bench-market-sizes.json").write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
