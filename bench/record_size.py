"""What the track record costs and how near its figures stay to exact ones (issue 68, "a bounded
track record"): `python -m bench.record_size [year] [releases]`.

The record keeps a scored row's outcomes in whole steps of its lead's unit
(`artifact/record_rows.py`); the API's figures are means of them. Each part writes a record in
the current format, reads it back as the API does, and sets every figure (`serving.track_record`:
per lead, the error, the interval scores and their differences with naive's, coverage) beside
the same figure from the rows' exact outcomes, as format 1 gave them: how far each mean moved,
in its exact standard errors (the bar: a twentieth), and each standard error, relative (the
bar: 2%).

- `year`: a year of six-hourly issues on the embedded BTC/USD hourly closes (its last 13
  months), a trailing 30-day volatility band scaled by the square root of the lead (naive's 30%
  wider), every lead the API keeps: the record's bytes a year.
- `releases`: twenty BTC/USD releases six hours apart, then one forty days later, each
  extending the last (`train.py --until T --previous`, in a temporary directory, or `--keep
  DIR`; about 20 s a release): the record's bytes per issue times 1,460 (the bar: 300 KB).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from cryptopredict.api.serving.track_record import RecordRows, lead_record
from cryptopredict.api.types.track_record import Estimated
from cryptopredict.artifact.read import open_artifact
from cryptopredict.artifact.record import SUFFIX, read_records, record_dir, write_record
from cryptopredict.artifact.record_rows import (
    OUTCOMES,
    PairRecord,
    RecordIssue,
    RecordNote,
    inside_bits,
    outcomes,
)
from cryptopredict.config import ApiSettings
from cryptopredict.data.snapshot import SnapshotSource
from cryptopredict.training.record import DAY_LEADS, issue_of

HOUR = 3600
SPACING = 6 * HOUR
ROOT = Path(__file__).parents[1]
LEADS_HOURS = (1, 2, 3, 4, 5, 6, 8, 12, 18, *DAY_LEADS)
Z = {50: 0.6745, 80: 1.2816, 95: 1.96}
HORIZON_DAYS = ApiSettings().max_horizon_days
FIRST = datetime(2026, 2, 1, tzinfo=UTC)


def embedded_closes() -> dict[int, float]:
    """The embedded hourly BTC/USD closes, by the instant each bar ends."""
    frame = pd.read_csv(SnapshotSource().data_dir / "btc-usd-1h.csv.gz", parse_dates=["timestamp"])
    ends = frame["timestamp"].dt.tz_localize(None).to_numpy().astype("datetime64[s]")
    return dict(zip((ends.astype(np.int64) + HOUR).tolist(), frame["close"].tolist(), strict=True))


def band(price: float, sigma: float, widen: float) -> list[float]:
    row = [price]
    for level in (50, 80, 95):
        spread = Z[level] * sigma * widen
        row += [round(price * np.exp(-spread), 2), round(price * np.exp(spread), 2)]
    return row


def year_of_issues(closes: dict[int, float]) -> list[RecordIssue]:
    ends = np.array(sorted(closes))
    close = np.array([closes[end] for end in ends])
    returns = np.diff(np.log(close))
    issues = []
    for row in range(len(close) - 395 * 24, len(close) - 30 * 24, SPACING // HOUR):
        until, sigma = int(ends[row]), float(returns[row - 30 * 24 : row].std())
        issues.append(
            RecordIssue(
                model_version="bench",
                data_until=until,
                issued_at=until,
                leads=[hours * HOUR for hours in LEADS_HOURS],
                served=[band(close[row], sigma * np.sqrt(h), 1.05) for h in LEADS_HOURS],
                naive=[band(close[row], sigma * np.sqrt(h), 1.3) for h in LEADS_HOURS],
                closes=[None] * len(LEADS_HOURS),
            )
        )
    return issues


def recorded(issues: list[RecordIssue], closes: dict[int, float]) -> PairRecord:
    """The record of `issues`, as releases make it, scored on `closes` up to their last."""
    found = PairRecord("btc-usd", "BTC/USD", RecordNote(0, "bench"), max(closes))
    for issue in issues:
        found = found.issued(issue)
    return found.scored_on(closes)


def exact_rows(issues: list[RecordIssue], closes: dict[int, float]) -> RecordRows:
    """Every row of `issues` with its exact outcomes, as format 1 scored them."""
    until = np.array([i.data_until for i in issues for _ in i.leads], dtype=np.int64)
    lead = np.array([lead for i in issues for lead in i.leads], dtype=np.int64)
    served = np.array([row for i in issues for row in i.served], dtype=np.float64)
    naive = np.array([row for i in issues for row in (i.naive or [])], dtype=np.float64)
    close = np.array([closes.get(at, np.nan) for at in (until + lead).tolist()])
    known = np.isfinite(close)
    values = np.full((len(close), len(OUTCOMES)), np.nan)
    bits = np.zeros(len(close), dtype=np.int64)
    values[known] = outcomes(served[known], naive[known], close[known])
    bits[known] = inside_bits(served[known], naive[known], close[known])
    return RecordRows(until, lead, until + lead, known, values, bits)


def figures(rows: RecordRows, now: int) -> dict[tuple[int, str], Estimated]:
    found = {}
    for lead in np.unique(rows.lead).tolist():
        at = lead_record(rows, lead, now)
        hours = lead // HOUR
        found[hours, "error"], found[hours, "error - naive"] = at.error, at.error_difference
        for name, level in at.levels.items():
            found[hours, f"coverage {name}"] = level.coverage
            found[hours, f"score {name}"] = level.interval_score
            found[hours, f"score {name} - naive"] = level.difference
    return found


def compare(issues: list[RecordIssue], closes: dict[int, float], label: str) -> None:
    """Write `issues`' record, read it back, and set its figures beside the exact ones."""
    with tempfile.TemporaryDirectory() as directory:
        kept = recorded(issues, closes)
        write_record(Path(directory), kept, None)
        size = (record_dir(Path(directory)) / f"btc-usd{SUFFIX}").stat().st_size
        read = read_records(Path(directory))
        assert read is not None
    report(label, read["btc-usd"], size, figures(exact_rows(issues, closes), max(closes)))


def report(
    label: str, kept: PairRecord, size: int, exact: dict[tuple[int, str], Estimated]
) -> None:
    found = figures(RecordRows.of(kept), kept.scored_until)
    moved, spread = [], []
    for key, truth in exact.items():
        mine = found[key]
        if truth.se and truth.mean is not None and mine.mean is not None:
            moved.append((abs(mine.mean - truth.mean) / truth.se, key))
            spread.append((abs((mine.se or np.nan) / truth.se - 1), key))
    count = kept.count
    print(
        f"{label}: {count.issues} issues, {count.scored} rows scored, {len(kept.pending.issue)} "
        f"pending; {size:,} bytes, {size / count.issues:.0f} an issue, x 1,460 = "
        f"{size / count.issues * 1460 / 1000:.0f} KB"
    )
    if moved:
        worst, where = max(moved)
        print(
            f"  {len(moved)} figures with a standard error: means moved by at most "
            f"{worst:.3f} SE ({where[1]} at {where[0]} h), median "
            f"{np.median([m for m, _ in moved]):.4f}; standard errors by at most "
            f"{max(s for s, _ in spread):.2%}"
        )


def releases() -> list[str]:
    """The releases' data ends: twenty six hours apart, then one forty days after the last."""
    ends = [FIRST + timedelta(hours=6 * k) for k in range(20)]
    return [at.strftime("%Y-%m-%dT%H:%M") for at in [*ends, ends[-1] + timedelta(days=40)]]


def trained(into: Path) -> list[Path]:
    """Each release's model directory, each trained on the one before (`--previous`)."""
    dirs: list[Path] = []
    for until in releases():
        out = into / until.replace(":", "")
        command = [sys.executable, "train.py", "--asset", "btc-usd", "--source", "snapshot"]
        command += ["--until", until, "--out", str(out)]
        command += ["--previous", str(dirs[-1])] if dirs else []
        env = {**os.environ, "MODEL_VERSION": f"bench-{until}", "LOG_LEVEL": "WARNING"}
        env["CRYPTOPREDICT_CACHE"] = str(into / "history")
        print(f"training {until}", flush=True)
        subprocess.run(command, cwd=ROOT, env=env, check=True)
        dirs.append(out)
    return dirs


def release_record(into: Path) -> None:
    dirs = trained(into)
    last = dirs[-1]
    file = record_dir(last) / f"btc-usd{SUFFIX}"
    kept = (read_records(last) or {})["btc-usd"]
    issues = [
        issue_of(open_artifact(directory / "btc-usd"), 0, max_horizon_days=HORIZON_DAYS)
        for directory in dirs
    ]
    history = open_artifact(last / "btc-usd").history
    ends = np.asarray(history.ds, dtype=np.int64) + HOUR
    closes = dict(zip(ends.tolist(), history["close"].tolist(), strict=True))
    exact = figures(exact_rows(issues, closes), kept.scored_until)
    report("releases", kept, file.stat().st_size, exact)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("parts", nargs="*", choices=["year", "releases"], default=["year"])
    parser.add_argument("--keep", type=Path, help="train the releases here, and keep them")
    args = parser.parse_args()
    if "year" in args.parts:
        closes = embedded_closes()
        compare(year_of_issues(closes), closes, "a year of six-hourly issues")
    if "releases" in args.parts and args.keep:
        release_record(args.keep)
    elif "releases" in args.parts:
        with tempfile.TemporaryDirectory() as directory:
            release_record(Path(directory))


if __name__ == "__main__":
    main()
