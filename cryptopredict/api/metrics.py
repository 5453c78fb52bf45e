"""`/metrics`: requests and latency by route and status (counted by `http.install`), model and
data age, process figures."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from flask import Response
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
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from cryptopredict.api.openapi import Blueprint, document
from cryptopredict.minutes.bars import FeedStatus
from cryptopredict.utc import iso_utc

if TYPE_CHECKING:
    from cryptopredict.api.serving.catalog import Catalog, CatalogEntry

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """One registry per app, so tests can build many apps in one process."""

    def __init__(self, catalog: Catalog, *, stale_after_hours: float) -> None:
        self.registry = CollectorRegistry()
        labels = ("route", "method", "status")
        self.requests = Counter(
            "http_requests", "HTTP requests answered.", labels, registry=self.registry
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Time to build an answer, from routing to the response object.",
            labels,
            buckets=BUCKETS,
            registry=self.registry,
        )
        per_asset: dict[str, Any] = {"labelnames": ["asset"], "registry": self.registry}
        info = Info("cryptopredict_model", "The model served for each asset.", **per_asset)
        model_age = Gauge(
            "cryptopredict_model_age_seconds",
            "Seconds since the asset's model was trained.",
            **per_asset,
        )
        data_age = Gauge(
            "cryptopredict_data_age_seconds",
            "Seconds since the last bar the asset's model saw.",
            **per_asset,
        )
        anchor_age = Gauge(
            "cryptopredict_anchor_age_seconds",
            "Seconds since the price an answer for the next hour starts from: the latest price "
            "read, when newer than the model's data, else the model's last close.",
            **per_asset,
        )
        for served in catalog:
            asset = served.info
            info.labels(asset.asset).info(
                {"model_version": asset.model_version, "created_at": iso_utc(asset.created_at)}
            )
            model_age.labels(asset.asset).set_function(_age(asset.created_at))
            data_age.labels(asset.asset).set_function(_age(asset.last_bar))
            anchor_age.labels(asset.asset).set_function(partial(_anchor_age, served))
        stale = Gauge(
            "cryptopredict_stale",
            "1 while a served asset's newest data is older than STALE_AFTER_HOURS, else 0.",
            registry=self.registry,
        )
        stale.set_function(lambda: float(bool(catalog.stale(stale_after_hours))))
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)

    def count_stuck_reads(self, stuck: Callable[[], int]) -> None:
        """Export how many reads of the live minute bars got no answer and were cut."""
        self.registry.register(
            _Counted(
                "cryptopredict_live_reads_cut",
                "Reads of the live minute bars that got no answer in time and were cut by the "
                "server's watchdog (a database that stopped answering).",
                None,
                lambda: {"": stuck()},
            )
        )

    def watch_feed(self, status: Callable[[], FeedStatus | None], failing_after: float) -> None:
        """Export how the market feed's polls went (`status`, read at each scrape), where a
        feed has written the database."""
        self.registry.register(_Feed(status, failing_after))

    def blueprint(self) -> Blueprint:
        bp = Blueprint("metrics", __name__, description="Prometheus metrics.")

        @bp.get("/metrics")
        @document("Prometheus text format.", text="text/plain")
        def metrics() -> Response:
            """Prometheus metrics

            `http_requests_total` and `http_request_duration_seconds` by route, method and
            status; `cryptopredict_model_age_seconds`, `cryptopredict_data_age_seconds`,
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
            none for longer than POLLER_FAILING_AFTER: it stopped); process memory and CPU.
            """
            return Response(
                generate_latest(self.registry),
                content_type=CONTENT_TYPE_LATEST,
                headers={"Cache-Control": "no-store"},
            )

        return bp


class _Counted(Collector):
    """Counters kept elsewhere (plain integers), read at each scrape."""

    def __init__(
        self, name: str, help: str, label: str | None, read: Callable[[], Mapping[str, int]]
    ) -> None:
        self.name, self.help, self.label, self.read = name, help, label, read

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            self.name, self.help, labels=[self.label] if self.label else []
        )
        for value, count in self.read().items():
            family.add_metric([value] if self.label else [], count)
        yield family


class _Feed(Collector):
    def __init__(self, status: Callable[[], FeedStatus | None], failing_after: float) -> None:
        self.status, self.failing_after = status, failing_after

    def collect(self) -> Iterator[GaugeMetricFamily]:
        status = self.status()
        if status is None:
            return
        prefix = "cryptopredict_latest_price"
        for name, help, value in (
            ("last_success_timestamp_seconds", "When a poll last succeeded (0: never).",
             status.last_success),
            ("last_failure_timestamp_seconds", "When a poll last failed (0: never).",
             status.last_error_at),
            ("failing", "1 while every poll since `failing_since` has failed, or none was "
             "recorded for longer than POLLER_FAILING_AFTER (the feed stopped), else 0.",
             status.failing_since is not None
             or status.stopped(self.failing_after, time.time())),
        ):  # fmt: skip
            yield GaugeMetricFamily(
                f"{prefix}_{name}", f"The market feed: {help}", float(value or 0)
            )


def _age(since: float) -> Callable[[], float]:
    return lambda: time.time() - since


def _anchor_age(served: CatalogEntry) -> float:
    return time.time() - served.starts_from()[1]
