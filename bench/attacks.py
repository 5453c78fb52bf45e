"""`python -m bench.attacks`: the attacks of docs/operations.md's table (issue 41's bars, issue 83's
bar 4) on the models `make run` trains, each against the API behind its proxy (`python api.py`,
as `make serve` and the image serve it) on loopback, with its defaults.

- `pipelining` (bar 1): four connections each send 100 pipelined CSV range requests in one
  write and never read (reconnecting whenever the server cuts them); `/healthz` from a fifth
  client must answer within 1 s throughout.
- `drip` (bar 2): 4,000 connections each send a request line, then one header line every 4 s
  (reconnecting when cut or refused); `/healthz` from another client address (127.0.0.2) must
  answer within 1 s, 9 times out of 10.
- `headers` (bar 3): `/bitcoin` throughput (`wrk -t2 -c16`) with four clients sending requests
  of 6,000 header lines beside it, against the same run without them, in interleaved rounds:
  at least half; `/healthz` within 1 s throughout.
- `slow-body` (issue 95): 400 connections (twice Waitress's 200) each send a head announcing
  a body, by its length or chunked, then drip a byte of it every 4 s (reconnecting when
  answered or cut), from one address, then from 200, with render.yaml's
  `MAX_CONNECTIONS_PER_CLIENT=0` (no cap: Render's proxy is every client's address); every
  connection answered `413` before its first dripped byte, and `/healthz` from another address
  within 1 s throughout.
- `stop`: sixteen clients ask `/bitcoin` over kept-alive connections as fast as they can; after
  `--seconds / 6`, SIGTERM: every request sent on a connection the proxy had accepted is
  answered whole, or its connection closed before it was read (the client sends it again and
  is refused); `/healthz` within 1 s up to the signal; the process ends with status 0 within
  6 s.
- `database` (bar 4): `DATABASE_URL` on a real PostgreSQL (Debian's `postgresql`, in a
  temporary directory) holding the last two hours of the embedded BTC minutes; once the API has
  read them, the server and its backends are frozen with SIGSTOP for `--seconds`: every
  `/bitcoin` within 500 ms, `/price/btc-usd` 503 within 5 s; within 10 s of SIGCONT, 200.
- `artifacts` (bar 5): on a copy of the model directory, btc-usd's `grid.npy` made a sparse
  20 GB file; then, each in turn, its `backtest.json` cut in half, its manifest nested 100,000
  deep, a NaN in its grid (the manifest's digests made to match again): eth-usd's first answer
  within 1 s, and btc-usd's routes 503 naming the file and the asset, never 500.

- `edge-104` (issue 104), with render.yaml's `MAX_CONNECTIONS_PER_CLIENT=0`: 200 kept-alive
  connections from one address asking `/bitcoin/forecast.csv` again as soon as answered, by GET,
  then by HEAD; the same from 200 addresses; 300 connections from one address each pipelining
  ten of it and reading nothing: `/healthz` and `/bitcoin?date=` asked in turn from another
  address must answer within 1 s at p99 (`--only` picks attacks by name).
- `edge-118` (issue 118), with render.yaml's settings, each part alone (`--only`): 7 addresses x
  16 connections reading cache-busted CSV ranges within their bounds, and 320 never-readers from
  20 addresses (`/healthz` from another address never `503`, within 1 s at p99); at a tenth of a
  CPU, 6 addresses x 16 connections sending padded `/healthz` and `/bitcoin` (`/healthz` `200`
  within 5 s every time); what a request costs the server at the edge's limits and past them
  (at most twice a plain one); every spelling of the bounded routes past the bound; 8,000
  connections that send nothing (`/healthz` and `/bitcoin` within 1 s); 3,000 connections of one
  client (`/healthz` within 1 s at p99, the refusals' log lines counted).
- `head` (issue 104): one GET of `/bitcoin/forecast.csv`, then 1,000 HEADs and a conditional
  GET, in the application: one body built, each HEAD's time, `304`.
- `redaction` (issue 104): the log redaction on crafted 10 KB lines (every pair of the fragments
  its patterns start at or run over, repeated, and random mixes): each under 5 ms.

`/healthz` is asked every 0.25 s on a new connection. Each attack prints its figures and the
load average while it ran; `reports/attacks.json` keeps them. `--seconds` shortens the runs
(the bars say 60 s).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import http.client
import ipaddress
import itertools
import json
import math
import os
import random
import re
import resource
import select
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from bench import run
from cryptopredict.utc import iso_utc

PROBE_EVERY = 0.25
IP_FREEBIND = 15  # Linux's: bind an address not (yet) on an interface
PROBE_SOURCE = "127.0.0.2"  # loopback, but another client address than the attackers'
RANGE = "/forecast/btc-usd/range?start=2026-01-01&end=2026-07-01&format=csv"
DRIP_CONNECTIONS = 4000
DRIP_EVERY = 4.0
HEADER_LINES = 6000
BODY_CONNECTIONS = 400
BODY_HEADS = (
    b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\na",
    b"GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n186a0\r\na",
)
HEADER_CLIENTS = 4


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.attacks", description=__doc__)
    # Checked below, not with `choices`: Python 3.11's argparse checks an empty list against
    # them as one value, and refused the command with no attack named.
    parser.add_argument("attacks", nargs="*", metavar="ATTACK", help=f"of {sorted(ATTACKS)}")
    parser.add_argument(
        "--model-dir", type=Path, default=Path(os.environ.get("MODEL_DIR", "artifacts"))
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each attack")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the headers attack")
    parser.add_argument("--range", default=RANGE, help="what the pipelining attack asks for")
    parser.add_argument("--out", type=Path, default=Path("reports/attacks.json"))
    parser.add_argument("--only", default="", help="edge-104, 113, 118: the attacks named so")
    parser.add_argument("--connections", type=int, default=3000, help="edge-113's points flood")
    parser.add_argument("--cpu-share", type=float, help="edge-113: of one CPU, for the server")
    args = parser.parse_args(argv)
    if unknown := set(args.attacks) - set(ATTACKS):
        parser.error(f"no attack {', '.join(sorted(unknown))}: there are {', '.join(ATTACKS)}")
    _allow_open_files(DRIP_CONNECTIONS + 1000)
    report = {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "attacks": {}}
    for name in args.attacks or sorted(ATTACKS):
        figures = ATTACKS[name](args)
        report["attacks"][name] = figures
        print(f"{name}: {json.dumps(figures)}", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    holds = all(figures["holds"] for figures in report["attacks"].values())
    return 0 if holds else 1


@contextmanager
def api(model_dir: Path, cpu_share: float | None = None, **env: str) -> Iterator[int]:
    """The API behind its proxy on a free loopback port, with its defaults but `env`, in a cgroup
    allowed `cpu_share` of one CPU if one is given; yields the port."""
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        with cpu_limited(cpu_share) as wrap:
            server = run.Server(run.EDGE.name, wrap(run.EDGE.command))
            with run.running(server, model_dir) as (_, base):
                run.wait_until_ready(base + "/healthz", timeout=600)
                yield int(base.rsplit(":", 1)[1])
    finally:
        for name, value in saved.items():
            if value is None:
                del os.environ[name]
            else:
                os.environ[name] = value


@contextmanager
def cpu_limited(share: float | None) -> Iterator[Callable[[tuple[str, ...]], tuple[str, ...]]]:
    """What wraps a command to run it, and every process it starts, in a cgroup allowed `share`
    of one CPU (as Render's free plan, 0.1): cgroup v2's `cpu.max` where v2 has the cpu
    controller, else v1's `cpu.cfs_quota_us`; as it is without a share."""
    if share is None:
        yield lambda command: command
        return
    mounts = [line.split() for line in Path("/proc/mounts").read_text().splitlines()]
    v2 = [point for _, point, kind, *_ in mounts if kind == "cgroup2"]
    if v2 and "cpu" in (Path(v2[0]) / "cgroup.controllers").read_text().split():
        group = Path(v2[0]) / f"bench-{os.getpid()}"
        (group.parent / "cgroup.subtree_control").write_text("+cpu")
        group.mkdir()
        (group / "cpu.max").write_text(f"{round(share * 100_000)} 100000")
    else:
        [point] = [
            p for _, p, kind, opts, *_ in mounts if kind == "cgroup" and "cpu" in opts.split(",")
        ]
        group = Path(point) / f"bench-{os.getpid()}"
        group.mkdir()
        (group / "cpu.cfs_period_us").write_text("100000")
        (group / "cpu.cfs_quota_us").write_text(str(round(share * 100_000)))
    procs = group / "cgroup.procs"
    try:
        yield lambda command: ("sh", "-c", f'echo $$ > {procs} && exec "$@"', "sh", *command)
    finally:
        while procs.read_text().strip():  # the server's last processes on their way out
            time.sleep(0.1)
        group.rmdir()


def probe(port: int, path: str = "/healthz", timeout: float = 10.0) -> float:
    """Seconds for one whole answer of 200 on a new connection from `PROBE_SOURCE`; inf when
    none came."""
    started = time.monotonic()
    try:
        with socket.create_connection(
            ("127.0.0.1", port), timeout=timeout, source_address=(PROBE_SOURCE, 0)
        ) as client:
            client.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            answer = b""
            while chunk := client.recv(65536):
                answer += chunk
    except OSError:
        return float("inf")
    return time.monotonic() - started if answer.startswith(b"HTTP/1.1 200") else float("inf")


def probing(port: int, seconds: float, paths: tuple[str, ...] = ("/healthz",)) -> list[float]:
    """`probe` every `PROBE_EVERY` seconds for `seconds`, each of `paths` in turn."""
    times = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        started = time.monotonic()
        times.append(probe(port, paths[len(times) % len(paths)]))
        time.sleep(max(0.0, PROBE_EVERY - (time.monotonic() - started)))
    return times


def under_attack(
    port: int,
    attack: Callable[[int, threading.Event, dict], None],
    seconds: float,
    threads: int,
    paths: tuple[str, ...] = ("/healthz",),
) -> tuple[list[float], dict, list[float]]:
    """Run `threads` copies of `attack` while probing; (probe times, attack counters, load
    averages at the start and the end)."""
    stop = threading.Event()
    counters: dict = {}
    workers = [threading.Thread(target=attack, args=(port, stop, counters)) for _ in range(threads)]
    load = [os.getloadavg()[0]]
    for worker in workers:
        worker.start()
    time.sleep(min(5.0, seconds / 6))  # let the attack take hold before measuring
    try:
        times = probing(port, seconds, paths)
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=30)
    load.append(os.getloadavg()[0])
    return times, counters, load


_COUNTING = threading.Lock()


def _count(counters: dict, key: str) -> None:
    with _COUNTING:
        counters[key] = counters.get(key, 0) + 1


# Bar 1: pipelined requests, never read.


def pipelining(args: argparse.Namespace) -> dict:
    with api(args.model_dir) as port:
        size = len(_answer(port, args.range))
        attack = functools.partial(never_reading, path=args.range, connections=1, asks=100)
        times, counters, load = under_attack(port, attack, args.seconds, 4)
    slowest = max(times)
    return {
        "bar": "/healthz within 1 s throughout, beside 4 connections of 100 pipelined range "
        "requests never read",
        "answer_bytes": size,
        "probes": len(times),
        "slowest_s": round(slowest, 3),
        "median_s": round(statistics.median(times), 4),
        "over_1s": sum(t > 1 for t in times),
        "attack": counters,
        "load_average": load,
        "holds": slowest <= 1.0,
    }


# Bar 2: a header line every 4 s on 4,000 connections.


def drip_headers(port: int, stop: threading.Event, counters: dict) -> None:
    line = b"GET /healthz HTTP/1.1\r\n"
    held: list[socket.socket | None] = [None] * DRIP_CONNECTIONS
    batch = 40
    pause = DRIP_EVERY * batch / DRIP_CONNECTIONS
    sent = 0
    while not stop.is_set():
        for start in range(0, DRIP_CONNECTIONS, batch):
            started = time.monotonic()
            for index in range(start, start + batch):
                held[index] = _drip(port, held[index], line, sent, counters)
            sent += 1
            if stop.is_set():
                break
            time.sleep(max(0.0, pause - (time.monotonic() - started)))
    for client in held:
        if client is not None:
            client.close()


def _drip(
    port: int, client: socket.socket | None, line: bytes, number: int, counters: dict
) -> socket.socket | None:
    if client is not None:
        try:
            client.send(b"X-Drip-%d: %d\r\n" % (number, number))
            return client
        except OSError:
            client.close()
            _count(counters, "cut_or_refused")
    return _connect(port, line, counters)


def _connect(
    port: int, first: bytes, counters: dict, source: str = "127.0.0.1"
) -> socket.socket | None:
    """A new non-blocking connection from `source` that has sent `first`; None, counted, when
    it could not."""
    try:
        client = socket.create_connection(
            ("127.0.0.1", port), timeout=0.5, source_address=(source, 0)
        )
        client.setblocking(False)
        client.send(first)
    except OSError:
        _count(counters, "failed_connects")
        return None
    _count(counters, "connections")
    return client


def drip(args: argparse.Namespace) -> dict:
    with api(args.model_dir) as port:
        times, counters, load = under_attack(port, drip_headers, args.seconds, 1)
    within = sum(t <= 1 for t in times) / len(times)
    return {
        "bar": "/healthz from another address within 1 s, 9 times out of 10, beside 4,000 "
        "connections dripping a header line every 4 s",
        "probes": len(times),
        "within_1s": round(within, 3),
        "median_s": round(statistics.median(times), 4),
        "slowest_s": round(max(times), 3),
        "attack": counters,
        "load_average": load,
        "holds": within >= 0.9,
    }


# Bar 3: 6,000 header lines.


def many_headers(port: int, stop: threading.Event, counters: dict) -> None:
    lines = b"".join(b"X-H-%d: v\r\n" % n for n in range(HEADER_LINES))
    request = b"GET /bitcoin HTTP/1.1\r\nHost: x\r\n" + lines + b"\r\n"
    while not stop.is_set():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
                with contextlib.suppress(OSError):  # answered and closed before it all went
                    client.sendall(request)
                answer = client.recv(65536)
            _count(counters, f"answered {answer[9:12].decode(errors='replace') or 'nothing'}")
        except OSError:
            _count(counters, "failed")


def headers(args: argparse.Namespace) -> dict:
    rounds = []
    times: list[float] = []
    with tempfile.TemporaryDirectory() as scratch:
        paths = run.write_paths(Path(scratch), args.model_dir)["near"]
        with api(args.model_dir) as port:
            base = f"http://127.0.0.1:{port}"
            seconds = max(2, int(args.seconds / 6))
            run.wrk(base, paths, connections=16, seconds=2)  # warm-up
            for _ in range(args.rounds):
                load = os.getloadavg()[0]
                alone = run.wrk(base, paths, connections=16, seconds=seconds)
                stop = threading.Event()
                counters: dict = {}
                attackers = [
                    threading.Thread(target=many_headers, args=(port, stop, counters))
                    for _ in range(HEADER_CLIENTS)
                ]
                for attacker in attackers:
                    attacker.start()
                probes = threading.Thread(
                    target=lambda: times.extend(probing(port, seconds)), name="probes"
                )
                probes.start()
                beside = run.wrk(base, paths, connections=16, seconds=seconds)
                probes.join()
                stop.set()
                for attacker in attackers:
                    attacker.join(timeout=30)
                alone_rps, beside_rps = _rps(alone), _rps(beside)
                rounds.append(
                    {
                        "alone_rps": round(alone_rps),
                        "beside_rps": round(beside_rps),
                        "ratio": beside_rps / alone_rps,
                        "attack": counters,
                        "load_average": load,
                    }
                )
    ratio = statistics.median(each["ratio"] for each in rounds)
    return {
        "bar": "/bitcoin throughput (wrk, 16 connections) beside 4 clients sending 6,000 "
        "header lines, at least half of it alone",
        "ratio_median": round(ratio, 3),
        "ratios": [round(each["ratio"], 3) for each in rounds],
        "rounds": rounds,
        "healthz_probes": len(times),
        "healthz_slowest_s": round(max(times), 3),
        "holds": ratio >= 0.5 and max(times) <= 1.0,
    }


# Issue 95: request bodies dripped, from one address and from many.


def drip_bodies(port: int, stop: threading.Event, counters: dict, sources: int) -> None:
    held: list[socket.socket | None] = [None] * BODY_CONNECTIONS
    batch = 40
    pause = DRIP_EVERY * batch / BODY_CONNECTIONS
    while not stop.is_set():
        for start in range(0, BODY_CONNECTIONS, batch):
            started = time.monotonic()
            for index in range(start, start + batch):
                source = f"127.0.1.{10 + index % sources}"  # sources <= 245
                held[index] = _drip_body(port, held[index], index, source, counters)
            if stop.is_set():
                break
            time.sleep(max(0.0, pause - (time.monotonic() - started)))
    for client in held:  # the last round's: their answers read
        if client is not None:
            client.settimeout(1.0)
            _drip_body(port, client, 0, "", counters)


def _drip_body(
    port: int, client: socket.socket | None, index: int, source: str, counters: dict
) -> socket.socket | None:
    """The connection's next step: its answer read (and closed), else a byte dripped; or, with
    none, a new connection sending its head."""
    if client is not None:
        try:
            answer = client.recv(65536)
        except (BlockingIOError, TimeoutError):
            with contextlib.suppress(OSError):
                client.send(b"a")
                _count(counters, "bytes_dripped")
                return client
            answer = b""
        except OSError:
            answer = b""
        client.close()
        _count(counters, f"answered {answer[9:12].decode(errors='replace') or 'nothing'}")
        return None
    return _connect(port, BODY_HEADS[index % 2], counters, source)


def slow_body(args: argparse.Namespace) -> dict:
    results = {}
    os.environ["MAX_CONNECTIONS_PER_CLIENT"] = "0"  # render.yaml's
    try:
        with api(args.model_dir) as port:
            for name, sources in (("one address", 1), ("200 addresses", 200)):
                attack = functools.partial(drip_bodies, sources=sources)
                times, counters, load = under_attack(port, attack, args.seconds, 1)
                refused = counters.get("answered 413", 0)
                results[name] = {
                    "probes": len(times),
                    "slowest_s": round(max(times), 3),
                    "median_s": round(statistics.median(times), 4),
                    "attack": counters,
                    "load_average": load,
                    "holds": max(times) <= 1.0
                    and refused >= BODY_CONNECTIONS
                    and not counters.get("bytes_dripped")
                    and set(counters) == {"connections", "answered 413"},
                }
    finally:
        del os.environ["MAX_CONNECTIONS_PER_CLIENT"]
    return {
        "bar": "400 connections dripping a body a byte every 4 s, from one address and from 200 "
        "(no cap per address, as render.yaml sets): each answered 413 before its first "
        "dripped byte; /healthz from another address within 1 s throughout",
        **results,
        "holds": all(each["holds"] for each in results.values()),
    }


# Issue 104: one client asking for an expensive answer on 200 connections, and 300 that never read,
# with render.yaml's settings; /healthz and /bitcoin?date= from another address.

EXPENSIVE = "/bitcoin/forecast.csv"
GREEDY_CONNECTIONS = 200
IDLE_READERS = 300


def ask_again_and_again(
    port: int,
    stop: threading.Event,
    counters: dict,
    *,
    method: str,
    path: str | Callable[[], str],
    connections: int,
    sources: int = 1,
    per_second: float = math.inf,
) -> None:
    """`connections` kept-alive connections from `sources` addresses, each asking `method path`
    (or `path()`: another each time) again as soon as its answer is whole (a HEAD's: its head),
    at most `per_second` in all; one closed is opened again."""
    started, asked = time.monotonic(), itertools.count(1)

    def request() -> bytes:
        time.sleep(max(0.0, next(asked) / per_second - (time.monotonic() - started)))
        asked_for = path() if callable(path) else path
        return f"{method} {asked_for} HTTP/1.1\r\nHost: x\r\n\r\n".encode()

    watch = selectors.DefaultSelector()
    for number in range(connections):
        _ask(port, watch, request(), counters, f"127.0.1.{10 + number % sources}")
    while not stop.is_set():
        for key, _ in watch.select(0.1):
            client, got = key.fileobj, key.data
            try:
                chunk = client.recv(1 << 20)
            except OSError:
                chunk = b""
            got += chunk
            head, blank, body = got.partition(b"\r\n\r\n")
            length = 0 if method == "HEAD" else _length(head)
            if chunk and not (blank and len(body) >= length):
                watch.modify(client, selectors.EVENT_READ, got)
                continue
            _count(counters, f"answered {head[9:12].decode(errors='replace')}" if chunk else "cut")
            watch.unregister(client)
            if chunk and b"\r\nconnection: close" not in head.lower():
                client.sendall(request())
                watch.register(client, selectors.EVENT_READ, body[length:])
            else:
                source = client.getsockname()[0]
                client.close()
                _ask(port, watch, request(), counters, source)
    for key in list(watch.get_map().values()):
        key.fileobj.close()


def _ask(
    port: int, watch: selectors.BaseSelector, request: bytes, counters: dict, source: str
) -> None:
    try:
        client = socket.create_connection(
            ("127.0.0.1", port), timeout=5, source_address=(source, 0)
        )
        client.sendall(request)
    except OSError:
        _count(counters, "failed_connects")
        return
    watch.register(client, selectors.EVENT_READ, b"")


def _length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


def never_reading(
    port: int,
    stop: threading.Event,
    counters: dict,
    *,
    path: str,
    connections: int = IDLE_READERS,
    asks: int = 10,
    sources: int = 1,
) -> None:
    """`connections` from `sources` addresses, each asking for `path` `asks` times at once
    (pipelined) and reading nothing; one the server cuts is opened again."""
    requests = f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode() * asks
    watch = select.poll()
    held: dict[int, socket.socket] = {}
    while not stop.is_set():
        while len(held) < connections and not stop.is_set():
            source = f"127.0.1.{10 + len(held) % sources}"
            try:
                client = socket.create_connection(
                    ("127.0.0.1", port), timeout=5, source_address=(source, 0)
                )
                client.setblocking(False)
                client.send(requests)
            except OSError:
                _count(counters, "failed_connects")
                time.sleep(0.1)
                continue
            _count(counters, "connections")
            held[client.fileno()] = client
            watch.register(client, select.POLLRDHUP | select.POLLHUP | select.POLLERR)
        for fd, _ in watch.poll(100):
            watch.unregister(fd)
            held.pop(fd).close()
            _count(counters, "cut_by_server")
    for client in held.values():
        client.close()


def _p99(times: list[float]) -> float:
    return sorted(times)[max(0, math.ceil(len(times) * 0.99) - 1)]


def edge_104(args: argparse.Namespace) -> dict:
    """Issue 104's bars: each attack alone for `--seconds`, with render.yaml's settings."""
    with tempfile.TemporaryDirectory() as scratch:
        bitcoin = run.write_paths(Path(scratch), args.model_dir)["near"].read_text().split()[0]
    paths = ("/healthz", bitcoin)
    attacks = {
        f"{GREEDY_CONNECTIONS} connections asking {method} {EXPENSIVE}": functools.partial(
            ask_again_and_again, method=method, path=EXPENSIVE, connections=GREEDY_CONNECTIONS
        )
        for method in ("GET", "HEAD")
    }
    attacks[f"the same from {GREEDY_CONNECTIONS} addresses"] = functools.partial(
        ask_again_and_again,
        method="GET",
        path=EXPENSIVE,
        connections=GREEDY_CONNECTIONS,
        sources=GREEDY_CONNECTIONS,
    )
    attacks[f"{IDLE_READERS} connections never reading {EXPENSIVE}"] = functools.partial(
        never_reading, path=EXPENSIVE
    )
    results = {}
    os.environ["MAX_CONNECTIONS_PER_CLIENT"] = "0"  # render.yaml's
    try:
        for name, attack in attacks.items():
            if args.only and args.only not in name:
                continue
            with api(args.model_dir) as port:
                times, counters, load = under_attack(port, attack, args.seconds, 1, paths)
            probes = {path: times[index :: len(paths)] for index, path in enumerate(paths)}
            results[name] = {
                "p99_s": {path: round(_p99(each), 3) for path, each in probes.items()},
                "slowest_s": {path: round(max(each), 3) for path, each in probes.items()},
                "probes": len(times),
                "attack": counters,
                "load_average": load,
                "holds": all(_p99(each) <= 1.0 for each in probes.values()),
            }
    finally:
        del os.environ["MAX_CONNECTIONS_PER_CLIENT"]
    return {
        "bar": f"/healthz and {paths[1]} from another address within 1 s at p99, during each "
        "attack from one address, with render.yaml's settings",
        **results,
        "holds": all(each["holds"] for each in results.values()),
    }


# Issue 113: what one client may do, however it dresses, with render.yaml's settings (or, through
# a stock load balancer, the setting for one); `--cpu-share 0.1` runs the server in a cgroup
# allowed a tenth of a CPU, as Render's free plan.

RENDER = {"MAX_CONNECTIONS_PER_CLIENT": "0", "CLIENT_IP_HEADER": "True-Client-IP"}
BEHIND_A_BALANCER = {"MAX_CONNECTIONS_PER_CLIENT": "0", "CLIENT_IP_HEADER": "X-Forwarded-For"}
ONE_64 = "2001:db8:113::/64"  # routed to loopback while the attack runs
CANDLES = "/candles/btc-usd"
SPELLINGS = (
    "/c%61ndles/btc-usd", "/%63andles/btc-usd", "//candles/btc-usd", "/candles/BTC-USD",
    "/candles/btc%2dusd", "http://x/c%61ndles/btc-usd", "/candles/btc-usd?x=1",
)  # fmt: skip
DRESSINGS: dict[str, Callable[[int], str]] = {
    "as itself": lambda n: "",
    "another CF-Connecting-IP each time": lambda n: (
        f"CF-Connecting-IP: 198.51.{n // 250}.{n % 250}\r\n"
    ),
    "another X-Forwarded-For each time": lambda n: (
        f"X-Forwarded-For: 198.51.{n // 250}.{n % 250}\r\n"
    ),
}
BALANCER = """defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend balancer
    bind :::{at} v4v6
    option forwardfor
    default_backend api
backend api
    server api 127.0.0.1:{port}
"""


def edge_113(args: argparse.Namespace) -> dict:
    """Issue 113's attacks, each alone (`--only` picks them by name)."""
    with tempfile.TemporaryDirectory() as scratch:
        bitcoin = run.write_paths(Path(scratch), args.model_dir)["near"].read_text().split()[0]
    parts = {
        "expect": lambda: _expecting(args, bitcoin),
        "points": lambda: _points_flood(args, bitcoin),
        "identities": lambda: _identities(args),
        "spellings": lambda: _spellings(args),
        "never-readers": lambda: _never_readers(args),
        "backtest": lambda: _backtest(args),
    }
    results = {name: part() for name, part in parts.items() if args.only in name}
    load = [load for each in results.values() for load in each["load_average"]]
    return {
        "cpu_share": args.cpu_share,
        **results,
        "load_average": [min(load), max(load)],
        "holds": all(each["holds"] for each in results.values()),
    }


def _expecting(args: argparse.Namespace, bitcoin: str) -> dict:
    """16 requests of `/bitcoin` announcing `Expect: 100-continue`, each on a connection closed at
    once; then `/healthz` and `/bitcoin?date=` from another address, in turn, for 40 s."""
    with api(args.model_dir, args.cpu_share, **RENDER) as port:
        load = [os.getloadavg()[0]]
        for _ in range(16):
            with socket.create_connection(("127.0.0.1", port)) as client:
                client.sendall(b"GET /bitcoin HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n")
        times = probing(port, 40.0, ("/healthz", bitcoin))
        load.append(os.getloadavg()[0])
    return {
        "bar": "/healthz and /bitcoin?date= from another address within 1 s for 40 s, never 503",
        **_spread({"/healthz": times[::2], "/bitcoin?date=": times[1::2]}),
        "load_average": load,
        "holds": max(times) <= 1.0,
    }


def _spread(probes: dict[str, list[float]]) -> dict:
    """Each path's probes: p99, slowest and how many were not answered 200 (inf in `probe`)."""
    return {
        "probes": sum(map(len, probes.values())),
        "p99_s": {path: round(_p99(times), 3) for path, times in probes.items()},
        "slowest_s": {path: round(max(times), 3) for path, times in probes.items()},
        "not_200": {path: sum(map(math.isinf, times)) for path, times in probes.items()},
    }


def _points_flood(args: argparse.Namespace, bitcoin: str) -> dict:
    """`--connections` kept-alive connections from one address asking `/bitcoin?date=` again as
    soon as answered; `/healthz` from another address every 0.25 s."""
    attack = functools.partial(
        ask_again_and_again, method="GET", path=bitcoin, connections=args.connections
    )
    with api(args.model_dir, args.cpu_share, **RENDER) as port:
        times, counters, load = under_attack(port, attack, args.seconds, 1)
    return {
        "bar": f"/healthz from another address within 1 s beside {args.connections} connections "
        "of one client asking /bitcoin?date=",
        "median_s": round(statistics.median(times), 3),
        **_spread({"/healthz": times}),
        "attack": counters,
        "load_average": load,
        "holds": max(times) <= 1.0,
    }


def _identities(args: argparse.Namespace) -> dict:
    """330 candles asked by one client, dressed otherwise each time: through a private hop with
    render.yaml's settings, and through a stock load balancer (HAProxy, `option forwardfor`) in
    front of the API set for it, also from another address of one /64 each time."""
    answered = {}
    with api(args.model_dir, args.cpu_share, **RENDER) as port:
        load = [os.getloadavg()[0]]
        dressings = {**DRESSINGS, "another True-Client-IP of one /64 each time": _in_one_64}
        for number, (name, dressing) in enumerate(dressings.items()):
            source = f"127.0.2.{number}"
            answered[f"private hop, {name}"] = _answered(port, CANDLES, 330, source, dressing)
    with (
        api(args.model_dir, args.cpu_share, **BEHIND_A_BALANCER) as port,
        _balancer(port) as at,
        _routed(ONE_64),
    ):
        for number, (name, dressing) in enumerate(DRESSINGS.items()):
            source = f"127.0.3.{number}"
            answered[f"balancer, {name}"] = _answered(at, CANDLES, 330, source, dressing)
        answered["balancer, from another address of one /64 each time"] = _answered(
            at, CANDLES, 330, lambda n: str(ipaddress.ip_network(ONE_64)[n + 1])
        )
        load.append(os.getloadavg()[0])
    return {
        "bar": "300 of 330 candles answered, however the client dresses",
        "answered_of_330": answered,
        "load_average": load,
        "holds": set(answered.values()) == {300},
    }


# Issue 118: the health check is no lever, and no request costs more than twice a plain one.

PADDED = "&".join(f"p{n}=1" for n in range(1800))  # the padding
LIMITS = (  # at the edge's limits (a path and a query of 1,024 bytes, 32 parameters,
    # 100 header lines, 32 headers named in a preflight), and past them
    ("a plain /bitcoin?date=", "GET {bitcoin}", []),
    ("32 parameters", "GET {bitcoin}&" + "&".join(f"p{n}=1" for n in range(31)), []),
    ("100 header lines", "GET {bitcoin}", [f"X-Pad-{n}: v" for n in range(98)]),  # and 2 below
    ("a path of 1,024 bytes", "GET /forecast/" + "a" * 1014, []),
    (
        "a preflight naming 32 headers",
        "OPTIONS /bitcoin",
        [
            "Origin: http://o.example",
            "Access-Control-Request-Method: GET",
            "Access-Control-Request-Headers: " + ",".join(f"x-{n}" for n in range(32)),
        ],
    ),
    ("1,800 parameters (refused)", "GET {bitcoin}&" + PADDED, []),
    (
        "a preflight naming 1,650 headers (refused)",
        "OPTIONS /bitcoin",
        [
            "Origin: http://o.example",
            "Access-Control-Request-Method: GET",
            "Access-Control-Request-Headers: " + ",".join(f"x-{n}" for n in range(1650)),
        ],
    ),
)


def edge_118(args: argparse.Namespace) -> dict:
    """Issue 118's bars, each part alone (`--only` picks them by name)."""
    with tempfile.TemporaryDirectory() as scratch:
        bitcoin = run.write_paths(Path(scratch), args.model_dir)["near"].read_text().split()[0]
    parts = {
        "readers": lambda: _health_beside(
            args,
            functools.partial(  # each address within its bounds: 16 at once, 29 a second
                ask_again_and_again,
                method="GET",
                path=_cache_busted_ranges(),
                connections=7 * 16,
                sources=7,
                per_second=7 * 29,
            ),
        ),
        "never-readers": lambda: _health_beside(
            args,
            functools.partial(
                never_reading, path="/vendor/plotly.min.js", connections=320, sources=20
            ),
        ),
        "padded": lambda: _padded_at_a_tenth(args, bitcoin),
        "cost": lambda: _cost(args, bitcoin),
        "spellings": lambda: _spelled(args),
        "idle": lambda: _idle(args, bitcoin),
        "points": lambda: _points_logged(args, bitcoin),
    }
    results = {name: part() for name, part in parts.items() if args.only in name}
    load = [load for each in results.values() for load in each["load_average"]]
    return {
        **results,
        "load_average": [min(load), max(load)],
        "holds": all(each["holds"] for each in results.values()),
    }


def _health_beside(args: argparse.Namespace, attack: Callable) -> dict:
    """`/healthz` from another address every 0.25 s beside `attack`: never 503, p99 within 1 s."""
    with api(args.model_dir, **RENDER) as port:
        times, counters, load = under_attack(port, attack, args.seconds, 1)
    return {
        **_spread({"/healthz": times}),
        "attack": counters,
        "load_average": load,
        "holds": _p99(times) <= 1.0,
    }


def _cache_busted_ranges() -> Callable[[], str]:
    """A CSV range of half a year, starting an hour later each time: no kept answer serves it."""
    first = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())
    starts = itertools.cycle(range(first, first + 3000 * 3600, 3600))
    return lambda: f"/forecast/btc-usd/range.csv?start={iso_utc(next(starts))}&end=2026-07-01"


def _padded_at_a_tenth(args: argparse.Namespace, bitcoin: str) -> dict:
    """At a tenth of a CPU (Render's free plan), 6 addresses x 16 connections sending `/healthz`
    and `/bitcoin?date=` padded with 1,800 parameters again and again; `/healthz` from another
    address: 200 within 5 s every time."""

    def attack(port: int, stop: threading.Event, counters: dict) -> None:
        asking = [
            threading.Thread(
                target=ask_again_and_again,
                args=(port, stop, counters),
                kwargs={
                    "method": "GET",
                    "path": _padded(path),
                    "connections": 48,
                    "sources": 6,
                },
            )
            for path in ("/healthz", bitcoin)
        ]
        for each in asking:
            each.start()
        for each in asking:
            each.join()

    with api(args.model_dir, args.cpu_share or 0.1, **RENDER) as port:
        times, counters, load = under_attack(port, attack, args.seconds, 1)
    return {
        "cpu_share": args.cpu_share or 0.1,
        "median_s": round(statistics.median(times), 3),
        **_spread({"/healthz": times}),
        "attack": counters,
        "load_average": load,
        "holds": max(times) <= 5.0,
    }


def _padded(path: str) -> str:
    return path + ("&" if "?" in path else "?") + PADDED


def _cost(args: argparse.Namespace, bitcoin: str) -> dict:
    """The server's CPU (its process and HAProxy's) for each of 500 requests of each kind, on a
    connection of its own, in 3 interleaved rounds; the median of each kind's ratio to a plain
    request's."""
    with api(args.model_dir, **RENDER) as port:
        load = [os.getloadavg()[0]]
        server = _serving(port)
        rounds: dict[str, list[float]] = {name: [] for name, *_ in LIMITS}
        statuses: dict[str, int] = {}
        for _ in range(3):
            for name, first, headers in LIMITS:
                request = "\r\n".join(
                    [
                        first.format(bitcoin=bitcoin) + " HTTP/1.1",
                        "Host: x",
                        *headers,
                        "Connection: close",
                        "",
                        "",
                    ]
                ).encode()
                before = _cpu(server)
                for _ in range(500):
                    statuses[name] = int(_whole_raw(port, request)[9:12])
                rounds[name].append((_cpu(server) - before) / 500)
        load.append(os.getloadavg()[0])
    plain = rounds[LIMITS[0][0]]
    ratios = {
        name: round(statistics.median(a / b for a, b in zip(each, plain, strict=True)), 2)
        for name, each in rounds.items()
    }
    return {
        "plain_cpu_ms": round(statistics.median(plain) * 1000, 3),
        "ratio_to_plain": ratios,
        "statuses": statuses,
        "load_average": load,
        "holds": max(ratios.values()) <= 2.0,
    }


def _serving(port: int) -> list:
    """The server listening behind its proxy on `port`, and the proxy (psutil processes)."""
    import psutil  # noqa: PLC0415 (this attack only)

    [proxy] = {
        psutil.Process(each.pid)
        for each in psutil.net_connections("tcp")
        if each.laddr and each.laddr.port == port and each.status == psutil.CONN_LISTEN
    }
    return [proxy.parent(), proxy]


def _cpu(processes: list) -> float:
    return sum(each.cpu_times().user + each.cpu_times().system for each in processes)


def _whole_raw(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
        client.sendall(request)
        answer = b""
        while chunk := client.recv(65536):
            answer += chunk
    return answer


def _spelled(args: argparse.Namespace) -> dict:
    """`tests.api.edge_probes.bound_breaches`: every spelling of the six bounded routes the router
    reads answered to one client, then 300 candles from another, then each spelling refused."""
    from tests.api.edge_probes import SPELLINGS, bound_breaches  # noqa: PLC0415

    with api(args.model_dir, **RENDER) as port:
        load = [os.getloadavg()[0]]
        breaches = bound_breaches(f"http://127.0.0.1:{port}")
        load.append(os.getloadavg()[0])
    return {
        "spellings": len(SPELLINGS),
        "breaches": breaches,
        "load_average": load,
        "holds": not breaches,
    }


def _idle(args: argparse.Namespace, bitcoin: str) -> dict:
    """8,000 connections from one address that send nothing, opened again as the proxy closes
    them; `/healthz` and `/bitcoin?date=` from another address in turn: within 1 s."""

    def idle(port: int, stop: threading.Event, counters: dict) -> None:
        held: list[socket.socket] = []
        while not stop.is_set():
            while len(held) < 8000:
                client = socket.socket()
                client.setblocking(False)
                client.connect_ex(("127.0.0.1", port))
                held.append(client)
                _count(counters, "connections")
            time.sleep(0.2)
            for client in list(held):
                with contextlib.suppress(BlockingIOError):
                    client.recv(1, socket.MSG_PEEK)
                    held.remove(client)  # closed by the proxy (or answered 408)
                    client.close()
        for client in held:
            client.close()

    with api(args.model_dir, **RENDER) as port:
        times, counters, load = under_attack(port, idle, args.seconds, 1, ("/healthz", bitcoin))
        rss = sum(each.memory_info().rss for each in _serving(port)[1:]) / 2**20
    return {
        **_spread({"/healthz": times[::2], "/bitcoin?date=": times[1::2]}),
        "proxy_rss_mb": round(rss),
        "attack": counters,
        "load_average": load,
        "holds": max(times) <= 1.0,
    }


def _points_logged(args: argparse.Namespace, bitcoin: str) -> dict:
    """3,000 kept-alive connections of one client asking `/bitcoin?date=` again and again; the
    refusals' log lines: how many were written, and how many the lines say went unwritten (after
    the flood, one more refusal's line says the last)."""
    attack = functools.partial(ask_again_and_again, method="GET", path=bitcoin, connections=3000)
    with api(args.model_dir, **RENDER) as port:
        log = Path(f"/proc/{_serving(port)[0].pid}/fd/2")
        before = len(log.read_text().splitlines())
        times, counters, load = under_attack(port, attack, args.seconds, 1)
        time.sleep(2)
        last = int(
            _whole_raw(port, f"GET {_padded(bitcoin)} HTTP/1.1\r\nHost: x\r\n\r\n".encode())[9:12]
        )
        time.sleep(1)
        lines = [line for line in log.read_text().splitlines()[before:] if "api.proxy" in line]
    refusals = [line for line in lines if "status=429" in line or "status=414" in line]
    unlogged = sum(int(n) for line in lines for n in re.findall(r"unlogged=(\d+)", line))
    refused = counters.get("answered 429", 0) + (last == 414)
    return {
        "median_s": round(statistics.median(times), 3),
        **_spread({"/healthz": times}),
        "refused_answers_read": refused,
        "refusal_lines_written": len(refusals),
        "unlogged_said": unlogged,
        "attack": counters,
        "load_average": load,
        "holds": _p99(times) <= 1.0 and len(refusals) + unlogged >= refused,
    }


def _in_one_64(n: int) -> str:
    return f"True-Client-IP: {ipaddress.ip_network(ONE_64)[n + 1]}\r\n"


def _spellings(args: argparse.Namespace) -> dict:
    """300 candles from one client, then 30 of each other spelling of the route."""
    with api(args.model_dir, args.cpu_share, **RENDER) as port:
        load = [os.getloadavg()[0]]
        first = _answered(port, CANDLES, 300, "127.0.2.9")
        spelled = {path: _answered(port, path, 30, "127.0.2.9") for path in SPELLINGS}
        load.append(os.getloadavg()[0])
    return {
        "bar": "past 300 candles in 10 s, no other spelling answered",
        "first_answered": first,
        "answered_of_30": spelled,
        "load_average": load,
        "holds": first == 300 and not any(spelled.values()),
    }


def _never_readers(args: argparse.Namespace) -> dict:
    """320 connections from 20 addresses pipelining the largest answer (the vendored plotly.js)
    and reading nothing; `/assets` and `/healthz` from another address, in turn."""
    attack = functools.partial(
        never_reading, path="/vendor/plotly.min.js", connections=320, sources=20
    )
    with api(args.model_dir, args.cpu_share, **RENDER) as port:
        times, counters, load = under_attack(port, attack, args.seconds, 1, ("/assets", "/healthz"))
    assets, health = times[::2], times[1::2]
    return {
        "bar": "/assets from another address within 1 s, never 503; /healthz 503 while every "
        "connection for large answers is held",
        **_spread({"/assets": assets}),
        "healthz_busy": f"{sum(math.isinf(each) for each in health)} of {len(health)}",
        "attack": counters,
        "load_average": load,
        "holds": max(assets) <= 1.0,
    }


def _backtest(args: argparse.Namespace) -> dict:
    """A backtest's 1,000 ranges from one client, one after another, waiting as each 429's
    `Retry-After` says."""
    started, refused = time.monotonic(), 0
    with api(args.model_dir, args.cpu_share, **RENDER) as port:
        load = [os.getloadavg()[0]]
        for n in range(1000):
            start = datetime(2026, 1, 1, tzinfo=UTC).timestamp() + n * 3600
            path = f"/bitcoin/forecast?start={iso_utc(start)}&end={iso_utc(start + 7 * 86400)}"
            while (wait := _status_or_wait(port, path)) is not None:
                refused += 1
                time.sleep(wait)
        load.append(os.getloadavg()[0])
    return {
        "bar": "every range answered, each 429 followed by the wait it says",
        "refused": refused,
        "seconds": round(time.monotonic() - started, 1),
        "load_average": load,
        "holds": True,
    }


def _status_or_wait(port: int, path: str) -> float | None:
    """None once `path` is answered 200; the seconds its 429 says to wait."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", path)
    answer = connection.getresponse()
    answer.read()
    connection.close()
    if answer.status == 429:
        return float(answer.headers["Retry-After"])
    if answer.status != 200:
        raise RuntimeError(f"{path}: {answer.status}")
    return None


def _answered(
    port: int,
    path: str,
    count: int,
    source: str | Callable[[int], str],
    dressing: Callable[[int], str] = lambda n: "",
) -> int:
    """How many of `count` requests of `path` were answered 200, each on a connection of its own
    from `source` (or `source(n)`), with the headers `dressing(n)`."""
    answered = 0
    for n in range(count):
        address = source(n) if callable(source) else source
        with socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET) as client:
            client.setsockopt(socket.SOL_IP, IP_FREEBIND, 1)  # an address of a routed /64
            client.bind((address, 0))
            client.connect(("::1" if ":" in address else "127.0.0.1", port))
            client.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n{dressing(n)}\r\n".encode())
            answered += client.recv(12)[9:12] == b"200"
    return answered


@contextmanager
def _balancer(port: int) -> Iterator[int]:
    """A stock HAProxy load balancer in front of `port`, as an operator puts one (`option
    forwardfor`: it appends the address it met to X-Forwarded-For), on all addresses; its port."""
    at = run.free_port()
    with tempfile.NamedTemporaryFile("w", suffix=".cfg") as config:
        config.write(BALANCER.format(at=at, port=port))
        config.flush()
        balancer = subprocess.Popen(["haproxy", "-db", "-f", config.name])
        try:
            time.sleep(1)
            yield at
        finally:
            balancer.terminate()
            balancer.wait()


@contextmanager
def _routed(network: str) -> Iterator[None]:
    """Every address of `network` local to this machine, so that a client may come from any."""
    subprocess.run(["ip", "-6", "route", "add", "local", network, "dev", "lo"], check=True)
    try:
        yield
    finally:
        subprocess.run(["ip", "-6", "route", "del", "local", network, "dev", "lo"], check=True)


# Issue 104: the log redaction on crafted 10 KB lines: every pair of the fragments its patterns
# start at or run over, repeated, and random mixes of them.

CRAFTS = (
    "://", ":\\/\\/", "a:", "a:b", "@", ":", "/", " ", "password", "=", "'", '"', '\\"', "Key",
    "-id", "eyJ", ".", "ghp_", "bearer ", "Authorization: ", "A1b" * 12, "PK", "%", "[", "_",
    "-----BEGIN RSA PRIVATE KEY-----", "-----", "pass", "pwd", "credentials", "%61",
    "Cookie: ", "Authorization: Digest ", "session", "sig", "sk-", "glpat-", "AKIA", "SG.", "\\",
    "12345678:AA", "M" + "a1" * 12 + ".", "hooks.slack.com/services/", "PRIVATE KEY BLOCK-----",
)  # fmt: skip


def redaction(args: argparse.Namespace) -> dict:
    from cryptopredict.logs import redact  # noqa: PLC0415 (this attack only)

    pairs = [a + b for a in CRAFTS for b in CRAFTS]
    mixes = ["".join(random.Random(n).choices(CRAFTS, k=4000)) for n in range(100)]
    lines = [(each * (10_000 // len(each) + 1))[:10_000] for each in pairs + mixes]
    load = [os.getloadavg()[0]]
    took = []
    for line in lines:
        times = []
        for _ in range(5):
            started = time.perf_counter()
            redact(line)
            times.append(time.perf_counter() - started)
        took.append(min(times))
    load.append(os.getloadavg()[0])
    return {
        "bar": "a crafted 10 KB line redacted in under 5 ms",
        "lines": len(lines),
        "slowest_ms": round(max(took) * 1000, 2),
        "median_ms": round(statistics.median(took) * 1000, 3),
        "load_average": load,
        "holds": max(took) < 0.005,
    }


def head(args: argparse.Namespace) -> dict:
    """`HEAD /bitcoin/forecast.csv` 1,000 times after one GET, in the application itself: the
    bodies built (counted where the CSV is made) and the time of each, against a GET's build."""
    from cryptopredict.api import forecasts  # noqa: PLC0415 (this attack only)
    from cryptopredict.api.app import create_app  # noqa: PLC0415
    from cryptopredict.artifact.store import open_artifacts  # noqa: PLC0415
    from cryptopredict.config import ApiSettings  # noqa: PLC0415

    settings = ApiSettings(model_dir=args.model_dir)
    client = create_app(open_artifacts(args.model_dir), settings).test_client()
    built, build = [], forecasts.csv_response
    forecasts.csv_response = lambda *a, **k: built.append(1) or build(*a, **k)  # type: ignore[assignment]
    load = os.getloadavg()[0]
    started = time.perf_counter()
    whole = client.get(EXPENSIVE)
    get_s = time.perf_counter() - started
    times = []
    for _ in range(1000):
        started = time.perf_counter()
        client.head(EXPENSIVE)
        times.append(time.perf_counter() - started)
    again = client.get(EXPENSIVE, headers={"If-None-Match": whole.headers["ETag"]})
    return {
        "bar": "HEAD of /bitcoin/forecast.csv builds no body; a conditional GET answers 304",
        "get_ms": round(get_s * 1000, 1),
        "head_median_ms": round(statistics.median(times) * 1000, 3),
        "bodies_built": len(built),
        "conditional_status": again.status_code,
        "load_average": load,
        "holds": len(built) == 1 and again.status_code == 304,
    }


# A stop under load.


def keep_asking(port: int, path: str, counters: dict) -> None:
    """Ask for `path` over kept-alive connections until the server refuses to connect; count
    whole answers, requests whose connection closed before the server read them, and losses:
    a request the server read (its connection was not closed idle) whose answer never came
    whole."""
    while True:
        try:
            client = socket.create_connection(("127.0.0.1", port), timeout=10)
        except OSError:
            return  # refused: the proxy has stopped listening
        with client, client.makefile("rb") as answers:
            while True:
                try:
                    client.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                    head = answers.readline()
                except OSError:
                    head = b""
                if not head:  # closed before it read the request: it goes again
                    _count(counters, "closed_idle")
                    break
                closes, length = False, 0
                while (line := answers.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode().partition(":")
                    closes |= name.lower() == "connection" and value.strip() == "close"
                    length = int(value) if name.lower() == "content-length" else length
                whole = head.startswith(b"HTTP/1.1 200") and len(answers.read(length)) == length
                _count(counters, "answered" if whole else "lost")
                if closes:
                    break


def stop(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        path = run.write_paths(Path(scratch), args.model_dir)["near"].read_text().splitlines()[0]
    counters: dict = {}
    with run.running(run.EDGE, args.model_dir) as (process, base):
        run.wait_until_ready(base + "/healthz", timeout=120)
        port = int(base.rsplit(":", 1)[1])
        load = [os.getloadavg()[0]]
        clients = [
            threading.Thread(target=keep_asking, args=(port, path, counters)) for _ in range(16)
        ]
        for client in clients:
            client.start()
        times = probing(port, max(2.0, args.seconds / 6))
        process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        status = process.wait(timeout=30)
        took = time.monotonic() - signalled
        for client in clients:
            client.join(timeout=30)
        load.append(os.getloadavg()[0])
    return {
        "bar": "SIGTERM under 16 clients asking as fast as they can: no request the server read "
        "goes unanswered, status 0 within 6 s; /healthz within 1 s before it",
        "answered": counters.get("answered", 0),
        "lost": counters.get("lost", 0),
        "closed_idle": counters.get("closed_idle", 0),
        "status": status,
        "stopped_in_s": round(took, 2),
        "healthz_probes": len(times),
        "healthz_slowest_s": round(max(times), 3),
        "load_average": load,
        "holds": status == 0 and took < 6 and not counters.get("lost") and max(times) <= 1.0,
    }


def _rps(figures: dict) -> float:
    return figures["requests"] / (figures["duration_us"] / 1e6)


# Bar 4: the minute database frozen after the API connected.


def database(args: argparse.Namespace) -> dict:
    from cryptopredict.collect.replay import read_minutes  # noqa: PLC0415 (this attack only)
    from cryptopredict.minutes.store import MinuteStore  # noqa: PLC0415
    from tests.collect.postgres import PostgresServer  # noqa: PLC0415 (a real server of our own)

    postgres = PostgresServer()
    postgres.start()
    try:
        url = postgres.new_database("market")
        minutes = [
            dataclasses.replace(bar, source="binance")
            for bar in read_minutes(run.ROOT / "data" / "btc-usd-1m.csv.gz", "btc-usd")[-120:]
        ]
        with MinuteStore.open(url) as store:
            store.write(minutes)
        os.environ["DATABASE_URL"] = url
        with tempfile.TemporaryDirectory() as scratch:
            # A date the model serves: `/bitcoin` without one is a 400.
            paths = run.write_paths(Path(scratch), args.model_dir)["near"]
            bitcoin = paths.read_text().splitlines()[0]
        try:
            with api(args.model_dir) as port:
                return _frozen(port, postgres, args.seconds, bitcoin)
        finally:
            del os.environ["DATABASE_URL"]
    finally:
        postgres.thaw()
        postgres.remove()


def _frozen(port: int, postgres, seconds: float, bitcoin_path: str) -> dict:
    price = "/price/btc-usd"
    assert probe(port, price) < 10, "the API could not read the minutes before the freeze"
    load = [os.getloadavg()[0]]
    stop = threading.Event()
    bitcoin: list[float] = []
    prices: list[tuple[float, float, int]] = []  # when asked (s after the freeze), took, status

    def ask_bitcoin() -> None:
        while not stop.is_set():
            bitcoin.append(probe(port, bitcoin_path))
            time.sleep(0.05)

    frozen_at = time.monotonic()
    postgres.freeze()
    asker = threading.Thread(target=ask_bitcoin)
    asker.start()
    try:
        while time.monotonic() - frozen_at < seconds:
            asked = time.monotonic()
            status, took = _status(port, price)
            prices.append((asked - frozen_at, took, status))
            time.sleep(0.5)
    finally:
        postgres.thaw()
    thawed = time.monotonic()
    back = float("inf")
    while time.monotonic() - thawed < 30:
        if _status(port, price)[0] == 200:
            back = time.monotonic() - thawed
            break
        time.sleep(0.1)
    stop.set()
    asker.join()
    load.append(os.getloadavg()[0])
    during = [(took, status) for _, took, status in prices]
    slowest_price = max(took for took, _ in during)
    statuses = sorted({status for _, status in during})
    return {
        "bar": "PostgreSQL frozen (SIGSTOP) after the API connected: /bitcoin within 500 ms, "
        "/price/btc-usd 503 within 5 s, 200 within 10 s of SIGCONT",
        "freeze_s": seconds,
        "bitcoin_answers": len(bitcoin),
        "bitcoin_slowest_s": round(max(bitcoin), 3),
        "bitcoin_median_s": round(statistics.median(bitcoin), 4),
        "price_answers": len(during),
        "price_statuses": statuses,
        "price_slowest_s": round(slowest_price, 3),
        "price_200_after_thaw_s": round(back, 2),
        "load_average": load,
        "holds": max(bitcoin) <= 0.5 and statuses == [503] and slowest_price <= 5 and back <= 10,
    }


def _whole(port: int, path: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
        client.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := client.recv(65536):
            answer += chunk
    return answer


def _answer(port: int, path: str) -> bytes:
    answer = _whole(port, path)
    if not answer.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"{path}: {answer[:300]!r}")
    return answer


def _status(port: int, path: str) -> tuple[int, float]:
    started = time.monotonic()
    try:
        with socket.create_connection(
            ("127.0.0.1", port), timeout=30, source_address=(PROBE_SOURCE, 0)
        ) as client:
            client.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            answer = client.recv(65536)
    except OSError:
        return 0, time.monotonic() - started
    return int(answer[9:12] or 0), time.monotonic() - started


# Bar 5: damaged artifacts.


def artifacts(args: argparse.Namespace) -> dict:
    """Each fault on a copy of the model directory, against a fresh `python api.py`."""
    from tests.crafted import resealed  # noqa: PLC0415 (this attack only)

    faults: dict[str, Callable[[Path], None]] = {
        "sparse 20 GB grid.npy": _sparse_grid,
        "corrupt backtest.json, digest matching": lambda btc: _halved(btc, "backtest.json"),
        "manifest nested 100,000 deep": lambda btc: (btc / "manifest.json").write_text(
            '{"a":' * 100_000 + "1" + "}" * 100_000
        ),
        "NaN in grid.npy, digest matching": _nan_grid,
    }
    results = {}
    for name, damage in faults.items():
        with tempfile.TemporaryDirectory() as scratch:
            copy = Path(scratch) / "artifacts"
            shutil.copytree(args.model_dir, copy)
            damage(copy / "btc-usd")
            if name.endswith("digest matching"):
                resealed(copy / "btc-usd", "grid.npy" if "grid" in name else "backtest.json")
            with api(copy) as port:
                results[name] = _damaged(port)
    return {
        "bar": "btc-usd damaged: its routes 503 naming the file and the asset, never 500; "
        "eth-usd's first answer within 1 s",
        "faults": results,
        "holds": all(each["holds"] for each in results.values()),
    }


def _sparse_grid(btc: Path) -> None:
    with (btc / "grid.npy").open("r+b") as grid:
        grid.truncate(20 * 10**9)


def _halved(btc: Path, name: str) -> None:
    data = (btc / name).read_bytes()
    (btc / name).write_bytes(data[: len(data) // 2])


def _nan_grid(btc: Path) -> None:
    import numpy as np  # noqa: PLC0415

    grid = np.load(btc / "grid.npy", mmap_mode="r+")
    grid["yhat"][len(grid["yhat"]) // 2] = np.nan
    grid.flush()


def _damaged(port: int) -> dict:
    load = os.getloadavg()[0]
    eth = probe(port, "/forecast/eth-usd?date=2026-07-01")
    answers = {}
    for route in (
        "/bitcoin?date=2026-07-01",
        "/forecast/btc-usd?date=2026-07-01",
        "/model/btc-usd",
    ):
        status, body = _fetched(port, route)
        answers[route] = {"status": status, "detail": body.get("detail", "")[:200]}
    names = all(
        "btc-usd" in each["detail"] and (".npy" in each["detail"] or ".json" in each["detail"])
        for each in answers.values()
    )
    return {
        "eth_first_answer_s": round(eth, 3),
        "btc": answers,
        "load_average": load,
        "holds": eth <= 1.0 and names and {a["status"] for a in answers.values()} == {503},
    }


def _fetched(port: int, path: str) -> tuple[int, dict]:
    answer = _whole(port, path)
    head, _, body = answer.partition(b"\r\n\r\n")
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = {}
    return int(head[9:12] or 0), parsed if isinstance(parsed, dict) else {}


ATTACKS: dict[str, Callable[[argparse.Namespace], dict]] = {
    "pipelining": pipelining,
    "drip": drip,
    "headers": headers,
    "slow-body": slow_body,
    "stop": stop,
    "database": database,
    "artifacts": artifacts,
    "edge-104": edge_104,
    "edge-113": edge_113,
    "edge-118": edge_118,
    "redaction": redaction,
    "head": head,
}


def _allow_open_files(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


if __name__ == "__main__":
    sys.exit(main())
