"""`python -m bench.run`: every benchmark in one run, printed as one table (see bench/README.md).

Measures the API (`python api.py`) side by side with the per-request server and the ceiling
(`bench/comparisons.py`), all on the same artifact and Waitress settings:

1. `/bitcoin` throughput and p50/p99 latency, 16 connections for 10 s, a few hundred dates;
2. `/bitcoin/forecast` latency for a 30-day hourly range, one connection;
3. cold start, process start to the first successful `/bitcoin` answer, median of 5;
4. resident memory of the serving process after the load;
5. training wall time of `train.py --no-backtest` and of the backtest (full run minus that).
"""

from __future__ import annotations

import argparse
import json
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

ROOT = Path(__file__).resolve().parents[1]
LOAD_SCRIPT = Path(__file__).with_name("load.lua")
DATES = 300
FORECAST_STARTS = 20


@dataclass(frozen=True)
class Server:
    name: str
    command: tuple[str, ...]


SERVERS = (
    Server("cryptopredict", (sys.executable, "api.py")),
    Server("per-request", (sys.executable, "-m", "bench.per_request")),
    Server("ceiling", (sys.executable, "-m", "bench.ceiling")),
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
    with tempfile.TemporaryDirectory() as scratch:
        paths = write_paths(Path(scratch), args.model_dir)
        results = measure_all(args, paths)
    training = None if args.skip_training else training_times()
    report = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, "
        f"Python {platform.python_version()}",
        "connections": args.connections,
        "seconds": args.seconds,
        "rounds": args.rounds,
        "servers": results,
        "training": training,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(table(report))
    return 0


def write_paths(scratch: Path, model_dir: Path) -> dict[str, Path]:
    """Request paths spread over the artifact's grid, between grid points as well as on them."""
    artifact = load_artifact(model_dir / "btc-usd")
    grid = artifact.grid.ds
    step = int(grid[1] - grid[0])
    quarters = np.arange(DATES) % 4 * step // 4  # on a grid point, a quarter, half, 3/4 past it
    picks = grid[np.linspace(0, len(grid) - 2, DATES).astype(np.int64)] + quarters
    origin = int(artifact.history.ds[-1])
    # The first month past the last bar, and the month before three years past it.
    month = np.linspace(0, 30 * 86400 - step, DATES).astype(np.int64) // step * step + quarters
    far = origin + 3 * 365 * 86400 - 30 * 86400
    starts = origin + 3600 * np.arange(1, FORECAST_STARTS + 1) * 7
    files = {
        "bitcoin": [f"/bitcoin?date={_iso(value)}" for value in picks],
        "near": [f"/bitcoin?date={_iso(origin + value)}" for value in month],
        "far": [f"/bitcoin?date={_iso(far + value)}" for value in month],
        "forecast": [
            f"/bitcoin/forecast?start={_iso(start)}&end={_iso(start + 30 * 86400)}"
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
    first_path = paths["bitcoin"].read_text().splitlines()[0]
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


def load_round(
    server: Server, args: argparse.Namespace, paths: dict[str, Path], first_path: str
) -> dict:
    with running(server, args.model_dir) as (process, base):
        wait_until_ready(base + first_path, timeout=60)
        wrk(base, paths["bitcoin"], connections=args.connections, seconds=2)  # warm-up
        load = wrk(base, paths["bitcoin"], connections=args.connections, seconds=args.seconds)
        rss = resident_mb(process.pid)
        forecast = wrk(base, paths["forecast"], connections=1, seconds=max(3, args.seconds // 2))
        near = wrk(base, paths["near"], connections=1, seconds=max(3, args.seconds // 2))
        far = wrk(base, paths["far"], connections=1, seconds=max(3, args.seconds // 2))
    return {
        "requests_per_second": load["requests"] / (load["duration_us"] / 1e6),
        "p50_ms": load["p50_us"] / 1000,
        "p99_ms": load["p99_us"] / 1000,
        "socket_errors": load["socket_errors"],
        "non_2xx": load["non_2xx"] + forecast["non_2xx"] + near["non_2xx"] + far["non_2xx"],
        "near_p50_ms": near["p50_us"] / 1000,
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


def table(report: dict) -> str:
    ours, slow, ceiling = (report["servers"][server.name] for server in SERVERS)
    rows = [
        ("/bitcoin throughput, req/s", "requests_per_second", "{:.0f}", ">= 50x, >= 0.8x"),
        ("/bitcoin p50 latency, ms", "p50_ms", "{:.1f}", ""),
        ("/bitcoin p99 latency, ms", "p99_ms", "{:.1f}", "< 20 ms"),
        ("/bitcoin next month p50 (1 conn.), ms", "near_p50_ms", "{:.2f}", ""),
        ("/bitcoin 3 years ahead p50 (1 conn.), ms", "far_p50_ms", "{:.2f}", "as next month"),
        ("/bitcoin/forecast 30 days p50, ms", "forecast_p50_ms", "{:.1f}", ""),
        ("cold start, s (median of runs)", "cold_start_s", "{:.2f}", "<= 0.25 s, <= 0.5x"),
        ("resident memory after load, MB", "rss_mb", "{:.0f}", "<= 45 MB, <= 0.5x"),
    ]
    lines = [
        f"cryptopredict benchmarks, {report['date']}, {report['machine']}, "
        f"{report['connections']} connections, medians of {report['rounds']} interleaved "
        f"{report['seconds']} s runs",
        "",
        "| figure | cryptopredict | per-request | ceiling | vs per-request | vs ceiling | target |",
        "|---|---|---|---|---|---|---|",
    ]
    for title, key, fmt, target in rows:
        values = (ours[key], slow[key], ceiling[key])
        cells = [fmt.format(value) for value in values]
        ratios = [f"{ours[key] / other:.2f}x" if other else "" for other in values[1:]]
        lines.append(f"| {title} | {' | '.join(cells)} | {' | '.join(ratios)} | {target} |")
    errors = sum(
        server["socket_errors"] + server["non_2xx"] for server in report["servers"].values()
    )
    lines.append(f"\nSocket errors and non-2xx answers under load, all servers: {errors}.")
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


def _iso(seconds: int) -> str:
    return datetime.fromtimestamp(int(seconds), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


if __name__ == "__main__":
    sys.exit(main())
