"""`/metrics`: requests by route, method and status, latency by route (counted by
`http.install`), model and data age, process figures."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from flask import Response, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from cryptopredict.api.openapi import Blueprint, document
from cryptopredict.minutes.bars import FeedStatus
from cryptopredict.utc import iso_utc

if TYPE_CHECKING:
    from cryptopredict.api.serving.catalog import Catalog, CatalogEntry
    from cryptopredict.config import ApiSettings
LARGE = "X-Large-Connections-Free"  # haproxy.cfg sets it: its free ones, for large answers
AGES: tuple[tuple[str, str, Callable[[CatalogEntry], float]], ...] = (  # name, help, since when
    ("model", "Seconds since the asset's model was trained.", lambda on: on.info.created_at),
    ("data", "Seconds since the last bar the asset's model saw.", lambda on: on.info.last_bar),
    (
        "anchor",
        "Seconds since the price an answer for the next hour starts from: the latest price read, "
        "when newer than the model's data, else the model's last close.",
        lambda on: on.starts_from()[1],
    ),
)
CUT_READS = (
    "Reads of the live minute bars that got no answer in time and were cut by the server's "
    "watchdog (a database that stopped answering)."
)
FEED = (  # the market feed's gauges: name, help
    ("last_success_timestamp_seconds", "When a poll last succeeded (0: never)."),
    ("last_failure_timestamp_seconds", "When a poll last failed (0: never)."),
    (
        "failing",
        "1 while every poll since `failing_since` has failed, or none was recorded for longer "
        "than POLLER_FAILING_AFTER (the feed stopped), else 0.",
    ),
)
FREE = "The proxy's free connections for large answers (0: they wait; docs/operations.md)."
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """One registry per app, so tests can build many apps in one process."""

    def __init__(
        self,
        catalog: Catalog,
        settings: ApiSettings,
        *,
        stuck: Callable[[], int],
        feed: Callable[[], FeedStatus | None],
    ) -> None:
        self.registry = registry = CollectorRegistry()
        labels = ("route", "method", "status")
        self.requests = Counter(
            "http_requests", "HTTP requests answered.", labels, registry=registry
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Time to build an answer, from routing to the response object.",
            ["route"],
            buckets=BUCKETS,
            registry=registry,
        )
        info = Info(
            "cryptopredict_model", "The model served for each asset.", ["asset"], registry=registry
        )
        ages = [
            (Gauge(f"cryptopredict_{name}_age_seconds", help, ["asset"], registry=registry), since)
            for name, help, since in AGES
        ]
        for served in catalog:
            asset = served.info
            info.labels(asset.asset).info(
                {"model_version": asset.model_version, "created_at": iso_utc(asset.created_at)}
            )
            for gauge, since in ages:
                gauge.labels(asset.asset).set_function(partial(_age, since, served))
        self.large = Gauge("cryptopredict_large_connections_free", FREE, registry=registry)
        stale = Gauge(
            "cryptopredict_stale",
            "1 while a served asset's newest data is older than STALE_AFTER_HOURS, else 0.",
            registry=registry,
        )
        stale.set_function(lambda: float(bool(catalog.stale(settings.stale_after_hours))))
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
        self.stuck, self.feed, self.failing_after = stuck, feed, settings.poller_failing_after
        registry.register(self)  # what `collect` makes at each scrape

    def collect(self) -> list[Metric]:
        cut = CounterMetricFamily("cryptopredict_live_reads_cut", CUT_READS, value=self.stuck())
        return [cut, *_feed(self.feed(), self.failing_after)]

    def blueprint(self) -> Blueprint:
        bp = Blueprint("metrics", __name__, description="Prometheus metrics.")

        @bp.get("/metrics")
        @document("Prometheus text format.", text="text/plain")
        def metrics() -> Response:
            """Prometheus metrics

            `http_requests_total` by route, method and status, `http_request_duration_seconds`
            by route; `cryptopredict_model_age_seconds`, `cryptopredict_data_age_seconds`,
            `cryptopredict_anchor_age_seconds` (the age of the price an answer for the next hour
            starts from) and `cryptopredict_model_info` by asset (`asset="btc-usd"`);
            `cryptopredict_stale` (1 while a served asset's data is older than
            STALE_AFTER_HOURS); the track record
            (`/model/{asset}/track-record`): `cryptopredict_track_record_scored`,
            `cryptopredict_track_record_coverage`, `cryptopredict_track_record_coverage_se` and
            `cryptopredict_track_record_interval_score` by asset, lead (hours), level and
            forecast; where a market feed writes the database, how its polls went:
            `cryptopredict_latest_price_last_success_timestamp_seconds`,
            `cryptopredict_latest_price_last_failure_timestamp_seconds` (0: never) and
            `cryptopredict_latest_price_failing` (1 while its polls fail, or once it has recorded
            none for longer than POLLER_FAILING_AFTER: it stopped); behind the proxy,
            `cryptopredict_large_connections_free`; process memory and CPU.
            """
            if (free := request.headers.get(LARGE, type=int)) is not None:
                self.large.set(free)
            return Response(
                generate_latest(self.registry),
                content_type=CONTENT_TYPE_LATEST,
                headers={"Cache-Control": "no-store"},
            )

        return bp


def _feed(status: FeedStatus | None, failing_after: float) -> list[Metric]:
    if status is None:
        return []
    failing = status.failing_since is not None or status.stopped(failing_after, time.time())
    values = (status.last_success or 0, status.last_error_at or 0, float(failing))
    return [
        GaugeMetricFamily(f"cryptopredict_latest_price_{name}", f"The market feed: {help}", value)
        for (name, help), value in zip(FEED, values, strict=True)
    ]


def _age(since: Callable[[CatalogEntry], float], served: CatalogEntry) -> float:
    return time.time() - since(served)
