"""The track record as its route answers it, beside the served model's backtest, and in brief."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from cryptopredict.api.serving.track_record import AssetRecord
from cryptopredict.api.types import track_record as answers
from cryptopredict.artifact.schema import DEFAULT_LEVEL, EvaluationScores, ForecastScores
from cryptopredict.utc import iso_utc

if TYPE_CHECKING:
    from cryptopredict.api.serving.catalog import CatalogEntry

BACKTEST = {1: "1h", 24: "1d", 168: "7d", 720: "30d"}


def answer(record: AssetRecord, served: CatalogEntry) -> answers.TrackRecord:
    backtest = served.artifact.manifest.metrics
    started = record.started
    return answers.TrackRecord(
        asset=served.slug,
        symbol=served.symbol,
        as_of=_time(record.now if started is not None else None),
        started=_time(None if started is None else started.at),
        started_why=None if started is None else started.why,
        issues=record.issues,
        first_issue=_time(record.first_issue),
        last_issue=_time(record.last_issue),
        scored=record.scored,
        backtest_model_version=served.info.model_version,
        leads=[_beside(lead, _backtest(backtest, lead)) for lead in record.leads],
        detail=None if record.scored else _nothing_yet(record),
    )


def _backtest(summary: EvaluationScores | None, lead: answers.TrackLead) -> ForecastScores | None:
    hours = lead.lead_hours
    label = BACKTEST.get(round(hours)) if hours == round(hours) else None
    if summary is None or label is None:
        return None
    scores = summary.horizons().get(label)
    return None if scores is None else scores.prophet


def _beside(lead: answers.TrackLead, backtest: ForecastScores | None) -> answers.TrackLead:
    if backtest is None:
        return lead
    coverage = backtest.coverage_by_level or {}
    levels = {
        level: msgspec.structs.replace(scored, backtest_coverage=coverage.get(level))
        for level, scored in lead.levels.items()
    }
    return msgspec.structs.replace(lead, backtest_error=backtest.mape, levels=levels)


def _time(epoch: int | None) -> str | None:
    return None if epoch is None else iso_utc(epoch)


def _nothing_yet(record: AssetRecord) -> str:
    if record.started is None:
        return (
            "this model directory holds no track record of the asset: the release that trains "
            "it writes one (train.py)"
        )
    due = sum(lead.due for lead in record.leads)
    issued = "1 issue is" if record.issues == 1 else f"{record.issues:,} issues are"
    if not due:
        return (
            f"{issued} recorded, and none of their leads has fallen due yet: the next release "
            "scores those due by its data's end"
        )
    return (
        f"{due:,} leads of {record.issues:,} issues are due, and no hourly close was fetched at "
        "their instants (a gap in the exchange's bars)"
    )


def summary(record: AssetRecord, served: CatalogEntry) -> answers.TrackRecordSummary:
    leads = [
        answers.TrackLeadSummary(
            lead_hours=lead.lead_hours,
            scored=lead.scored,
            coverage_80=lead.levels[str(DEFAULT_LEVEL)].coverage.mean,
            coverage_80_se=lead.levels[str(DEFAULT_LEVEL)].coverage.se,
        )
        for lead in record.leads
        if lead.scored
    ]
    return answers.TrackRecordSummary(
        url=f"/model/{served.slug}/track-record",
        issues=record.issues,
        scored=record.scored,
        sentence=_sentence(record),
        leads=leads,
    )


def _sentence(record: AssetRecord) -> str:
    if not record.scored:
        return f"Nothing issued has been scored yet: {_nothing_yet(record)}."
    held = []
    for lead in record.leads:
        if not lead.scored:
            continue
        coverage = lead.levels[str(DEFAULT_LEVEL)].coverage
        se = "" if coverage.se is None else f" (SE {coverage.se:.1%})"
        held.append(f"{coverage.mean:.0%}{se} of {lead.scored} at {_hours(lead.lead_hours)}")
    shown = ", ".join(held[:3]) + (f" and {len(held) - 3} more leads" if len(held) > 3 else "")
    issued = "1 issued forecast" if record.issues == 1 else f"{record.issues:,} issued forecasts"
    return (
        f"Of {issued}, {record.scored:,} leads are scored against the exchange's hourly "
        f"closes: the {DEFAULT_LEVEL}% band held {shown}."
    )


def _hours(hours: float) -> str:
    if hours < 48:
        return f"{hours:g} h"
    return f"{hours / 24:g} d"
