"""`/model/{asset}/track-record`: every forecast the service issued of an asset, archived when
first served (`serving.archive`), scored lead by lead when it falls due (`serving.track_record`);
its summary on the model card, and its figures as Prometheus gauges."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from flask import Response
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from cryptopredict.api.errors import ApiError
from cryptopredict.api.live import ERRORS, NO_CACHE, LiveMinutes
from cryptopredict.api.openapi import ASSET_UNAVAILABLE, Blueprint, asset_in_path, document
from cryptopredict.api.responses import json_response
from cryptopredict.api.serving.archive import Archive
from cryptopredict.api.serving.track_answers import answer, prices, summary
from cryptopredict.api.serving.track_record import HOUR, AssetRecord, record
from cryptopredict.api.types.track_record import TrackRecord, TrackRecordSummary

if TYPE_CHECKING:
    from cryptopredict.api.serving.catalog import Catalog, CatalogEntry

log = logging.getLogger(__name__)

TRACK_ERRORS = {**ERRORS, 503: f"{ERRORS[503]} Or: {ASSET_UNAVAILABLE}"}


class TrackRecords:
    """Each served asset's track record, read and scored again at most every
    `refresh_seconds` (the reader's errors go through)."""

    def __init__(
        self,
        catalog: Catalog,
        live: LiveMinutes,
        *,
        refresh_seconds: float,
        clock: Callable[[], float] = time.time,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self.catalog = catalog
        self.live = live
        self.refresh_seconds = refresh_seconds
        self.clock = clock
        self.timer = timer
        self._records: dict[str, tuple[float, AssetRecord]] = {}
        self._lock = threading.Lock()

    def record(self, served: CatalogEntry) -> AssetRecord:
        with self._lock:
            until, found = self._records.get(served.slug, (-math.inf, None))
        if found is not None and self.timer() < until:
            return found
        found = record(self.live.archived(served), self.clock())
        with self._lock:
            self._records[served.slug] = (self.timer() + self.refresh_seconds, found)
        return found


def blueprint(catalog: Catalog, records: TrackRecords) -> Blueprint:
    bp = Blueprint(
        "track_record",
        __name__,
        description="Every forecast issued, archived, and scored when it falls due.",
    )

    @bp.get("/model/<asset>/track-record")
    @document(
        "Every issued forecast of the asset, scored by lead when due.",
        TrackRecord,
        path=asset_in_path([served.slug for served in catalog]),
        errors=TRACK_ERRORS,
    )
    def track_record(asset: str) -> Response:
        """The track record: every forecast issued, scored by lead when it falls due

        Each model of the asset the API served was archived when first served (once, however
        often it is served again): its forecast at fixed leads after its data ended (the
        band's calibrated hours, every day to 30 days, 90 days and a year), as the point
        answers gave it, and the naive forecast's. Per lead, over those issues: how many were
        issued, are due (their instant has passed) and are scored (the price at the instant,
        the close of the stored minute ending then, is known; `replayed` counts prices from
        replayed minutes, which are not live data); the point's absolute percentage error and
        naive's; per band, the share of prices held and the interval score beside naive's,
        with standard errors across issue times (issues closer than the lead share one price
        path; a lead with too few independent issues says so instead of a verdict); and the
        served model's backtest at the leads it scores. 404 when no minute-bar database has
        been made yet; 503 when it cannot be read.
        """
        served = catalog[asset]
        return json_response(answer(records.record(served), served), cache=NO_CACHE)

    return bp


def card_summary(records: TrackRecords) -> Callable[[CatalogEntry], TrackRecordSummary | None]:
    """The model card's `track_record`, or None when it cannot be read (the card answers all
    the same)."""

    def summed(served: CatalogEntry) -> TrackRecordSummary | None:
        try:
            return summary(records.record(served), served)
        except ApiError:
            return None

    return summed


class TrackRecordMetrics:
    """The track records as Prometheus gauges, by asset, lead (hours) and level, labelled with
    where the prices came from (`prices`: exchange, replay or mixed); and the archive's
    writes. An asset whose record cannot be read is left out (the reader logs why)."""

    def __init__(
        self, records: TrackRecords, stored: Callable[[], Iterable[str]], archive: Archive
    ) -> None:
        self.records = records
        self.stored = stored  # the assets with stored minutes
        self.archive = archive

    def describe(self) -> Iterator[Metric]:
        return iter([*_families(), *_archive_families()])

    def collect(self) -> Iterator[Metric]:
        families = _families()
        for served, found in self._records():
            _add(families, served.slug, found)
        writes, pending = _archive_families()
        for outcome, count in self.archive.counts.items():
            writes.add_metric([outcome], count)
        pending.add_metric([], self.archive.pending)
        return iter([*families, writes, pending])

    def _records(self) -> Iterator[tuple[CatalogEntry, AssetRecord]]:
        try:
            stored = list(self.stored())
        except ApiError as error:
            log.debug("track record gauges left out: %s", error.detail)
            return
        catalog = self.records.catalog
        for slug in stored:
            if slug not in catalog:
                continue
            try:
                yield catalog[slug], self.records.record(catalog[slug])
            except ApiError as error:
                log.debug("track record gauges of %s left out: %s", slug, error.detail)


def _families() -> list[GaugeMetricFamily]:
    lead = ["asset", "lead_hours", "prices"]
    level = ["asset", "lead_hours", "level", "prices"]
    return [
        GaugeMetricFamily(
            "cryptopredict_track_record_scored",
            "Archived issues scored at the lead (their instant passed, its price stored).",
            labels=lead,
        ),
        GaugeMetricFamily(
            "cryptopredict_track_record_coverage",
            "Share of the scored issues whose price the served band held, per level.",
            labels=level,
        ),
        GaugeMetricFamily(
            "cryptopredict_track_record_coverage_se",
            "Its standard error across issue times; absent when too few issues are "
            "independent at the lead.",
            labels=level,
        ),
        GaugeMetricFamily(
            "cryptopredict_track_record_interval_score",
            "Mean interval score of the served band (forecast=served) and of naive's "
            "(forecast=naive), log prices, lower is better.",
            labels=[*level, "forecast"],
        ),
    ]


def _archive_families() -> tuple[CounterMetricFamily, GaugeMetricFamily]:
    return (
        CounterMetricFamily(
            "cryptopredict_archive_writes",
            "Issues the archive wrote (outcome=archived), found archived already (already), "
            "or failed to write (failed: a write that failed, logged, and tried again later).",
            labels=["outcome"],
        ),
        GaugeMetricFamily(
            "cryptopredict_archive_pending",
            "Issues served but not archived yet (the database could not be written so far).",
        ),
    )


def _add(families: list[GaugeMetricFamily], slug: str, found: AssetRecord) -> None:
    scored, coverage, coverage_se, score = families
    source = prices(found).value
    for lead in found.leads:
        if not lead.scored:
            continue
        hours = f"{lead.lead / HOUR:g}"
        scored.add_metric([slug, hours, source], lead.scored)
        for level in lead.levels:
            labels = [slug, hours, str(level.level), source]
            if level.coverage.mean is not None:
                coverage.add_metric(labels, level.coverage.mean)
            if level.coverage.se is not None:
                coverage_se.add_metric(labels, level.coverage.se)
            for forecast, value in (
                ("served", level.interval_score.mean),
                ("naive", level.naive_interval_score),
            ):
                if value is not None:
                    score.add_metric([*labels, forecast], value)
