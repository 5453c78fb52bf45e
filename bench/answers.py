"""Issue 68, bar 2: every answer two model directories give, compared (the same pairs trained
by two versions of the code: the release before a change of the artifact's layout, and after).

- `python -m bench.answers dump MODELS OUT`: under the code that reads MODELS, asks the API
  (Flask's test client) for each pair's forecast over its whole range, hour by hour, at every
  band level (`/forecast/{asset}/range`), at one instant of every 7 hours and 30 minutes across
  it (`/forecast/{asset}`, and `/bitcoin` for btc-usd), and for its candles: 1h and 4h over the
  last 90 days, 1d and 1w over the whole history (`/candles/{asset}`); writes each answer,
  status and body, into OUT/<pair>.json.gz. Run it with the older code from a checkout of it:
  `PYTHONPATH=<checkout> python bench/answers.py dump ...`.
- `python -m bench.answers compare BEFORE AFTER`: per route, how many answers are the same
  byte for byte, how many no longer answer, and where a value moved: by how much, relative to
  the price and to the band's half-width, within the last 90 days of the data and before.

Prints a table and writes `reports/bench-answers.json`.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from cryptopredict.api.app import create_app
from cryptopredict.artifact.store import open_artifacts
from cryptopredict.config import ApiSettings

REPORTS = Path(__file__).parents[1] / "reports"
HOUR = 3600
DAY = 86_400
RECENT_DAYS = 90
LEVELS = (50, 80, 95)
POINT_EVERY = 7 * HOUR + 1800  # an instant on every hour of the day and between hours


def iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch(text: str) -> int:
    return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())


def dump(models: Path, out: Path) -> None:
    settings = ApiSettings(forecast_max_points=100_000, candles_max_points=100_000)
    client = create_app(open_artifacts(models), settings).test_client()
    out.mkdir(parents=True, exist_ok=True)
    for info in client.get("/assets?limit=1000").get_json()["assets"]:
        slug = info["asset"]
        first, end = epoch(info["valid_from"]), epoch(info["valid_until"])
        first_bar, last_bar = epoch(info["first_bar"]), epoch(info["last_bar"])
        urls = [
            f"/forecast/{slug}/range?start={iso(first)}&end={iso(end)}&level={level}"
            for level in LEVELS
        ]
        points = [f"/forecast/{slug}?date={iso(at)}" for at in range(first, end, POINT_EVERY)]
        if slug == "btc-usd":
            points += [f"/bitcoin?date={iso(at)}" for at in range(first, end, POINT_EVERY)]
        recent = last_bar - RECENT_DAYS * DAY
        urls += [
            *points,
            f"/candles/{slug}?interval=1h&start={iso(recent)}",
            f"/candles/{slug}?interval=4h&start={iso(recent)}",
            f"/candles/{slug}?interval=1d&start={iso(first_bar)}",
            f"/candles/{slug}?interval=1w&start={iso(first_bar)}",
        ]
        answers = {}
        for url in urls:
            response = client.get(url)
            answers[url] = {"status": response.status_code, "body": response.get_json()}
        with gzip.open(out / f"{slug}.json.gz", "wt") as file:
            json.dump({"last_bar": last_bar, "answers": answers}, file)
        print(f"{slug}: {len(answers)} answers", file=sys.stderr)


def route_of(url: str) -> str:
    path = url.split("?", 1)[0]
    if path.startswith("/candles/"):
        return f"/candles ({url.split('interval=', 1)[1].split('&', 1)[0]})"
    if path.endswith("/range"):
        return "/forecast/{asset}/range"
    return "/bitcoin" if path == "/bitcoin" else "/forecast/{asset}"


class Moves:
    """How far answers' values moved, recent (the data's last 90 days and the forecast) and
    older."""

    def __init__(self) -> None:
        self.point: dict[str, list[float]] = defaultdict(list)  # relative to the point
        self.band: dict[str, list[float]] = defaultdict(list)  # relative to the half-width
        self.other: set[str] = set()  # fields that changed but are no prices

    def add(self, age: str, before: dict[str, Any], after: dict[str, Any]) -> None:
        for name in before.keys() | after.keys():
            if before.get(name) == after.get(name):
                continue
            if name not in {"prediction", "prediction_low", "prediction_high"}:
                self.other.add(name)
                continue
            old, new = (
                np.atleast_1d(before[name]).astype(float),
                np.atleast_1d(after[name]).astype(float),
            )
            centre = np.atleast_1d(before["prediction"]).astype(float)
            half = np.maximum(
                np.asarray(before["prediction_high"], float) - centre,
                centre - np.asarray(before["prediction_low"], float),
            )
            if name == "prediction":
                self.point[age] += (np.abs(new - old) / old).tolist()
            else:
                self.band[age] += (np.abs(new - old) / np.where(half > 0, half, np.inf)).tolist()


def compare(before_dir: Path, after_dir: Path) -> dict[str, Any]:
    routes: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    moves = Moves()
    for file in sorted(before_dir.glob("*.json.gz")):
        with gzip.open(file, "rt") as opened:
            before = json.load(opened)
        with gzip.open(after_dir / file.name, "rt") as opened:
            after = json.load(opened)
        recent = before["last_bar"] - RECENT_DAYS * DAY
        for url, old in before["answers"].items():
            new = after["answers"][url]
            tally = routes[route_of(url)]
            tally["asked"] += 1
            if old["status"] != 200:
                tally["not answered before"] += 1
            elif new["status"] != 200:
                tally["no longer answered"] += 1
            elif old["body"] == new["body"]:
                tally["the same"] += 1
            else:
                tally["changed"] += 1
                split_by_age(moves, recent, old["body"], new["body"])
    return {
        "routes": {route: dict(tally) for route, tally in routes.items()},
        "moved": {
            age: {
                "bounds": len(moves.band[age]),
                "points_moved": sum(value > 0 for value in moves.point[age]),
                "point_max": max(moves.point[age], default=0.0),
                "band_median": _median(moves.band[age]),
                "band_p99": _quantile(moves.band[age], 0.99),
                "band_max": max(moves.band[age], default=0.0),
            }
            for age in ("recent", "older")
        },
        "other_fields_changed": sorted(moves.other),
    }


def split_by_age(moves: Moves, recent: int, old: dict[str, Any], new: dict[str, Any]) -> None:
    """The values that moved, each as recent (instants after `recent`) or older."""
    if "prediction" not in old:  # candles
        moves.other |= {f"candles' {name}" for name in old if old[name] != new.get(name)}
        return
    if "date" not in old or not isinstance(old["date"], list):  # one instant
        age = "recent" if epoch(old["date"]) > recent + HOUR else "older"
        moves.add(age, old, new)
        return
    dates = np.array([epoch(date) for date in old["date"]])
    for age, where in (("recent", dates > recent + HOUR), ("older", dates <= recent + HOUR)):
        pick = np.flatnonzero(where)
        columns = ("prediction", "prediction_low", "prediction_high")
        moves.add(
            age,
            {name: [old[name][i] for i in pick] for name in columns},
            {name: [new[name][i] for i in pick] for name in columns},
        )
    rest = set(old) - {"prediction", "prediction_low", "prediction_high"}
    moves.other |= {name for name in rest if old[name] != new.get(name)}


def _median(values: list[float]) -> float:
    changed = [value for value in values if value > 0]
    return statistics.median(changed) if changed else 0.0


def _quantile(values: list[float], q: float) -> float:
    changed = [value for value in values if value > 0]
    return float(np.quantile(changed, q)) if changed else 0.0


def table(summary: dict[str, Any]) -> str:
    lines = ["| route | asked | the same | changed | no longer answered |", "|---|---|---|---|---|"]
    for route, tally in sorted(summary["routes"].items()):
        cells = [tally.get(key, 0) for key in ("asked", "the same", "changed")]
        cells.append(tally.get("no longer answered", 0))
        lines.append(f"| {route} | " + " | ".join(f"{cell:,}" for cell in cells) + " |")
    lines.append("")
    for age, moved in summary["moved"].items():
        lines.append(
            f"{age}: {moved['bounds']:,} band bounds in changed answers; those that moved, by a "
            f"median {moved['band_median']:.1%} of the band's half-width (99th percentile "
            f"{moved['band_p99']:.1%}, at most {moved['band_max']:.1%}); "
            f"{moved['points_moved']:,} point forecasts moved, at most {moved['point_max']:.2%}"
        )
    lines.append(f"other fields changed: {', '.join(summary['other_fields_changed']) or 'none'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.answers", description=__doc__)
    parser.add_argument("what", choices=("dump", "compare"))
    parser.add_argument("first", type=Path)
    parser.add_argument("second", type=Path)
    args = parser.parse_args(argv)
    if args.what == "dump":
        dump(args.first, args.second)
        return 0
    summary = compare(args.first, args.second)
    print(table(summary))
    REPORTS.mkdir(exist_ok=True)
    (REPORTS / "bench-answers.json").write_text(json.dumps(summary, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
