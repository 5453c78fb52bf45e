"""`/model/{asset}/track-record`, as the release baked it (scored in `serving.track_record`), its
summary on the model card and its Prometheus gauges."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from flask import Response
from prometheus_client.core import GaugeMetricFamily

from cryptopredict.api.errors import ApiError
from cryptopredict.api.http import json_response
from cryptopredict.api.market import NO_CACHE
from cryptopredict.api.openapi import ASSET_UNAVAILABLE, Blueprint, document
from cryptopredict.api.serving.track_record import record, summary, with_backtest
from cryptopredict.api.types.track_record import TrackRecord, TrackRecordSummary
from cryptopredict.artifact.record import RecordError, read_record

if TYPE_CHECKING:
    from cryptopredict.api.serving.catalog import Catalog, CatalogEntry

log = logging.getLogger(__name__)

TRACK_ERRORS = {
    404: "No such asset is served.",
    503: f"The baked track record cannot be read (the detail says why). Or: {ASSET_UNAVAILABLE}",
}
GAUGES = (  # name, help, labels after asset and lead_hours
    ("scored", "Issues scored at the lead (due, and the hourly close at its instant fetched).", ()),
    (
        "coverage",
        "Share of the scored issues whose price the served band held, per level.",
        ("level",),
    ),
    (
        "coverage_se",
        "Its standard error across issue times; absent when too few issues are "
        "independent at the lead.",
        ("level",),
    ),
    (
        "interval_score",
        "Mean interval score of the served band (forecast=served) and of naive's "
        "(forecast=naive), log prices, lower is better.",
        ("level", "forecast"),
    ),
)


class TrackRecordUnavailableError(ApiError):
    status, code = 503, "track_record_unavailable"


class TrackRecords:
    """Each served asset's record, read and scored once per application (`Reloading` builds a
    new one when the record's index changes)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.model_dir = catalog.store.model_dir
        self._records: dict[str, TrackRecord] = {}

    def record(self, served: CatalogEntry) -> TrackRecord:
        found = self._records.get(served.slug)
        if found is not None:
            return found
        try:
            baked = read_record(self.model_dir, served.slug) if self.model_dir else None
        except RecordError as error:
            log.error("track record of %s: %s", served.slug, error)
            raise TrackRecordUnavailableError(str(error)) from None
        return self._records.setdefault(served.slug, record(baked, served))

    def card_summary(self, served: CatalogEntry) -> TrackRecordSummary | None:
        """The model card's `track_record`, None when it cannot be read."""
        try:
            return summary(self.record(served))
        except ApiError:
            return None

    def collect(self) -> list[GaugeMetricFamily]:
        """The track records by asset, lead (hours) and level; one that cannot be read left out."""
        families = {
            name: GaugeMetricFamily(
                f"cryptopredict_track_record_{name}", help, labels=["asset", "lead_hours", *more]
            )
            for name, help, more in GAUGES
        }
        for served in self.catalog:
            try:
                found = self.record(served)
            except ApiError as error:
                log.debug("track record gauges of %s left out: %s", served.slug, error.detail)
                continue
            for lead in (lead for lead in found.leads if lead.scored):
                at = [served.slug, f"{lead.lead_hours:g}"]
                families["scored"].add_metric(at, lead.scored)
                for name, level in lead.levels.items():
                    for family, labels, value in (
                        ("coverage", [name], level.coverage.mean),
                        ("coverage_se", [name], level.coverage.se),
                        ("interval_score", [name, "served"], level.interval_score.mean),
                        ("interval_score", [name, "naive"], level.naive_interval_score),
                    ):
                        if value is not None:
                            families[family].add_metric([*at, *labels], value)
        return list(families.values())


def blueprint(catalog: Catalog, records: TrackRecords) -> Blueprint:
    bp = Blueprint(
        "track_record",
        __name__,
        description="Every forecast the releases issued, scored when it fell due.",
    )

    @bp.get("/model/<asset>/track-record")
    @document(
        "Every issued forecast of the asset, scored by lead when due.",
        TrackRecord,
        errors=TRACK_ERRORS,
    )
    def track_record(asset: str) -> Response:
        """The track record: every forecast issued, scored by lead when it fell due

        Each release that trained the asset issued its forecast at fixed leads after its data
        ended (the band's calibrated hours, every day to 30 days, 90 days and a year), beside
        the naive forecast's; each later release scored the leads that fell due on the hourly
        closes it fetched, and the image bakes the record. No request writes anything.
        """
        served = catalog[asset]
        return json_response(with_backtest(records.record(served), served), cache=NO_CACHE)

    return bp
