"""`/healthz`: the API serves, and which model it serves."""

from __future__ import annotations

from flask import Response

from cryptopredict.api.dates import iso_utc
from cryptopredict.api.openapi import Blueprint, answers, document
from cryptopredict.api.responses import json_response
from cryptopredict.artifact import Artifact


def blueprint(artifact: Artifact) -> Blueprint:
    bp = Blueprint("health", __name__, description="Liveness, for load balancers and deploys.")
    answer = {
        "status": "ok",
        "asset": artifact.asset,
        "model_version": artifact.manifest["model_version"],
        "created_at": artifact.manifest["created_at"],
        "data_last": iso_utc(int(artifact.history["ds"][-1])),
    }

    @bp.get("/healthz")
    @document(responses=answers("Serving, with the model version.", "Health"))
    def healthz() -> Response:
        """Health check

        200 while the API serves; `model_version` tells a deploy which model is live.
        """
        return json_response(answer)

    return bp
