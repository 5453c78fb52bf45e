"""`python -m bench.soak`: hold `/bitcoin` under load and watch for errors and memory growth.

`wrk` keeps 64 connections busy for 60 s on the same few hundred dates as the benchmark, all
valid, through HAProxy to the server as the image serves it (`python api.py`), while the
server's resident memory is sampled every half second. It passes when wrk saw
no socket error and no answer other than 2xx, and the mean resident memory over the last window
(the last ten seconds; a third of the run for runs under 30 s) is less than 10% above its mean
over the second window, once the server has warmed up. `make soak` runs it for 60 s; the test
suite for 15 s (`tests/api/test_soak.py`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.run import (
    EDGE,
    resident_mb,
    running,
    wait_until_ready,
    write_paths,
    wrk_command,
    wrk_env,
    wrk_figures,
)

MAX_GROWTH = 0.10
SAMPLE_SECONDS = 0.5


@dataclass(frozen=True)
class Soak:
    seconds: int
    connections: int
    requests: int
    socket_errors: int
    non_2xx: int
    rss_early_mb: float
    rss_late_mb: float

    @property
    def growth(self) -> float:
        return self.rss_late_mb / self.rss_early_mb - 1

    @property
    def problems(self) -> list[str]:
        found = []
        if self.socket_errors:
            found.append(f"{self.socket_errors} socket errors")
        if self.non_2xx:
            found.append(f"{self.non_2xx} answers other than 2xx")
        if self.growth >= MAX_GROWTH:
            found.append(f"resident memory grew {self.growth:.1%} (limit {MAX_GROWTH:.0%})")
        if not self.requests:
            found.append("no request was answered")
        return found

    def summary(self) -> str:
        return (
            f"{self.requests} requests in {self.seconds} s at {self.connections} connections "
            f"({self.requests / self.seconds:.0f}/s): {self.socket_errors} socket errors, "
            f"{self.non_2xx} non-2xx; resident memory {self.rss_early_mb:.1f} MB early, "
            f"{self.rss_late_mb:.1f} MB late ({self.growth:+.1%})"
        )


def soak(model_dir: Path, *, seconds: int, connections: int) -> Soak:
    window = min(10.0, seconds / 3)
    with tempfile.TemporaryDirectory() as scratch:
        paths = write_paths(Path(scratch), model_dir)
        first = paths["bitcoin"].read_text().splitlines()[0]
        with running(EDGE, model_dir) as (process, base):
            wait_until_ready(base + first, timeout=60)
            load = subprocess.Popen(
                wrk_command(base, connections=connections, seconds=seconds),
                env=wrk_env(paths["bitcoin"]),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            samples = sample_memory(process.pid, load)
            stdout, stderr = load.communicate()
    figures = wrk_figures(load.returncode, stdout, stderr)
    early = [mb for at, mb in samples if window <= at < 2 * window]
    late = [mb for at, mb in samples if at >= seconds - window]
    return Soak(
        seconds=seconds,
        connections=connections,
        requests=figures["requests"],
        socket_errors=figures["socket_errors"],
        non_2xx=figures["non_2xx"],
        rss_early_mb=statistics.mean(early),
        rss_late_mb=statistics.mean(late),
    )


def sample_memory(pid: int, load: subprocess.Popen) -> list[tuple[float, float]]:
    """(seconds since the load began, resident MB) every half second while `load` runs."""
    started = time.monotonic()
    samples = []
    while load.poll() is None:
        samples.append((time.monotonic() - started, resident_mb(pid)))
        time.sleep(SAMPLE_SECONDS)
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument(
        "--model-dir", type=Path, default=Path(os.environ.get("MODEL_DIR", "artifacts"))
    )
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args(argv)
    result = soak(args.model_dir, seconds=args.seconds, connections=args.connections)
    print(result.summary())
    for problem in result.problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    return 1 if result.problems else 0


if __name__ == "__main__":
    sys.exit(main())
