"""The live scorecard (`LiveScorecard`, `/model/{asset}/live`): the served forecast scored on the
live minutes since the model's data ended, per lead bucket and level; and what the model card
says of it (`LiveSummary`)."""

from __future__ import annotations

import enum
from typing import Annotated

from cryptopredict.api.types.common import Answer, Time, doc
from cryptopredict.artifact.schema import BandVerdict


class LeadBucket(enum.StrEnum):
    """A lead bucket: how long after the model's data ended (its last bar closed) a minute
    closed: under an hour, an hour to a day, a day to a week, beyond a week."""

    UNDER_1H = "under_1h"
    H1_TO_1D = "1h_to_1d"
    D1_TO_7D = "1d_to_7d"
    BEYOND_7D = "beyond_7d"


class LiveLevelScores(Answer):
    expected: Annotated[float, doc("The share the band should hold: its level.")]
    coverage: Annotated[float | None, doc("Share of the minutes whose close the band held.")]
    coverage_se: Annotated[
        float | None,
        doc(
            "Its Newey-West standard error, counting minutes closer than the bucket's shortest "
            "lead as overlapping (a floor); null until the minutes span twice that."
        ),
    ]
    backtest_coverage: Annotated[
        float | None, doc("The served band's coverage at the bucket's horizon in the backtest.")
    ]
    interval_score: Annotated[
        float | None, doc("The served band's mean interval score (log prices, lower is better).")
    ]
    interval_score_se: Annotated[float | None, doc("Its standard error.")]
    naive_interval_score: Annotated[
        float | None,
        doc(
            "The naive forecast's (the last price of the model's data, naive's band as the "
            "backtest makes it) on the same minutes; null for a model that does not record it."
        ),
    ]
    difference: Annotated[float | None, doc("The served minus the naive score, minute by minute.")]
    difference_se: Annotated[float | None, doc("Its standard error.")]
    verdict: Annotated[
        BandVerdict | None,
        doc(
            "The served band against naive's by interval score: a tie within two standard "
            "errors; null without a standard error."
        ),
    ]


class LiveLead(Answer):
    lead: LeadBucket
    from_hours: Annotated[float, doc("Its shortest lead.")]
    to_hours: Annotated[float | None, doc("Its longest lead (excluded); null: no end.")]
    minutes: Annotated[int, doc("Minutes scored in it.")]
    first: Annotated[Time | None, doc("Close time of the first of them.")]
    last: Annotated[Time | None, doc("Close time of the last of them.")]
    overlap_minutes: Annotated[int, doc("Minutes closer than this count as overlapping.")]
    backtest_horizon: Annotated[str, doc("The backtest horizon it is compared with.")]
    levels: Annotated[dict[str, LiveLevelScores], doc("Per level in percent (`50`, `80`, `95`).")]


class LiveWindow(Answer):
    hours: Annotated[
        float,
        doc(
            "Its length: the minutes that closed this long before the newest scored "
            "(`LIVE_SCORE_WINDOW_HOURS`)."
        ),
    ]
    leads: Annotated[list[LiveLead], doc("Per lead bucket.")]


class LiveScorecard(Answer):
    asset: str
    symbol: str
    model_version: str
    data_until: Annotated[Time, doc("The model's last bar (`data_until` of the forecast answers).")]
    scored_from: Annotated[
        Time,
        doc(
            "When that bar closed and the model's data ended: minutes opening from here are "
            "scored, and their leads count from here."
        ),
    ]
    scored_until: Annotated[Time, doc("... up to those closing here (the forecast's end).")]
    minutes: Annotated[int, doc("Minutes scored.")]
    first: Annotated[Time | None, doc("Close time of the first minute scored.")]
    last: Annotated[Time | None, doc("Close time of the last minute scored.")]
    missing_minutes: Annotated[int, doc("Minutes missing between them: gaps, not scored.")]
    naive: Annotated[bool, doc("Whether naive's scores are known.")]
    since_release: Annotated[
        list[LiveLead], doc("Per lead bucket, every minute since the model's data ended.")
    ]
    window: Annotated[LiveWindow, doc("The same over a rolling window.")]
    detail: Annotated[str | None, doc("Why no minute is scored yet, when none is; else null.")]


class LiveLeadSummary(Answer):
    lead: LeadBucket
    minutes: Annotated[int, doc("Minutes scored in it.")]
    coverage_80: Annotated[float | None, doc("Share of them the 80% band held.")]
    coverage_80_se: Annotated[float | None, doc("Its standard error.")]


class LiveSummary(Answer):
    """How the forecast has fared on live minutes since the model's data ended
    (`/model/{asset}/live` has it all)."""

    url: Annotated[str, doc("The whole live scorecard.")]
    minutes: Annotated[int, doc("Live minutes scored.")]
    last: Annotated[Time | None, doc("Close time of the last of them.")]
    sentence: Annotated[str, doc("The scorecard in words.")]
    leads: Annotated[list[LiveLeadSummary], doc("Per lead bucket, since the model's data ended.")]
