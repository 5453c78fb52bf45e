"""`python -m bench.run`: every benchmark in one run, printed as one table (see bench/README.md).

Measures the API (`python api.py`) side by side with a stock Flask + Waitress server answering a
constant body (`bench/ceiling.py`) and the per-request server (`bench/per_request.py`), on the
same artifact; the two comparisons are served stock (`bench/serving.py`), never with the API's
settings:

1. `/bitcoin` throughput and p50/p99 latency: `wrk -t2 -c16` for 10 s on dates in the month
   after the last bar, then p50/p99 over one connection on the same dates;
2. `/bitcoin` three years ahead and `/bitcoin/forecast` for a 30-day hourly range, one connection;
3. cold start, process start to the first successful `/bitcoin` answer, median of 5;
4. resident memory of the serving process after the load;
5. training wall time of `train.py --no-backtest` and of the backtest (full run minus that).

Rounds are interleaved across the three servers; the ratios the acceptance bars name are taken
round by round (the API and the stock server a minute apart) and printed with their range.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from cryptopredict.artifact import load_artifact
from cryptopredict.utc import iso_utc

ROOT = Path(__file__).resolve().parents[1]
LOAD_SCRIPT = Path(__file__).with_name("load.lua")
DATES = 300
FORECAST_STARTS = 20


@dataclass(frozen=True)
class Server:
    name: str
    command: tuple[str, ...]


API = Server("cryptopredict", (sys.executable, "api.py"))
STOCK = Server("stock", (sys.executable, "-m", "bench.ceiling"))
PER_REQUEST = Server("per-request", (sys.executable, "-m", "bench.per_request"))
SERVERS = (API, STOCK, PER_REQUEST)


@dataclass(frozen=True)
class Bar:
    """An acceptance bar on one figure of the API against one comparison, checked per round."""

    title: str
    key: str
    other: str
    limit: float
    kind: str  # "ratio": the API's figure / the other's >= limit; "excess": API - other <= limit

    def value(self, ours: dict, other: dict) -> float:
        if self.kind == "ratio":
            # A comparison that answered nothing in a round loses to any API that did.
            return ours[self.key] / other[self.key] if other[self.key] else math.inf
        return ours[self.key] - other[self.key]

    def holds(self, value: float) -> bool:
        return value >= self.limit if self.kind == "ratio" else value <= self.limit

    def show(self, value: float) -> str:
        return f"{value:.2f}x" if self.kind == "ratio" else f"{value:+.2f} ms"


BARS = (
    Bar(
        "/bitcoin throughput, 16 conn., >= 0.8x stock", "requests_per_second", "stock", 0.8, "ratio"
    ),
    Bar(
        "/bitcoin throughput, 16 conn., >= 50x per-request",
        "requests_per_second",
        "per-request",
        50.0,
        "ratio",
    ),
    Bar("/bitcoin p50, 1 conn., <= stock + 0.5 ms", "one_p50_ms", "stock", 0.5, "excess"),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument(
        "--model-dir", type=Path, default=Path(os.environ.get("MODEL_DIR", "artifacts"))
    )
    parser.add_argument("--seconds", type=int, default=10, help="length of each load run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--cold-starts", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3, help="load runs per server")
    parser.add_argument("--skip-training", action="store_true", help="leave out figure 5")
    parser.add_argument("--out", type=Path, default=Path("reports/bench.json"))
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("bench: wrk is not installed (apt-get install wrk, or `make bench` as root)")
        return 2
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as scratch:
        paths = write_paths(Path(scratch), args.model_dir)
        results = measure_all(args, paths)
    training = None if args.skip_training else training_times()
    report = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, "
        f"Python {platform.python_version()}",
        "load_average": [load_before, os.getloadavg()[0]],
        "connections": args.connections,
        "seconds": args.seconds,
        "rounds": args.rounds,
        "servers": results,
        "bars": bar_results(results),
        "training": training,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(table(report))
    return 0


def write_paths(scratch: Path, model_dir: Path) -> dict[str, Path]:
    """Request paths: `bitcoin` spread over the artifact's grid, between grid points as well as
    on them (the soak's); `near` in the month after the last bar (the bars'); `far` the month
    before three years past it; `forecast` 30-day ranges."""
    artifact = load_artifact(model_dir / "btc-usd")
    grid = artifact.grid.ds
    step = int(grid[1] - grid[0])
    quarters = np.arange(DATES) % 4 * step // 4  # on a grid point, a quarter, half, 3/4 past it
    picks = grid[np.linspace(0, len(grid) - 2, DATES).astype(np.int64)] + quarters
    origin = int(artifact.history.ds[-1])
    month = np.linspace(step, 30 * 86400, DATES).astype(np.int64) // step * step + quarters
    far = origin + 3 * 365 * 86400 - 30 * 86400
    starts = origin + 3600 * np.arange(1, FORECAST_STARTS + 1) * 7
    files = {
        "bitcoin": [f"/bitcoin?date={iso_utc(value)}" for value in picks],
        "near": [f"/bitcoin?date={iso_utc(origin + value)}" for value in month],
        "far": [f"/bitcoin?date={iso_utc(far + value)}" for value in month],
        "forecast": [
            f"/bitcoin/forecast?start={iso_utc(start)}&end={iso_utc(start + 30 * 86400)}"
            for start in starts
        ],
    }
    out = {}
    for name, lines in files.items():
        out[name] = scratch / f"{name}.txt"
        out[name].write_text("\n".join(lines) + "\n")
    return out


def measure_all(args: argparse.Namespace, paths: dict[str, Path]) -> dict[str, dict]:
    """Every figure of every server, in interleaved rounds so that drift in the machine's speed
    falls on all three alike; each figure is the median of its rounds."""
    first_path = paths["near"].read_text().splitlines()[0]
    colds: dict[str, list[float]] = {server.name: [] for server in SERVERS}
    for _ in range(args.cold_starts):
        for server in SERVERS:
            colds[server.name].append(cold_start(server, args.model_dir, first_path))
    rounds: dict[str, list[dict]] = {server.name: [] for server in SERVERS}
    for _ in range(args.rounds):
        for server in SERVERS:
            rounds[server.name].append(load_round(server, args, paths, first_path))
    results = {}
    for server in SERVERS:
        runs = rounds[server.name]
        results[server.name] = {
            **{key: statistics.median(run[key] for run in runs) for key in runs[0]},
            "socket_errors": sum(run["socket_errors"] for run in runs),
            "non_2xx": sum(run["non_2xx"] for run in runs),
            "rounds": runs,
            "cold_start_s": statistics.median(colds[server.name]),
            "cold_starts_s": colds[server.name],
        }
    return results


def bar_results(results: dict[str, dict]) -> list[dict]:
    """Each bar's value round by round (the API against the round's comparison), its median,
    and whether the median holds."""
    out = []
    for bar in BARS:
        pairs = zip(results[API.name]["rounds"], results[bar.other]["rounds"], strict=True)
        values = [bar.value(ours, other) for ours, other in pairs]
        median = statistics.median(values)
        out.append(
            {
                "bar": bar.title,
                "rounds": values,
                "median": median,
                "shown": [bar.show(value) for value in (median, min(values), max(values))],
                "holds": bar.holds(median),
            }
        )
    return out


def load_round(
    server: Server, args: argparse.Namespace, paths: dict[str, Path], first_path: str
) -> dict:
    short = max(3, args.seconds // 2)
    with running(server, args.model_dir) as (process, base):
        wait_until_ready(base + first_path, timeout=60)
        wrk(base, paths["near"], connections=args.connections, seconds=2)  # warm-up
        load = wrk(base, paths["near"], connections=args.connections, seconds=args.seconds)
        rss = resident_mb(process.pid)
        one = wrk(base, paths["near"], connections=1, seconds=short)
        far = wrk(base, paths["far"], connections=1, seconds=short)
        forecast = wrk(base, paths["forecast"], connections=1, seconds=short)
    return {
        "requests_per_second": load["requests"] / (load["duration_us"] / 1e6),
        "p50_ms": load["p50_us"] / 1000,
        "p99_ms": load["p99_us"] / 1000,
        "socket_errors": load["socket_errors"],
        "non_2xx": load["non_2xx"] + one["non_2xx"] + far["non_2xx"] + forecast["non_2xx"],
        "one_p50_ms": one["p50_us"] / 1000,
        "one_p99_ms": one["p99_us"] / 1000,
        "far_p50_ms": far["p50_us"] / 1000,
        "forecast_p50_ms": forecast["p50_us"] / 1000,
        "forecast_p99_ms": forecast["p99_us"] / 1000,
        "rss_mb": rss,
    }


@contextmanager
def running(server: Server, model_dir: Path):
    """The server on a free loopback port, logging as it does in production (to a file)."""
    port = free_port()
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "MODEL_DIR": str(model_dir)}
    with tempfile.TemporaryFile("w+") as logs:
        process = subprocess.Popen(server.command, cwd=ROOT, env=env, stdout=logs, stderr=logs)
        try:
            yield process, f"http://127.0.0.1:{port}"
        except RuntimeError:
            logs.seek(0)
            print(f"{server.name} logged:\n{logs.read()[-3000:]}", file=sys.stderr)
            raise
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def cold_start(server: Server, model_dir: Path, path: str) -> float:
    started = time.monotonic()
    with running(server, model_dir) as (_, base):
        wait_until_ready(base + path, timeout=60)
        return time.monotonic() - started


def wait_until_ready(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.002)
    raise RuntimeError(f"{url} did not answer 200 within {timeout} s")


def wrk(base: str, paths: Path, *, connections: int, seconds: int) -> dict:
    done = subprocess.run(
        wrk_command(base, connections=connections, seconds=seconds),
        env=wrk_env(paths),
        capture_output=True,
        text=True,
        check=False,
    )
    return wrk_figures(done.returncode, done.stdout, done.stderr)


def wrk_command(base: str, *, connections: int, seconds: int) -> list[str]:
    return [
        "wrk",
        f"--threads={min(2, connections)}",
        f"--connections={connections}",
        f"--duration={seconds}s",
        "--timeout=10s",
        f"--script={LOAD_SCRIPT}",
        base,
    ]


def wrk_env(paths: Path) -> dict[str, str]:
    return {**os.environ, "BENCH_PATHS": str(paths)}


def wrk_figures(returncode: int, stdout: str, stderr: str) -> dict:
    """The JSON line `load.lua` prints at the end of a run."""
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed: {stderr or stdout}")
    return json.loads(lines[-1])


def resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def training_times() -> dict:
    """Wall time of train.py without and with the backtest, on the embedded hourly data."""
    times = {}
    with tempfile.TemporaryDirectory() as out:
        for name, extra in (("no_backtest_s", ["--no-backtest"]), ("full_s", [])):
            started = time.monotonic()
            subprocess.run(
                [sys.executable, "train.py", "--source", "snapshot", "--out", out, *extra],
                cwd=ROOT,
                check=True,
                capture_output=True,
            )
            times[name] = time.monotonic() - started
    times["backtest_s"] = times["full_s"] - times["no_backtest_s"]
    return times


FIGURES = (
    ("/bitcoin throughput, 16 conn., req/s", "requests_per_second", "{:.0f}", ""),
    ("/bitcoin p50 latency, 16 conn., ms", "p50_ms", "{:.2f}", ""),
    ("/bitcoin p99 latency, 16 conn., ms", "p99_ms", "{:.2f}", "< 20 ms"),
    ("/bitcoin p50 latency, 1 conn., ms", "one_p50_ms", "{:.2f}", ""),
    ("/bitcoin p99 latency, 1 conn., ms", "one_p99_ms", "{:.2f}", ""),
    ("/bitcoin 3 years ahead p50, 1 conn., ms", "far_p50_ms", "{:.2f}", "as next month"),
    ("/bitcoin/forecast 30 days p50, 1 conn., ms", "forecast_p50_ms", "{:.1f}", ""),
    ("cold start, s (median of runs)", "cold_start_s", "{:.2f}", "<= 0.25 s, <= 0.5x"),
    ("resident memory after load, MB", "rss_mb", "{:.0f}", "<= 45 MB, <= 0.5x"),
)


def table(report: dict) -> str:
    servers = report["servers"]
    ours = servers[API.name]
    before, after = report["load_average"]
    lines = [
        f"cryptopredict benchmarks, {report['date']}, {report['machine']}; load average "
        f"{before:.2f} before, {after:.2f} after",
        f"`wrk -t2 -c{report['connections']} -d{report['seconds']}s` on /bitcoin?date= for "
        f"{DATES} dates in the month after the last bar; {report['rounds']} interleaved rounds",
        "",
        "| acceptance bar | median | range over rounds | verdict |",
        "|---|---|---|---|",
    ]
    for bar in report["bars"]:
        median, low, high = bar["shown"]
        verdict = "holds" if bar["holds"] else "DOES NOT HOLD"
        lines.append(f"| {bar['bar']} | {median} | {low} to {high} | {verdict} |")
    lines += [
        "",
        "| figure (median of rounds) | cryptopredict | stock | per-request | vs stock "
        "| vs per-request | target |",
        "|---|---|---|---|---|---|---|",
    ]
    for title, key, fmt, target in FIGURES:
        values = [servers[server.name][key] for server in SERVERS]
        cells = [fmt.format(value) for value in values]
        ratios = [f"{ours[key] / other:.2f}x" if other else "" for other in values[1:]]
        lines.append(f"| {title} | {' | '.join(cells)} | {' | '.join(ratios)} | {target} |")
    errors = sum(server["socket_errors"] + server["non_2xx"] for server in servers.values())
    lines.append(f"\nSocket errors and non-2xx answers under load, all servers: {errors}.")
    if before > 0.5:
        lines.append(
            f"The machine was not idle (load average {before:.2f}): throughput figures are not "
            "final; re-run on an idle machine."
        )
    if report["training"]:
        training = report["training"]
        lines.append(
            f"Training on the embedded hourly data: {training['no_backtest_s']:.0f} s without the "
            f"backtest, {training['backtest_s']:.0f} s of backtest, "
            f"{training['full_s']:.0f} s in all."
        )
    return "\n".join(lines)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


if __name__ == "__main__":
    sys.exit(main())
