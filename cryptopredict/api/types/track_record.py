"""The track record (`TrackRecord`, `/model/{asset}/track-record`): every forecast the releases
issued of an asset, baked into the image, scored lead by lead when it fell due; and what the
model card says of it (`TrackRecordSummary`)."""

from __future__ import annotations

from typing import Annotated

from cryptopredict.api.types.common import Answer, Time, doc
from cryptopredict.artifact.schema import BandVerdict

SE = (
    "Its standard error across issue times (issues closer together than the lead share part of "
    "one price path); null when it cannot be given, and `why` says why."
)


class Estimated(Answer):
    mean: Annotated[float | None, doc("The mean over the scored issues; null: none scored.")]
    se: Annotated[float | None, doc(SE)]
    why: Annotated[str | None, doc("Why there is no standard error, when there is none.")]


class TrackLevel(Answer):
    expected: Annotated[float, doc("The share the band should hold: its level.")]
    coverage: Annotated[Estimated, doc("Share of the scored issues whose price the band held.")]
    naive_coverage: Annotated[float | None, doc("The same of naive's band, issued beside it.")]
    backtest_coverage: Annotated[
        float | None, doc("The served model's coverage at this lead in its backtest, if scored.")
    ]
    interval_score: Annotated[
        Estimated, doc("The band's mean interval score (log prices, lower is better).")
    ]
    naive_interval_score: Annotated[float | None, doc("Naive's band's, on the same issues.")]
    difference: Annotated[Estimated, doc("Served minus naive, issue by issue.")]
    verdict: Annotated[
        BandVerdict | None,
        doc(
            "The band against naive's by interval score: better or worse beyond the critical "
            "value (two standard errors at least), else a tie; `too few windows` with too few "
            "independent issues for one (`difference.why` says so); null when nothing is scored."
        ),
    ]


class TrackLead(Answer):
    lead_hours: Annotated[float, doc("Hours after the data's end: the instant forecast.")]
    issued: Annotated[int, doc("Issues recorded with this lead.")]
    due: Annotated[int, doc("Of them, those whose instant is no later than `as_of`.")]
    scored: Annotated[
        int, doc("Of those, those scored: the hourly close at the instant was fetched.")
    ]
    independent: Annotated[
        int, doc("Scored issues whose windows (the lead long) do not overlap, taken in turn.")
    ]
    first: Annotated[Time | None, doc("The instant of the first issue scored.")]
    last: Annotated[Time | None, doc("The instant of the last issue scored.")]
    error: Annotated[
        Estimated, doc("The point forecast's mean absolute percentage error, as a fraction.")
    ]
    naive_error: Annotated[float | None, doc("Naive's (the last price of its data).")]
    error_difference: Annotated[Estimated, doc("Served minus naive, issue by issue.")]
    backtest_error: Annotated[
        float | None, doc("The served model's mean absolute percentage error in its backtest.")
    ]
    levels: Annotated[dict[str, TrackLevel], doc("Per level in percent (`50`, `80`, `95`).")]


class TrackRecord(Answer):
    asset: str
    symbol: str
    as_of: Annotated[
        Time | None,
        doc(
            "The data's end of the newest release that scored the record: a lead is due when "
            "its instant is no later than this; null without a record."
        ),
    ]
    started: Annotated[Time | None, doc("When the record began; null without a record.")]
    started_why: Annotated[
        str | None, doc("Why it began then (the first release, or a fresh start and why).")
    ]
    issues: Annotated[int, doc("Issues recorded: one per release that trained the asset.")]
    first_issue: Annotated[Time | None, doc("The data's end of the first issue.")]
    last_issue: Annotated[Time | None, doc("The data's end of the last issue.")]
    scored: Annotated[int, doc("Issue-lead pairs scored, all leads together.")]
    backtest_model_version: Annotated[
        str, doc("The model served now, whose backtest figures stand beside the record.")
    ]
    leads: Annotated[list[TrackLead], doc("Per lead recorded, shortest first.")]
    detail: Annotated[str | None, doc("Why nothing is scored yet, when nothing is; else null.")]


class TrackLeadSummary(Answer):
    lead_hours: float
    scored: Annotated[int, doc("Issues scored at this lead.")]
    coverage_80: Annotated[float | None, doc("Share of them the 80% band held.")]
    coverage_80_se: Annotated[float | None, doc("Its standard error, when it can be given.")]


class TrackRecordSummary(Answer):
    """The track record in brief (`/model/{asset}/track-record` has it all)."""

    url: Annotated[str, doc("The whole track record.")]
    issues: Annotated[int, doc("Issues recorded.")]
    scored: Annotated[int, doc("Issue-lead pairs scored.")]
    sentence: Annotated[str, doc("The record in words.")]
    leads: Annotated[list[TrackLeadSummary], doc("The leads with a scored issue.")]
