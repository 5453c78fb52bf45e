"""`/model` and `/model/backtest`, what the model is and how its past forecasts fared, and
`/healthz`, which says the API serves and which model."""

from __future__ import annotations

import json
from functools import cache

from flask import Response

from cryptopredict.api.openapi import Blueprint, answers, document
from cryptopredict.api.responses import iso_utc, json_response, public_cache, raw_json_response
from cryptopredict.artifact import Artifact


def blueprint(artifact: Artifact, *, cache_seconds: int) -> Blueprint:
    bp = Blueprint("model", __name__, description="The model behind the forecast.")
    max_age = public_cache(cache_seconds)
    card = _json({**artifact.manifest_json, "backtest": artifact.backtest.get("summary") or {}})

    @cache
    def backtest() -> bytes:
        return _json(artifact.backtest)

    @bp.get("/model")
    @document(responses=answers("The manifest and the backtest summary.", "ModelCard"))
    def model() -> Response:
        """The model card

        Versions, the data's range, source and validation report, the training configuration,
        the post-processing rules, the checksums of every file, and the backtest metrics.
        """
        return raw_json_response(card, cache=max_age)

    @bp.get("/model/backtest")
    @document(responses=answers("The summary and every backtest path.", "Backtest"))
    def model_backtest() -> Response:
        """Past forecasts against actual prices

        Each path is a forecast made from a past origin, with the prices that followed.
        """
        return raw_json_response(backtest(), cache=max_age)

    return bp


def health_blueprint(artifact: Artifact) -> Blueprint:
    bp = Blueprint("health", __name__, description="Liveness, for load balancers and deploys.")
    manifest = artifact.manifest
    answer = {
        "status": "ok",
        "asset": artifact.asset,
        "model_version": manifest.model_version,
        "created_at": iso_utc(manifest.created_at.timestamp()),
        "data_last": iso_utc(int(artifact.history.ds[-1])),
    }

    @bp.get("/healthz")
    @document(responses=answers("Serving, with the model version.", "Health"))
    def healthz() -> Response:
        """Health check

        200 while the API serves; `model_version` tells a deploy which model is live.
        """
        return json_response(answer)

    return bp


def _json(value: object) -> bytes:
    return json.dumps(value, allow_nan=False, separators=(",", ":")).encode()
