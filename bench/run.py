"""`python -m bench.run`: every benchmark in one run, printed as one table (see bench/README.md).

Measures the API (`python api.py --alone`, and behind its proxy, `python api.py`: `proxied`) side
by side with three comparisons on the same artifact, all
served stock (`bench/serving.py`: `waitress.serve(app)`, never the API's settings): the API's own
app (`bench/own_app.py`: what the start-up path around it costs), a stock Flask + Waitress server
answering a constant body (`bench/ceiling.py`) and the per-request server
(`bench/per_request.py`):

1. `/bitcoin` throughput and p50/p99 latency at 1, 16 and 64 connections (`wrk`, 10 s each
   after a 2-second warm-up) on dates in the month after the last bar;
2. `/bitcoin` three years ahead and `/bitcoin/forecast` for a 30-day hourly range, one connection;
3. cold start, process start to the first successful `/bitcoin` answer, median of 5;
4. resident memory of the serving process after the load;
5. training wall time of `train.py --no-backtest` and of the backtest (full run minus that).

Rounds are interleaved across the servers; the ratios the acceptance bars name are taken round
by round (the API and each comparison a minute or two apart) and printed with their range. The
load average is recorded at the start of every load run.
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

from cryptopredict.artifact.read import load_artifact
from cryptopredict.utc import iso_utc

ROOT = Path(__file__).resolve().parents[1]
LOAD_SCRIPT = Path(__file__).with_name("load.lua")
DATES = 300
FORECAST_STARTS = 20


@dataclass(frozen=True)
class Server:
    name: str
    command: tuple[str, ...]
    settings: tuple[tuple[str, str], ...] = ()  # beyond the model's, the host's and the port's


API = Server("cryptopredict", (sys.executable, "api.py", "--alone"))
# The API as the image and `make serve` serve it: Waitress behind HAProxy (docs/operations.md),
# wrk's requests coming as many clients behind a load balancer (load.lua), so that what is
# measured is the service, not one client's bound.
EDGE = Server("proxied", (sys.executable, "api.py"), (("CLIENT_IP_HEADER", "X-Forwarded-For"),))
OWN_APP = Server("own-app", (sys.executable, "-m", "bench.own_app"))
STOCK = Server("stock", (sys.executable, "-m", "bench.ceiling"))
PER_REQUEST = Server("per-request", (sys.executable, "-m", "bench.per_request"))
SERVERS = (API, EDGE, OWN_APP, STOCK, PER_REQUEST)
CONNECTIONS = (1, 16, 64)


@dataclass(frozen=True)
class Bar:
    """An acceptance bar on one figure of a server (the API's, unless `ours` names another)
    against one comparison (the same figure, unless `other_key` names another), checked per
    round."""

    title: str
    key: str
    other: str
    limit: float
    # "ratio": ours / the other's >= limit; "excess": ours - the other's <= limit (ms);
    # "below": ours < limit (ms), whatever the other's
    kind: str
    ours: str = API.name
    other_key: str = ""

    def value(self, ours: dict, other: dict) -> float:
        theirs = other[self.other_key or self.key]
        if self.kind == "ratio":
            # A comparison that answered nothing in a round loses to any API that did.
            return ours[self.key] / theirs if theirs else math.inf
        return ours[self.key] - (theirs if self.kind == "excess" else 0)

    def holds(self, value: float) -> bool:
        if self.kind == "ratio":
            return value >= self.limit
        return value <= self.limit if self.kind == "excess" else value < self.limit

    def show(self, value: float) -> str:
        return f"{value:.2f}x" if self.kind == "ratio" else f"{value:+.2f} ms"


def rps(connections: int) -> str:
    return f"requests_per_second_c{connections}"


BARS = (
    Bar("/bitcoin throughput, 16 conn., >= 1.0x stock", rps(16), "stock", 1.0, "ratio"),
    Bar("/bitcoin throughput, 64 conn., >= 1.0x stock", rps(64), "stock", 1.0, "ratio"),
    Bar("/bitcoin throughput, 16 conn., >= 0.9x own app", rps(16), "own-app", 0.9, "ratio"),
    Bar("/bitcoin throughput, 64 conn., >= 0.9x own app", rps(64), "own-app", 0.9, "ratio"),
    Bar("/bitcoin throughput, 16 conn., >= 50x per-request", rps(16), "per-request", 50, "ratio"),
    Bar("/bitcoin p50, 1 conn., <= stock + 0.5 ms", "p50_ms_c1", "stock", 0.5, "excess"),
    # Issue 97: the app keeps its rate as connections grow, and the proxy's hop costs little.
    Bar("own app at 64 conn. >= 0.8x its 16", rps(64), "own-app", 0.8, "ratio", "own-app", rps(16)),
    Bar("proxied, 16 conn., >= 0.9x own app", rps(16), "own-app", 0.9, "ratio", EDGE.name),
    Bar("proxied, 64 conn., >= 0.9x own app", rps(64), "own-app", 0.9, "ratio", EDGE.name),
    Bar("proxied, p99 at 64 conn., < 250 ms", "p99_ms_c64", EDGE.name, 250, "below", EDGE.name),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument(
        "--model-dir", type=Path, default=Path(os.environ.get("MODEL_DIR", "artifacts"))
    )
    parser.add_argument("--seconds", type=int, default=10, help="length of each load run")
    parser.add_argument(
        "--connections", type=int, nargs="+", default=list(CONNECTIONS), help="loads measured"
    )
    parser.add_argument(
        "--servers",
        nargs="+",
        choices=[server.name for server in SERVERS],
        default=[server.name for server in SERVERS],
        help="which to measure (cryptopredict always is)",
    )
    parser.add_argument("--cold-starts", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3, help="load runs per server")
    parser.add_argument("--skip-training", action="store_true", help="leave out figure 5")
    parser.add_argument("--out", type=Path, default=Path("reports/bench.json"))
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("bench: wrk is not installed (apt-get install wrk, or `make bench` as root)")
        return 2
    load_before = os.getloadavg()[0]
    servers = [server for server in SERVERS if server is API or server.name in args.servers]
    with tempfile.TemporaryDirectory() as scratch:
        paths = write_paths(Path(scratch), args.model_dir)
        results = measure_all(args, paths, servers)
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
    # A grid row is served at its bar's closing instant, a step after its opening `ds`.
    picks = grid[np.linspace(0, len(grid) - 2, DATES).astype(np.int64)] + step + quarters
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


def measure_all(
    args: argparse.Namespace, paths: dict[str, Path], servers: list[Server]
) -> dict[str, dict]:
    """Every figure of every server, in interleaved rounds so that drift in the machine's speed
    falls on all of them alike; each figure is the median of its rounds."""
    first_path = paths["near"].read_text().splitlines()[0]
    colds: dict[str, list[float]] = {server.name: [] for server in servers}
    for _ in range(args.cold_starts):
        for server in servers:
            colds[server.name].append(cold_start(server, args.model_dir, first_path))
    rounds: dict[str, list[dict]] = {server.name: [] for server in servers}
    for _ in range(args.rounds):
        for server in servers:
            rounds[server.name].append(load_round(server, args, paths, first_path))
    results = {}
    for server in servers:
        runs = rounds[server.name]
        results[server.name] = {
            **{key: statistics.median(run[key] for run in runs) for key in runs[0]},
            "socket_errors": sum(run["socket_errors"] for run in runs),
            "non_2xx": sum(run["non_2xx"] for run in runs),
            "rounds": runs,
            "cold_start_s": statistics.median(colds[server.name]) if colds[server.name] else 0,
            "cold_starts_s": colds[server.name],
        }
    return results


def bar_results(results: dict[str, dict]) -> list[dict]:
    """Each bar's value round by round (the API against the round's comparison), its median,
    and whether the median holds; bars on a comparison or a load not measured are left out."""
    out = []
    for bar in BARS:
        if bar.ours not in results or bar.other not in results:
            continue
        keys = (bar.key, bar.other_key or bar.key)
        if any(key not in results[bar.ours]["rounds"][0] for key in keys):
            continue
        pairs = zip(results[bar.ours]["rounds"], results[bar.other]["rounds"], strict=True)
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
    """One server's figures in one round: `/bitcoin` under each load (keys ending `_c<N>`),
    then the one-connection figures and the memory after the load."""
    short = max(3, args.seconds // 2)
    figures: dict = {"socket_errors": 0, "non_2xx": 0}
    with running(server, args.model_dir) as (process, base):
        wait_until_ready(base + first_path, timeout=60)
        for connections in args.connections:
            wrk(base, paths["near"], connections=connections, seconds=2)  # warm-up
            figures[f"load_average_c{connections}"] = os.getloadavg()[0]
            cpu = cpu_seconds(process.pid)
            load = wrk(base, paths["near"], connections=connections, seconds=args.seconds)
            cpu = cpu_seconds(process.pid) - cpu
            figures[rps(connections)] = load["requests"] / (load["duration_us"] / 1e6)
            figures[f"cpu_us_c{connections}"] = cpu * 1e6 / max(load["requests"], 1)
            figures[f"p50_ms_c{connections}"] = load["p50_us"] / 1000
            figures[f"p99_ms_c{connections}"] = load["p99_us"] / 1000
            figures["socket_errors"] += load["socket_errors"]
            figures["non_2xx"] += load["non_2xx"]
        rss = resident_mb(process.pid)
        far = wrk(base, paths["far"], connections=1, seconds=short)
        forecast = wrk(base, paths["forecast"], connections=1, seconds=short)
    return {
        **figures,
        "non_2xx": figures["non_2xx"] + far["non_2xx"] + forecast["non_2xx"],
        "far_p50_ms": far["p50_us"] / 1000,
        "forecast_p50_ms": forecast["p50_us"] / 1000,
        "forecast_p99_ms": forecast["p99_us"] / 1000,
        "rss_mb": rss,
    }


@contextmanager
def running(server: Server, model_dir: Path):
    """The server on a free loopback port, logging as it does in production (to a file)."""
    port = free_port()
    env = {
        **os.environ,
        **dict(server.settings),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "MODEL_DIR": str(model_dir),
    }
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


def cpu_seconds(pid: int) -> float:
    """CPU time the process has used, user and system, all its threads (`/proc/PID/stat`)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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


LOAD_FIGURES = (
    ("/bitcoin throughput, {c} conn., req/s", "requests_per_second_c{c}", "{:.0f}"),
    ("/bitcoin p50 latency, {c} conn., ms", "p50_ms_c{c}", "{:.2f}"),
    ("/bitcoin p99 latency, {c} conn., ms", "p99_ms_c{c}", "{:.2f}"),
    ("server CPU per request, {c} conn., us", "cpu_us_c{c}", "{:.0f}"),
)
FIGURES = (
    ("/bitcoin 3 years ahead p50, 1 conn., ms", "far_p50_ms", "{:.2f}"),
    ("/bitcoin/forecast 30 days p50, 1 conn., ms", "forecast_p50_ms", "{:.1f}"),
    ("cold start, s", "cold_start_s", "{:.2f}"),
    ("resident memory after load, MB", "rss_mb", "{:.0f}"),
)


def table(report: dict) -> str:
    servers = report["servers"]
    names = list(servers)
    ours = servers[API.name]
    before, after = report["load_average"]
    loads = "/".join(str(c) for c in report["connections"])
    lines = [
        f"cryptopredict benchmarks, {report['date']}, {report['machine']}; load average "
        f"{before:.2f} before, {after:.2f} after",
        f"`wrk` for {report['seconds']} s at {loads} connections on /bitcoin?date= for {DATES} "
        f"dates in the month after the last bar; {report['rounds']} interleaved rounds; "
        "figures are medians over the rounds, with the lowest and highest round",
        "",
        "| acceptance bar | median | range over rounds | verdict |",
        "|---|---|---|---|",
    ]
    for bar in report["bars"]:
        median, low, high = bar["shown"]
        verdict = "holds" if bar["holds"] else "DOES NOT HOLD"
        lines.append(f"| {bar['bar']} | {median} | {low} to {high} | {verdict} |")
    others = names[1:]
    lines += [
        "",
        f"| figure | {' | '.join(names)} | {' | '.join(f'vs {name}' for name in others)} "
        "| load average |",
        "|---|" + "---|" * (2 * len(names)),
    ]
    rows = [
        (title.format(c=c), key.format(c=c), fmt, f"load_average_c{c}")
        for c in report["connections"]
        for title, key, fmt in LOAD_FIGURES
    ] + [(title, key, fmt, None) for title, key, fmt in FIGURES]
    for title, key, fmt, load_key in rows:
        cells = [_spread(servers[name], key, fmt) for name in names]
        ratios = [
            f"{ours[key] / servers[name][key]:.2f}x" if servers[name][key] else ""
            for name in others
        ]
        load = ""
        if load_key:
            averages = [run[load_key] for name in names for run in servers[name]["rounds"]]
            load = f"{statistics.median(averages):.1f} ({min(averages):.1f} to {max(averages):.1f})"
        lines.append(f"| {title} | {' | '.join(cells + ratios)} | {load} |")
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


def _spread(server: dict, key: str, fmt: str) -> str:
    """The median, and the lowest and highest round where the figure has rounds."""
    median = fmt.format(server[key])
    values = [run[key] for run in server["rounds"] if key in run]
    if len(values) < 2:
        return median
    return f"{median} ({fmt.format(min(values))} to {fmt.format(max(values))})"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


if __name__ == "__main__":
    sys.exit(main())
