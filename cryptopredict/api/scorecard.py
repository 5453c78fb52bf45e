"""`/model/{asset}/live`: how the served forecast has fared on the live minutes since the model's
data ended (`cryptopredict.api.serving.scorecard` keeps the scores)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from flask import Response
from prometheus_client.core import GaugeMetricFamily, Metric

from cryptopredict.api.errors import ApiError
from cryptopredict.api.live import ERRORS, NO_CACHE
from cryptopredict.api.openapi import ASSET_UNAVAILABLE, Blueprint, asset_in_path, document
from cryptopredict.api.responses import json_response
from cryptopredict.api.serving.scorecard import LeadScores, Report, Scorecards, answer, summary
from cryptopredict.api.types.scorecard import LiveScorecard, LiveSummary

if TYPE_CHECKING:
    from cryptopredict.api.serving.catalog import Catalog, ServedAsset

log = logging.getLogger(__name__)

SCORECARD_ERRORS = {**ERRORS, 503: f"{ERRORS[503]} Or: {ASSET_UNAVAILABLE}"}


def blueprint(catalog: Catalog, scorecards: Scorecards) -> Blueprint:
    bp = Blueprint(
        "scorecard", __name__, description="How each served forecast fares on live minutes."
    )

    @bp.get("/model/<asset>/live")
    @document(
        "The live scorecard since the model's data ended, and over a rolling window.",
        LiveScorecard,
        path=asset_in_path([served.slug for served in catalog]),
        errors=SCORECARD_ERRORS,
    )
    def live_scorecard(asset: str) -> Response:
        """The served forecast scored on every live minute since the model's data ended

        Every stored minute that opened after the model's last bar closed, scored at its close
        against the forecast this API served for that instant (as `/price/{asset}` places the
        last minute): inside each band (50, 80, 95%) or not, each band's interval score (on log
        prices, lower is better), and the naive forecast's (the last price of the model's data,
        with naive's band as the backtest makes it). Per lead bucket (the time from the end of
        the model's data to the minute's close: under 1 h, 1 h to 1 d, 1 d to 7 d, beyond),
        since the model's data ended (`since_release`) and over the
        minutes of the last `window.hours` (`window`): how many minutes, and per level the
        share inside against the level expected and against the backtest's at the bucket's
        horizon, and the mean scores, with Newey-West standard errors that count minutes
        closer than the bucket's shortest lead as overlapping (a floor: one model's minutes
        share one origin; null until the minutes span twice the overlap). A gap in the minutes
        is a gap, not a miss. Kept up to date from the minutes stored since it last looked.
        With no minute of the asset stored yet, nothing is scored and `detail` says so; 404
        when no minute-bar database has been made yet; 503 when it cannot be read.
        """
        served = catalog[asset]
        return json_response(answer(scorecards.report(served)), cache=NO_CACHE)

    return bp


def card_summary(scorecards: Scorecards) -> Callable[[ServedAsset], LiveSummary | None]:
    """The model card's `live`: the scorecard's summary, or None when the minutes cannot be
    read (the card answers all the same)."""

    def live(served: ServedAsset) -> LiveSummary | None:
        try:
            return summary(scorecards.report(served))
        except ApiError:
            return None

    return live


class ScorecardMetrics:
    """The live scorecards as Prometheus gauges, by asset, lead bucket, level and window
    (`since_release`, `rolling`): every served asset with stored minutes, updated from the
    minutes stored since the last scrape. A database that cannot be read leaves them out (its
    failure is logged by the reader) rather than failing the scrape."""

    def __init__(self, scorecards: Scorecards, stored: Callable[[], Iterable[str]]) -> None:
        self.scorecards = scorecards
        self.stored = stored  # the assets with stored minutes

    def describe(self) -> Iterator[Metric]:
        return iter(_families())

    def collect(self) -> Iterator[Metric]:
        families = _families()
        for report in self._reports():
            for window, leads in (
                ("since_release", report.since_release),
                ("rolling", report.window),
            ):
                for scores in leads:
                    _add(families, report, window, scores)
        return iter(families)

    def _reports(self) -> Iterator[Report]:
        try:
            stored = list(self.stored())
        except ApiError as error:
            log.debug("live scorecard gauges left out: %s", error.detail)
            return
        for slug in stored:
            if slug not in self.scorecards.catalog:
                continue
            try:
                yield self.scorecards.report(self.scorecards.catalog[slug])
            except ApiError as error:
                log.debug("live scorecard gauges of %s left out: %s", slug, error.detail)


def _families() -> list[GaugeMetricFamily]:
    lead = ["asset", "lead", "window"]
    level = ["asset", "level", "lead", "window"]
    return [
        GaugeMetricFamily(
            "cryptopredict_live_minutes",
            "Live minutes scored against the served forecast since the model's data ended "
            "(window=since_release) or over the rolling window (rolling), per lead bucket.",
            labels=lead,
        ),
        GaugeMetricFamily(
            "cryptopredict_live_coverage",
            "Share of those minutes whose close fell inside the served band at that level.",
            labels=level,
        ),
        GaugeMetricFamily(
            "cryptopredict_live_coverage_se",
            "Newey-West standard error of that share (a floor: minutes closer than the lead "
            "bucket's shortest lead count as overlapping); absent until they span twice that.",
            labels=level,
        ),
        GaugeMetricFamily(
            "cryptopredict_live_interval_score",
            "Mean interval score of the minutes (log prices, lower is better) of the served "
            "band (forecast=served) and of the naive forecast's (forecast=naive).",
            labels=[*level, "forecast"],
        ),
    ]


def _add(
    families: list[GaugeMetricFamily], report: Report, window: str, scores: LeadScores
) -> None:
    minutes, coverage, coverage_se, score = families
    where = [report.asset, scores.lead.name, window]
    minutes.add_metric(where, scores.minutes)
    for level in scores.levels:
        labels = [report.asset, str(level.level), scores.lead.name, window]
        if level.coverage is not None:
            coverage.add_metric(labels, level.coverage)
        if level.coverage_se is not None:
            coverage_se.add_metric(labels, level.coverage_se)
        for forecast, value in (
            ("served", level.interval_score),
            ("naive", level.naive_interval_score),
        ):
            if value is not None:
                score.add_metric([*labels, forecast], value)
