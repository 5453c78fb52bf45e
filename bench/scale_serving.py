"""Serving at scale (`make bench-scale`, the serving half): what the API costs as the pairs it
serves grow from 2 to 50 to 206 (issue 22, bar 4).

The pairs are artifacts trained with `--no-backtest` on `bench/data/binance-perp-206pairs-1d.csv.gz`
(206 Binance perpetual-futures pairs, daily: a different instrument from spot, used here for the
serving cost only), into `--model-dir` (trained there first when it holds fewer than 206).
Each set is the first N pairs by slug: a model directory of its own, linking to the same
artifacts, with its own index. For each, `python api.py` as served (`bench.run.running`):

1. cold start: from process start to the first 200 from `/forecast/{first pair}` (the API lists
   the pairs from the index, then opens that one artifact), median of `--starts`, the starts
   interleaved across the sets so that a slow spell of the machine falls on all of them;
2. resident memory (VmRSS) once `/assets` has answered (it must list N), and again after (3);
3. p50 latency of `/forecast/{asset}?date=` for the first and the last pair of the set, one
   connection, `--seconds` each (wrk, 100 dates spread over the pair's history and horizon).

Bar 4: serving 50 pairs, memory at most 1.25x and cold start at most 1.5x serving 2. The table
prints each figure and its ratio to the 2-pair figure; `--json` writes them too.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.run import SERVERS, resident_mb, running, wait_until_ready, wrk
from bench.scale_training import MAX_BAR_JUMP
from cryptopredict.artifact.index import read_index, record

ROOT = Path(__file__).parents[1]
DATA = ROOT / "bench" / "data" / "binance-perp-206pairs-1d.csv.gz"
MODEL_DIR = ROOT / ".cache" / "bench-scale" / "serving"
SETS = (2, 50, 206)
DATES = 100
API = SERVERS[0]  # `python api.py`
BAR_MEMORY, BAR_COLD_START = 1.25, 1.5  # at 50 pairs, against 2


@dataclass
class Figures:
    pairs: int
    listed: int
    first: str
    last: str
    cold_starts_s: list[float]
    rss_listed_mb: float = 0.0
    rss_after_mb: float = 0.0
    first_p50_ms: float = 0.0
    last_p50_ms: float = 0.0

    @property
    def cold_start_s(self) -> float:
        return statistics.median(self.cold_starts_s)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=MODEL_DIR)
    parser.add_argument("--starts", type=int, default=5, help="cold starts per set")
    parser.add_argument("--seconds", type=int, default=3, help="latency run per pair")
    parser.add_argument("--sets", default=",".join(map(str, SETS)), help="pair counts")
    parser.add_argument("--json", type=Path, default=ROOT / "reports" / "bench-scale-serving.json")
    args = parser.parse_args(argv)
    counts = [int(count) for count in args.sets.split(",")]
    slugs = trained_pairs(args.model_dir, max(counts))
    with tempfile.TemporaryDirectory(prefix="bench-scale-serving-") as scratch:
        sets = {count: pair_set(args.model_dir, slugs[:count], Path(scratch)) for count in counts}
        figures = measure(sets, slugs, starts=args.starts, seconds=args.seconds)
    print(table(figures))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    report = [{**asdict(found), "cold_start_s": found.cold_start_s} for found in figures]
    args.json.write_text(json.dumps(report, indent=1) + "\n")
    return 0


def trained_pairs(model_dir: Path, count: int) -> list[str]:
    """The slugs of the artifacts under `model_dir`, training the bench's pairs there first
    (`--no-backtest`) when it holds fewer than `count`."""
    entries = read_index(model_dir) if model_dir.is_dir() else None
    if entries is None or len(entries) < count:
        train(model_dir)
        entries = read_index(model_dir) or {}
    if len(entries) < count:
        raise SystemExit(f"{model_dir} holds {len(entries)} trained pairs, fewer than {count}")
    return sorted(entries)


def train(model_dir: Path) -> None:
    from cryptopredict.assets import slug_for_binance  # noqa: PLC0415

    with gzip.open(DATA, "rt") as file:
        symbols = {line.split(",", 1)[0] for line in file if not line.startswith("symbol,")}
    slugs = [slug_for_binance(symbol) for symbol in sorted(symbols)]
    print(f"training {len(slugs)} pairs with --no-backtest into {model_dir}", flush=True)
    environment = {
        **os.environ,
        "ASSETS": ",".join(slugs),
        "LOG_LEVEL": "WARNING",
        "MAX_BAR_JUMP": str(MAX_BAR_JUMP),
    }
    command = ["train.py", "--all", "--csv", str(DATA), "--interval", "1d", "--no-backtest"]
    subprocess.run(
        [sys.executable, *command, "--out", str(model_dir)], cwd=ROOT, env=environment, check=True
    )


def pair_set(model_dir: Path, slugs: list[str], scratch: Path) -> Path:
    """A model directory serving `slugs`: their artifacts' files hard-linked (the API follows
    no symbolic link out of its model directory), and its own index."""
    directory = scratch / f"{len(slugs)}-pairs"
    directory.mkdir()
    for slug in slugs:
        shutil.copytree(model_dir / slug, directory / slug, copy_function=_link_or_copy)
    record(directory, None, afresh=True)
    return directory


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system
        shutil.copy2(source, target)


def dates(model_dir: Path, slug: str) -> list[str]:
    """`DATES` instants of `slug`'s valid range, half in its history and half past it, on
    knots and between them."""
    entry = (read_index(model_dir) or {})[slug]
    back = (entry.last_bar - entry.grid_first) // (DATES // 2)
    history = [entry.grid_first + i * back for i in range(DATES // 2)]
    ahead = (entry.grid_last - entry.last_bar) // (DATES // 2 + 1)
    future = [entry.last_bar + (i + 1) * ahead for i in range(DATES // 2)]
    quarter = [(i % 4) * 900 for i in range(DATES)]
    return [_iso(epoch + shift) for epoch, shift in zip(history + future, quarter, strict=True)]


def measure(sets: dict[int, Path], slugs: list[str], *, starts: int, seconds: int) -> list[Figures]:
    figures = {count: Figures(count, 0, slugs[0], slugs[count - 1], []) for count in sets}
    for _ in range(starts):
        for count, directory in sets.items():
            figures[count].cold_starts_s.append(cold_start(directory, figures[count].first))
    with tempfile.TemporaryDirectory(prefix="bench-scale-paths-") as scratch:
        for count, directory in sets.items():
            found = figures[count]
            paths = {}
            for which in (found.first, found.last):
                paths[which] = Path(scratch) / f"{count}-{which}.txt"
                lines = [f"/forecast/{which}?date={date}" for date in dates(directory, which)]
                paths[which].write_text("\n".join(lines) + "\n")
            with running(API, directory) as (process, base):
                wait_until_ready(f"{base}/healthz", timeout=120)
                with urllib.request.urlopen(f"{base}/assets", timeout=30) as answer:
                    found.listed = len(json.load(answer)["assets"])
                found.rss_listed_mb = resident_mb(process.pid)
                first = wrk(base, paths[found.first], connections=1, seconds=seconds)
                last = wrk(base, paths[found.last], connections=1, seconds=seconds)
                found.rss_after_mb = resident_mb(process.pid)
            if first["non_2xx"] or last["non_2xx"]:
                raise SystemExit(f"{count} pairs: some /forecast answers were not 200")
            found.first_p50_ms = first["p50_us"] / 1000
            found.last_p50_ms = last["p50_us"] / 1000
            print(f"{count} pairs measured", flush=True)
    return [figures[count] for count in sets]


def cold_start(directory: Path, first: str) -> float:
    started = time.monotonic()
    with running(API, directory) as (_, base):
        wait_until_ready(f"{base}/forecast/{first}?date={dates(directory, first)[0]}", timeout=120)
        return time.monotonic() - started


def table(figures: list[Figures]) -> str:
    base = figures[0]
    rows = [
        ("pairs served", lambda f: f"{f.pairs}", None),
        ("/assets lists", lambda f: f"{f.listed}", None),
        ("cold start, s (median)", lambda f: f"{f.cold_start_s:.3f}", "cold_start_s"),
        (
            "resident memory, /assets answered, MB",
            lambda f: f"{f.rss_listed_mb:.1f}",
            "rss_listed_mb",
        ),
        (
            "resident memory after the latency runs, MB",
            lambda f: f"{f.rss_after_mb:.1f}",
            "rss_after_mb",
        ),
        ("/forecast/{first} p50, ms", lambda f: f"{f.first_p50_ms:.2f}", "first_p50_ms"),
        ("/forecast/{last} p50, ms", lambda f: f"{f.last_p50_ms:.2f}", "last_p50_ms"),
    ]
    head = ["figure", *(f"{found.pairs} pairs" for found in figures)]
    head += [f"{found.pairs} / {base.pairs}" for found in figures[1:]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, shown, key in rows:
        cells = [name, *(shown(found) for found in figures)]
        for found in figures[1:]:
            ratio = getattr(found, key) / getattr(base, key) if key else None
            cells.append(f"{ratio:.2f}x" if ratio is not None else "")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(f"first and last pairs: {', '.join(f'{f.first} .. {f.last}' for f in figures)}")
    lines.append(
        "cold starts, s: "
        + "; ".join(
            f"{f.pairs}: " + ", ".join(f"{s:.3f}" for s in f.cold_starts_s) for f in figures
        )
    )
    fifty = next((found for found in figures if found.pairs == 50), None)
    if fifty is not None and base.pairs == 2:
        memory = fifty.rss_after_mb / base.rss_after_mb
        cold = fifty.cold_start_s / base.cold_start_s
        verdicts = (
            f"memory {memory:.2f}x (at most {BAR_MEMORY}x: {_holds(memory <= BAR_MEMORY)})",
            f"cold start {cold:.2f}x (at most {BAR_COLD_START}x: {_holds(cold <= BAR_COLD_START)})",
            f"/assets lists {fifty.listed} ({_holds(fifty.listed == 50)})",
        )
        lines.append(f"bar 4, 50 pairs against 2: {'; '.join(verdicts)}")
    return "\n".join(lines)


def _holds(condition: bool) -> str:
    return "holds" if condition else "does not hold"


def _iso(epoch: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


if __name__ == "__main__":
    sys.exit(main())
