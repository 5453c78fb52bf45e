"""`/metrics`: requests and latency by route and status, model and data age, process figures;
and `Observed`, which times every request, feeds the metrics and writes the access log.

`Observed` is a WSGI middleware rather than Flask hooks: it runs once per request, sees every
answer (errors included, and those of the `/bitcoin` fast path) and adds nothing to Flask's own
hook loop.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from time import perf_counter
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
from cryptopredict.artifact.schema import IndexEntry
from cryptopredict.minutes.bars import FeedStatus
from cryptopredict.utc import iso_utc

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# Where a middleware that answers ahead of Flask (the `/bitcoin` fast path) names the route it
# answered, for the access log and the metrics.
ROUTE_KEY = "cryptopredict.route"
MAX_PATH = 200
LINE = "method=%s path=%s status=%d duration_ms=%.3f"
METHODS = frozenset({"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"})
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

log = logging.getLogger(__name__)
access_log = logging.getLogger("cryptopredict.api.access")


class Metrics:
    """One registry per app, so tests can build many apps in one process."""

    def __init__(self, assets: Iterable[IndexEntry]) -> None:
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
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
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
        for asset in assets:
            info.labels(asset.asset).info(
                {"model_version": asset.model_version, "created_at": iso_utc(asset.created_at)}
            )
            model_age.labels(asset.asset).set_function(_age(asset.created_at))
            data_age.labels(asset.asset).set_function(_age(asset.last_bar))
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method if method in METHODS else "other", status)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                self.requests.labels(*key),
                self.latency.labels(*key),
            )
        children[0].inc()
        children[1].observe(seconds)

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

    def watch_feed(self, status: Callable[[], FeedStatus | None]) -> None:
        """Export how the market feed's polls went (`status`, read at each scrape), where a
        feed has written the database."""
        self.registry.register(_Feed(status))

    def blueprint(self) -> Blueprint:
        bp = Blueprint("metrics", __name__, description="Prometheus metrics.")

        @bp.get("/metrics")
        @document("Prometheus text format.", text="text/plain")
        def metrics() -> Response:
            """Prometheus metrics

            `http_requests_total` and `http_request_duration_seconds` by route, method and
            status; `cryptopredict_model_age_seconds`, `cryptopredict_data_age_seconds` and
            `cryptopredict_model_info` by asset (`asset="btc-usd"`); the track record
            (`/model/{asset}/track-record`): `cryptopredict_track_record_scored`,
            `cryptopredict_track_record_coverage`, `cryptopredict_track_record_coverage_se` and
            `cryptopredict_track_record_interval_score` by asset, lead (hours), level and
            forecast; where a market feed writes the database, how its polls went:
            `cryptopredict_latest_price_last_success_timestamp_seconds`,
            `cryptopredict_latest_price_last_failure_timestamp_seconds` (0: never) and
            `cryptopredict_latest_price_failing` (1 while its polls fail); process memory and
            CPU.
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
    def __init__(self, status: Callable[[], FeedStatus | None]) -> None:
        self.status = status

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
            ("failing", "1 while every poll since `failing_since` has failed, else 0.",
             status.failing_since is not None),
        ):  # fmt: skip
            yield GaugeMetricFamily(
                f"{prefix}_{name}", f"The market feed: {help}", float(value or 0)
            )


class Observed:
    def __init__(self, app: WSGIApplication, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        started = perf_counter()
        answered: list[tuple[str, str]] = []

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            # The fast path names its route; otherwise Flask still holds its request (at
            # `werkzeug.request`) when the response starts, and its URL rule names the route
            # without the client's values, so labels stay few.
            route = environ.get(ROUTE_KEY)
            if route is None:
                rule = getattr(environ.get("werkzeug.request"), "url_rule", None)
                route = "unmatched" if rule is None else rule.rule
            answered.append((status, route))
            return start_response(status, headers, exc_info)

        try:
            return self.app(environ, start)
        finally:
            status, route = answered[-1] if answered else ("500", "unmatched")
            self._record(environ, route, int(status[:3]), perf_counter() - started)

    def _record(self, environ: WSGIEnvironment, route: str, status: int, seconds: float) -> None:
        method = environ.get("REQUEST_METHOD", "")
        self.metrics.observe(route, method, status, seconds)
        if access_log.isEnabledFor(logging.INFO):
            args = (
                _quoted(method[:16]),
                _quoted(environ.get("PATH_INFO", "")[:MAX_PATH]),
                status,
                seconds * 1000,
            )
            # makeRecord and handle, as Logger.info does, minus its search of the call stack
            # for a file name and line number that this line does not show.
            record = access_log.makeRecord(
                access_log.name, logging.INFO, __file__, 0, LINE, args, None
            )
            access_log.handle(record)


def _age(since: float) -> Callable[[], float]:
    return lambda: time.time() - since


def _quoted(text: str) -> str:
    """`text` in double quotes, JSON-escaped if needed: no line breaks or quotes get through."""
    if text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    return json.dumps(text)
