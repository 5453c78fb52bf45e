"""`/metrics`: requests and latency by route and status, model and data age, process figures."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

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

from cryptopredict.api.openapi import Blueprint, answers, document
from cryptopredict.artifact import Artifact

METHODS = frozenset({"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"})
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

log = logging.getLogger(__name__)


class Metrics:
    """One registry per app, so tests can build many apps in one process."""

    def __init__(self, artifact: Artifact) -> None:
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
        manifest = artifact.manifest
        Info("cryptopredict_model", "The model being served.", registry=self.registry).info(
            {
                "asset": artifact.asset,
                "model_version": str(manifest["model_version"]),
                "created_at": str(manifest["created_at"]),
            }
        )
        created = _epoch(manifest["created_at"])
        if created is not None:
            Gauge(
                "cryptopredict_model_age_seconds",
                "Seconds since the model was trained.",
                registry=self.registry,
            ).set_function(lambda: time.time() - created)
        last_bar = float(artifact.history["ds"][-1])
        Gauge(
            "cryptopredict_data_age_seconds",
            "Seconds since the last bar the model saw.",
            registry=self.registry,
        ).set_function(lambda: time.time() - last_bar)
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

    def blueprint(self) -> Blueprint:
        bp = Blueprint("metrics", __name__, description="Prometheus metrics.")

        @bp.get("/metrics")
        @document(
            responses=answers(
                "Prometheus text format.", content={"text/plain": {"schema": {"type": "string"}}}
            )
        )
        def metrics() -> Response:
            """Prometheus metrics

            `http_requests_total` and `http_request_duration_seconds` by route, method and
            status; `cryptopredict_model_age_seconds`, `cryptopredict_data_age_seconds`,
            `cryptopredict_model_info`; process memory and CPU.
            """
            return Response(
                generate_latest(self.registry),
                content_type=CONTENT_TYPE_LATEST,
                headers={"Cache-Control": "no-store"},
            )

        return bp


def _epoch(text: object) -> float | None:
    try:
        when = datetime.fromisoformat(str(text))
    except ValueError:
        log.warning("created_at %r is not an ISO-8601 time; no model age metric", text)
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
