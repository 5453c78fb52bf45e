"""How far a track record thinned at long leads lies from the whole record, in the whole
record's standard errors (issue 68, "a bounded track record"): `python -m bench.record_thinning`.

A year of six-hourly issues on the embedded BTC/USD hourly closes (its last 13 months), each a
forecast from the last close with a band of trailing 30-day volatility scaled by the square root
of the lead (the served band's shape; naive's 30% wider), scored by the API's own code
(`api/serving/track_record.py`). Then the same issues with each lead longer than the issues'
spacing kept only every `lead / k` hours (k = 1: the spacing at which a lead's windows stop
overlapping; 2 and 4 keep more), scored again: per lead, the largest and the median difference
of a figure's mean (coverage, interval score, their differences with naive's, the point's error)
in the whole record's standard errors, and of the standard error itself, relative.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from cryptopredict.api.serving.track_record import Estimate, record
from cryptopredict.artifact.record import RECORD_VERSION, PairRecord, RecordIssue, RecordNote
from cryptopredict.data.snapshot import SnapshotSource

HOUR = 3600
SPACING = 6 * HOUR
LEADS_HOURS = (1, 2, 3, 4, 5, 6, 8, 12, 18, 24, 36, 48, *range(72, 30 * 24 + 1, 24))
Z = {50: 0.6745, 80: 1.2816, 95: 1.96}


def closes() -> tuple[np.ndarray, np.ndarray]:
    """The embedded hourly BTC/USD closes and the instants their bars end."""
    frame = pd.read_csv(SnapshotSource().data_dir / "btc-usd-1h.csv.gz", parse_dates=["timestamp"])
    ends = frame["timestamp"].dt.tz_localize(None).to_numpy().astype("datetime64[s]")
    return frame["close"].to_numpy(float), ends.astype(np.int64) + HOUR


def band(price: float, sigma: float, widen: float) -> list[float]:
    row = [price]
    for level in (50, 80, 95):
        row += [price * np.exp(-Z[level] * sigma * widen), price * np.exp(Z[level] * sigma * widen)]
    return row


def year_of_issues() -> PairRecord:
    close, ends = closes()
    at_end = dict(zip(ends.tolist(), close.tolist(), strict=True))
    returns = np.diff(np.log(close))
    issues = []
    for row in range(len(close) - 395 * 24, len(close) - 30 * 24, SPACING // HOUR):
        until, sigma = int(ends[row]), float(returns[row - 30 * 24 : row].std())
        leads = [hours * HOUR for hours in LEADS_HOURS]
        issues.append(
            RecordIssue(
                model_version="bench",
                data_until=until,
                issued_at=until,
                leads=leads,
                served=[band(close[row], sigma * np.sqrt(h), 1.05) for h in LEADS_HOURS],
                naive=[band(close[row], sigma * np.sqrt(h), 1.3) for h in LEADS_HOURS],
                closes=[at_end.get(until + lead) for lead in leads],
            )
        )
    return PairRecord(
        RECORD_VERSION, "btc-usd", "BTC/USD", RecordNote(0, "bench"), int(ends[-1]), issues
    )


def thinned(whole: PairRecord, per_window: int) -> PairRecord:
    """`whole` with each lead longer than the spacing kept every `lead / per_window`."""
    kept_at: dict[int, int] = {}
    issues = []
    for issue in whole.issues:
        keep = [
            k
            for k, lead in enumerate(issue.leads)
            if issue.data_until >= kept_at.get(lead, -(2**62)) + max(SPACING, lead // per_window)
        ]
        kept_at.update({issue.leads[k]: issue.data_until for k in keep})
        issues.append(
            RecordIssue(
                issue.model_version,
                issue.data_until,
                issue.issued_at,
                [issue.leads[k] for k in keep],
                [issue.served[k] for k in keep],
                [issue.naive[k] for k in keep] if issue.naive else None,
                [issue.closes[k] for k in keep],
            )
        )
    return PairRecord(
        whole.record_version, whole.asset, whole.symbol, whole.started, whole.scored_until, issues
    )


def figures(baked: PairRecord) -> dict[tuple[int, str], Estimate]:
    found = {}
    for lead in record(baked).leads:
        hours = lead.lead // HOUR
        found[hours, "error"], found[hours, "error - naive"] = lead.error, lead.error_difference
        for level in lead.levels:
            found[hours, f"coverage {level.level}"] = level.coverage
            found[hours, f"score {level.level}"] = level.interval_score
            found[hours, f"score {level.level} - naive"] = level.difference
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--per-window", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    whole = year_of_issues()
    full = figures(whole)
    rows = sum(len(issue.leads) for issue in whole.issues)
    print(f"{len(whole.issues)} issues, {rows} issue-leads, {len(LEADS_HOURS)} leads")
    for per_window in args.per_window:
        thin = thinned(whole, per_window)
        kept = sum(len(issue.leads) for issue in thin.issues)
        print(f"\nkept every lead / {per_window}: {kept} issue-leads ({kept / rows:.0%})")
        print("lead h | mean moved, SE: max median | SE moved, relative: max")
        found = figures(thin)
        for hours in LEADS_HOURS:
            pairs = [
                (abs(thin_mean - est.mean) / est.se, abs((found[key].se or np.nan) / est.se - 1))
                for key, est in full.items()
                if key[0] == hours
                and est.se
                and est.mean is not None
                and (thin_mean := found[key].mean) is not None
            ]
            if hours * HOUR <= SPACING or not pairs:
                continue
            moved = np.array(pairs)
            print(
                f"{hours:6d} | {moved[:, 0].max():5.2f} {np.median(moved[:, 0]):5.2f} | "
                f"{np.nanmax(moved[:, 1]) if np.isfinite(moved[:, 1]).any() else float('nan'):5.2f}"
            )


if __name__ == "__main__":
    main()
