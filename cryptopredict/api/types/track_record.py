"""The track record (`TrackRecord`, `/model/{asset}/track-record`): every forecast the service
issued of an asset, archived when first served, scored lead by lead when it falls due; and what
the model card says of it (`TrackRecordSummary`)."""

from __future__ import annotations

import enum
from typing import Annotated

from cryptopredict.api.types.common import Answer, Time, doc
from cryptopredict.artifact.schema import BandVerdict

SE = (
    "Its standard error across issue times (issues closer together than the lead share part of "
    "one price path); null when it cannot be given, and `why` says why."
)


class Prices(enum.StrEnum):
    """Where the prices scored came from: an exchange's minutes (`exchange`), recorded minutes
    replayed (`replay`: not live data, as `make live` plays them), both (`mixed`), or none
    scored yet (`none`)."""

    EXCHANGE = "exchange"
    REPLAY = "replay"
    MIXED = "mixed"
    NONE = "none"


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
    issued: Annotated[int, doc("Issues archived with this lead.")]
    due: Annotated[int, doc("Of them, those whose instant has passed.")]
    scored: Annotated[int, doc("Of those, those with a stored price at the instant.")]
    replayed: Annotated[
        int, doc("Of those scored, how many against a replayed minute's price (not live data).")
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
    as_of: Annotated[Time, doc("Issues are due when their instant is no later than this.")]
    issues: Annotated[int, doc("Issues archived: one per model served, when first served.")]
    first_issue: Annotated[Time | None, doc("The data's end of the first issue.")]
    last_issue: Annotated[Time | None, doc("The data's end of the last issue.")]
    scored: Annotated[int, doc("Issue-lead pairs scored, all leads together.")]
    prices: Prices
    prices_detail: Annotated[str, doc("Where the prices scored came from, in words.")]
    backtest_model_version: Annotated[
        str, doc("The model served now, whose backtest figures stand beside the record.")
    ]
    leads: Annotated[list[TrackLead], doc("Per lead archived, shortest first.")]
    detail: Annotated[str | None, doc("Why nothing is scored yet, when nothing is; else null.")]


class TrackLeadSummary(Answer):
    lead_hours: float
    scored: Annotated[int, doc("Issues scored at this lead.")]
    coverage_80: Annotated[float | None, doc("Share of them the 80% band held.")]
    coverage_80_se: Annotated[float | None, doc("Its standard error, when it can be given.")]


class TrackRecordSummary(Answer):
    """The track record in brief (`/model/{asset}/track-record` has it all)."""

    url: Annotated[str, doc("The whole track record.")]
    issues: Annotated[int, doc("Issues archived.")]
    scored: Annotated[int, doc("Issue-lead pairs scored.")]
    prices: Prices
    sentence: Annotated[str, doc("The record in words.")]
    leads: Annotated[list[TrackLeadSummary], doc("The leads with a scored issue.")]
