"""The track record: every forecast a release issued of an asset, as the release baked it
(`artifact/record.py`), scored lead by lead once it fell due, against the price at its valid
instant (the close of the hourly bar ending then, as a later release fetched it), beside the
naive forecast issued with it.

Per lead, over the issues: how many were issued, how many are due (their valid instant is no
later than the data's end of the newest release), how many are scored (a close was fetched for
it; a lead due without one fell in a gap of the exchange's bars); the point's absolute
percentage error and naive's;
per band, the share of prices it held and its interval score (on log prices, lower is better)
beside naive's, with their difference. Each mean carries the standard error across issue times
(`estimate`, the one estimator of `cryptopredict.standard_error`): issues whose windows overlap
(closer together than the lead) share part of one price path, and a lead with too few
independent issues for its critical values says so instead of a verdict.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cryptopredict.artifact.record_rows import NAIVE_BIT, OUTCOMES, PairRecord, RecordNote
from cryptopredict.artifact.schema import LEVELS, BandVerdict
from cryptopredict.standard_error import MeanSE, mean_se

HOUR = 3600


@dataclass(frozen=True)
class RecordRows:
    """A record's rows, a row an issue at a lead: pending, or scored with its outcomes."""

    data_until: np.ndarray
    lead: np.ndarray  # seconds
    valid_at: np.ndarray
    scored: np.ndarray  # whether a close was fetched for it
    values: np.ndarray  # (rows, len(OUTCOMES)), NaN where pending
    bits: np.ndarray  # which bands held the close (`record_rows.inside_bits`), 0 where pending

    @classmethod
    def of(cls, record: PairRecord) -> RecordRows:
        pending, scored = record.pending, record.scored
        values, bits = record.outcomes()
        until = np.concatenate([record.data_until(pending), record.data_until(scored)])
        lead = np.concatenate([pending.lead, scored.lead])
        return cls(
            data_until=until,
            lead=lead,
            valid_at=until + lead,
            scored=np.repeat([False, True], [len(pending.lead), len(scored.lead)]),
            values=np.vstack([np.full((len(pending.lead), len(OUTCOMES)), np.nan), values]),
            bits=np.concatenate([np.zeros(len(pending.lead), np.int64), bits]),
        )


@dataclass(frozen=True)
class Estimate:
    """A mean over the scored issues of a lead, with its standard error across issue times
    (`MeanSE`, whose critical values a verdict takes); `why` says why there is none."""

    mean: float | None
    se: float | None
    why: str | None
    found: MeanSE | None = None

    def verdict(self) -> BandVerdict | None:
        """Against zero: better (below) or worse (above) beyond the critical value, else a tie;
        too few windows where no critical value holds; None where nothing was estimated or
        nothing spread."""
        if self.found is None:
            return None
        said = self.found.verdict()
        if said == "too few windows":
            return BandVerdict.TOO_FEW
        if self.se is None:
            return None
        return {"lower": BandVerdict.BETTER, "higher": BandVerdict.WORSE}.get(said, BandVerdict.TIE)


def independent_issues(times: np.ndarray, lead: int) -> int:
    """How many of the issues at `times` (increasing) share no part of their windows, `lead`
    long: taken greedily from the first."""
    count, last = 0, -math.inf
    for at in times.tolist():
        if at >= last + lead:
            count, last = count + 1, at
    return count


def estimate(values: np.ndarray, times: np.ndarray, lead: int) -> Estimate:
    """The mean of `values` (one per issue, at its data's end `times`, increasing) and its
    standard error across issue times (`cryptopredict.standard_error`, the one estimator): each
    issue at its data's end in hours, issues closer than the lead sharing part of one price
    path. Issues of one data's end (two versions of one release) share their whole outcome:
    they count once, at their mean."""
    if not len(values):
        return Estimate(None, None, "nothing scored")
    mean = float(values.mean())
    ends, where = np.unique(times, return_inverse=True)
    per_end = np.bincount(where, weights=values) / np.bincount(where)
    found = mean_se(per_end, max(1, math.ceil(lead / HOUR)), ends // HOUR)
    if not found.enough:
        independent = independent_issues(ends, lead)
        why = (
            f"too few independent issues for a standard error ({independent} whose windows do "
            "not overlap)"
        )
        return Estimate(mean, None, why, found)
    if not found.se > 0:
        return Estimate(mean, None, "every issue scored alike: no spread to estimate it from")
    return Estimate(mean, found.se, None, found)


@dataclass(frozen=True)
class LevelRecord:
    level: int
    coverage: Estimate
    naive_coverage: float | None
    interval_score: Estimate
    naive_interval_score: float | None
    difference: Estimate  # served minus naive, issue by issue

    def verdict(self) -> BandVerdict | None:
        """Better or worse than naive's band beyond the critical value of the difference's
        standard error (two at least), else a tie; too few windows where none holds."""
        return self.difference.verdict()


@dataclass(frozen=True)
class LeadRecord:
    lead: int  # seconds after the data's end
    issued: int
    due: int
    scored: int
    independent: int  # scored issues whose windows do not overlap
    first: int | None  # the valid instants of the first and last scored
    last: int | None
    error: Estimate  # the point's absolute percentage error
    naive_error: float | None
    error_difference: Estimate
    levels: tuple[LevelRecord, ...]


def held(bits: np.ndarray, level: int, *, naive: bool = False) -> np.ndarray:
    """Whether the band at `level` (naive's with `naive`) held the close, per row's bits
    (`record_rows.inside_bits`)."""
    return (bits >> (LEVELS.index(level) + (len(LEVELS) if naive else 0))) & 1 == 1


def column(name: str) -> int:
    return OUTCOMES.index(name)


def lead_record(rows: RecordRows, lead: int, now: float) -> LeadRecord:
    """The record at `lead` (seconds) of the issues in `rows`, as of `now`."""
    mine = rows.lead == lead
    due = mine & (rows.valid_at <= now)
    scored = due & rows.scored
    order = np.argsort(rows.data_until[scored], kind="stable")
    times = rows.data_until[scored][order]
    values, bits = rows.values[scored][order], rows.bits[scored][order]
    has_naive = bool(len(bits)) and bool((bits & NAIVE_BIT).all())

    def mean(values: np.ndarray) -> float | None:
        return float(values.mean()) if has_naive and len(values) else None

    def compared(difference: np.ndarray) -> Estimate:
        if not has_naive:
            return Estimate(None, None, "naive's forecast was not kept")
        return estimate(difference, times, lead)

    error, error_difference = values[:, column("error")], values[:, column("error_difference")]
    levels = []
    for level in LEVELS:
        score = values[:, column(f"score_{level}")]
        difference = values[:, column(f"score_difference_{level}")]
        levels.append(
            LevelRecord(
                level=level,
                coverage=estimate(held(bits, level).astype(np.float64), times, lead),
                naive_coverage=mean(held(bits, level, naive=True).astype(np.float64)),
                interval_score=estimate(score, times, lead),
                naive_interval_score=mean(score - difference),
                difference=compared(difference),
            )
        )
    return LeadRecord(
        lead=lead,
        issued=int(mine.sum()),
        due=int(due.sum()),
        scored=int(scored.sum()),
        independent=independent_issues(times, lead),
        first=int(rows.valid_at[scored].min()) if scored.any() else None,
        last=int(rows.valid_at[scored].max()) if scored.any() else None,
        error=estimate(error, times, lead),
        naive_error=mean(error - error_difference),
        error_difference=compared(error_difference),
        levels=tuple(levels),
    )


@dataclass(frozen=True)
class AssetRecord:
    """An asset's track record as of `now` (the data's end of the newest release)."""

    issues: int
    first_issue: int | None  # data ends of the first and the last issue
    last_issue: int | None
    leads: tuple[LeadRecord, ...]
    now: int
    started: RecordNote | None  # None: no record was baked
    absent: RecordNote | None = None

    @property
    def scored(self) -> int:
        return sum(lead.scored for lead in self.leads)


def record(baked: PairRecord | None) -> AssetRecord:
    """The track record `baked` holds, scored (nothing where none was baked)."""
    if baked is None:
        return AssetRecord(0, None, None, (), 0, None)
    rows = RecordRows.of(baked)
    now = baked.scored_until
    leads = tuple(lead_record(rows, int(lead), now) for lead in np.unique(rows.lead).tolist())
    ends = [issue.data_until for issue in baked.issues]
    return AssetRecord(
        issues=len(baked.issues),
        first_issue=min(ends, default=None),
        last_issue=max(ends, default=None),
        leads=leads,
        now=now,
        started=baked.started,
        absent=baked.absent,
    )
