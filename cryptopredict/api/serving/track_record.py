"""The track record a release baked (`artifact/record.py`), scored lead by lead once due against
the hourly close at its instant, beside the naive forecast issued with it; each mean with its
standard error across issue times (`estimate`: issues closer than the lead share one price path,
and a lead with too few independent issues says so instead of a verdict); the record as its route
answers it, beside the served model's backtest, and in brief on the model card."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import msgspec
import numpy as np

from cryptopredict.api.types.track_record import (
    Estimated,
    TrackLead,
    TrackLeadSummary,
    TrackLevel,
    TrackRecord,
    TrackRecordSummary,
)
from cryptopredict.artifact.record_rows import NAIVE_BIT, OUTCOMES, PairRecord
from cryptopredict.artifact.schema import DEFAULT_LEVEL, LEVELS, BandVerdict
from cryptopredict.standard_error import mean_se
from cryptopredict.utc import iso_utc

if TYPE_CHECKING:
    from cryptopredict.api.serving.catalog import CatalogEntry

HOUR = 3600


@dataclass(frozen=True)
class RecordRows:
    """A row an issue at a lead: pending, or scored with its outcomes."""

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


def independent_issues(times: np.ndarray, lead: int) -> int:
    """How many issues at `times` (increasing) share no part of their `lead`-long windows."""
    count, last = 0, -math.inf
    for at in times.tolist():
        if at >= last + lead:
            count, last = count + 1, at
    return count


def estimate(
    values: np.ndarray, times: np.ndarray, lead: int
) -> tuple[Estimated, BandVerdict | None]:
    """The mean of `values` (one per issue, at its data's end `times`) and its standard error
    across issue times, issues of one data's end counted once; and the verdict against zero
    (None where nothing was estimated or nothing spread)."""
    if not len(values):
        return Estimated(mean=None, se=None, why="nothing scored"), None
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
        return Estimated(mean=mean, se=None, why=why), BandVerdict.TOO_FEW
    if not found.se > 0:
        why = "every issue scored alike: no spread to estimate it from"
        return Estimated(mean=mean, se=None, why=why), None
    said = {"lower": BandVerdict.BETTER, "higher": BandVerdict.WORSE}.get(found.verdict())
    return Estimated(mean=mean, se=found.se, why=None), said or BandVerdict.TIE


def held(bits: np.ndarray, level: int, *, naive: bool = False) -> np.ndarray:
    """Whether the band at `level` (naive's with `naive`) held the close, per row's bits."""
    return (bits >> (LEVELS.index(level) + (len(LEVELS) if naive else 0))) & 1 == 1


def lead_record(rows: RecordRows, lead: int, now: float) -> TrackLead:
    """The record at `lead` (seconds) as of `now`, without the backtest beside it."""
    mine = rows.lead == lead
    due = mine & (rows.valid_at <= now)
    scored = due & rows.scored
    order = np.argsort(rows.data_until[scored], kind="stable")
    times = rows.data_until[scored][order]
    values, bits = rows.values[scored][order], rows.bits[scored][order]
    has_naive = bool(len(bits)) and bool((bits & NAIVE_BIT).all())

    def mean(values: np.ndarray) -> float | None:
        return float(values.mean()) if has_naive and len(values) else None

    def compared(difference: np.ndarray) -> tuple[Estimated, BandVerdict | None]:
        if not has_naive:
            return Estimated(mean=None, se=None, why="naive's forecast was not kept"), None
        return estimate(difference, times, lead)

    outcome = dict(zip(OUTCOMES, values.T, strict=True))
    error, error_difference = outcome["error"], outcome["error_difference"]
    levels = {}
    for level in LEVELS:
        score, differences = outcome[f"score_{level}"], outcome[f"score_difference_{level}"]
        difference, verdict = compared(differences)
        levels[str(level)] = TrackLevel(
            expected=level / 100,
            coverage=estimate(held(bits, level).astype(np.float64), times, lead)[0],
            naive_coverage=mean(held(bits, level, naive=True).astype(np.float64)),
            backtest_coverage=None,
            interval_score=estimate(score, times, lead)[0],
            naive_interval_score=mean(score - differences),
            difference=difference,
            verdict=verdict,
        )
    valid_at = rows.valid_at[scored]
    return TrackLead(
        lead_hours=lead / HOUR,
        issued=int(mine.sum()),
        due=int(due.sum()),
        scored=int(scored.sum()),
        independent=independent_issues(times, lead),
        first=iso_utc(int(valid_at.min())) if len(valid_at) else None,
        last=iso_utc(int(valid_at.max())) if len(valid_at) else None,
        error=estimate(error, times, lead)[0],
        naive_error=mean(error - error_difference),
        error_difference=compared(error_difference)[0],
        backtest_error=None,
        levels=levels,
    )


def record(baked: PairRecord | None, served: CatalogEntry) -> TrackRecord:
    """The record as its route answers it, but the backtest beside each lead (`with_backtest`)."""
    leads: list[TrackLead] = []
    ends: list[int] = []
    if baked is not None:
        rows = RecordRows.of(baked)
        now = baked.scored_until
        leads = [lead_record(rows, int(lead), now) for lead in np.unique(rows.lead).tolist()]
        ends = [issue.data_until for issue in baked.issues]
    started = None if baked is None else baked.started
    scored = sum(lead.scored for lead in leads)
    return TrackRecord(
        asset=served.slug,
        symbol=served.symbol,
        as_of=None if baked is None else iso_utc(baked.scored_until),
        started=None if started is None else iso_utc(started.at),
        started_why=None if started is None else started.why,
        issues=len(ends),
        first_issue=iso_utc(min(ends)) if ends else None,
        last_issue=iso_utc(max(ends)) if ends else None,
        scored=scored,
        backtest_model_version=served.info.model_version,
        leads=leads,
        detail=None if scored else _nothing_yet(started is None, len(ends), leads),
    )


BACKTEST: dict[float, str] = {1: "1h", 24: "1d", 168: "7d", 720: "30d"}


def with_backtest(found: TrackRecord, served: CatalogEntry) -> TrackRecord:
    """`found` with the served model's backtest beside each lead its backtest scored."""
    summary = served.artifact.manifest.metrics
    horizons = summary.horizons() if summary is not None else {}
    leads = []
    for lead in found.leads:
        scores = horizons.get(BACKTEST.get(lead.lead_hours, ""))
        backtest = None if scores is None else scores.prophet
        if backtest is None:
            leads.append(lead)
            continue
        coverage = backtest.coverage_by_level or {}
        levels = {
            level: msgspec.structs.replace(scored, backtest_coverage=coverage.get(level))
            for level, scored in lead.levels.items()
        }
        leads.append(msgspec.structs.replace(lead, backtest_error=backtest.mape, levels=levels))
    return msgspec.structs.replace(found, leads=leads)


def _nothing_yet(unrecorded: bool, issues: int, leads: list[TrackLead]) -> str:
    if unrecorded:
        return (
            "this model directory holds no track record of the asset: the release that trains "
            "it writes one (train.py)"
        )
    due = sum(lead.due for lead in leads)
    said = "1 issue is" if issues == 1 else f"{issues:,} issues are"
    if not due:
        return (
            f"{said} recorded, and none of their leads has fallen due yet: the next release "
            "scores those due by its data's end"
        )
    return (
        f"{due:,} leads of {issues:,} issues are due, and no hourly close was fetched at "
        "their instants (a gap in the exchange's bars)"
    )


def summary(record: TrackRecord) -> TrackRecordSummary:
    leads = [
        TrackLeadSummary(
            lead_hours=lead.lead_hours,
            scored=lead.scored,
            coverage_80=lead.levels[str(DEFAULT_LEVEL)].coverage.mean,
            coverage_80_se=lead.levels[str(DEFAULT_LEVEL)].coverage.se,
        )
        for lead in record.leads
        if lead.scored
    ]
    return TrackRecordSummary(
        url=f"/model/{record.asset}/track-record",
        issues=record.issues,
        scored=record.scored,
        sentence=_sentence(record),
        leads=leads,
    )


def _sentence(record: TrackRecord) -> str:
    if not record.scored:
        return f"Nothing issued has been scored yet: {record.detail}."
    held = []
    for lead in record.leads:
        if not lead.scored:
            continue
        coverage = lead.levels[str(DEFAULT_LEVEL)].coverage
        se = "" if coverage.se is None else f" (SE {coverage.se:.1%})"
        hours = lead.lead_hours
        at = f"{hours:g} h" if hours < 48 else f"{hours / 24:g} d"
        held.append(f"{coverage.mean:.0%}{se} of {lead.scored} at {at}")
    shown = ", ".join(held[:3]) + (f" and {len(held) - 3} more leads" if len(held) > 3 else "")
    issued = "1 issued forecast" if record.issues == 1 else f"{record.issues:,} issued forecasts"
    return (
        f"Of {issued}, {record.scored:,} leads are scored against the exchange's hourly "
        f"closes: the {DEFAULT_LEVEL}% band held {shown}."
    )
