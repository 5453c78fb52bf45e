"""What the API answers while its model directory holds no model yet and a training run writes
into it (`make run`'s first minute): every route 503 `still_training` (`/healthz`: `starting`)
in the error shape, its detail the run's progress in words (`/healthz`'s also in `training`, as
it says once serving), and the dashboard (`/`) the time left and each pair's step, reloading
itself. `Reloading` serves the API once a model is written."""

from __future__ import annotations

from html import escape
from pathlib import Path

from flask import Flask, Response

from cryptopredict.api.http import json_response
from cryptopredict.api.serving.catalog import training_progress
from cryptopredict.api.types.common import Error
from cryptopredict.api.types.market import TrainingProgress
from cryptopredict.artifact.training import read_status, time_left

RETRY_SECONDS = 2


class StartingError(Error):
    training: TrainingProgress | None


def starting_app(model_dir: Path) -> Flask:
    app = Flask(__name__)

    @app.get("/", defaults={"path": ""})
    @app.get("/<path:path>")
    def starting(path: str) -> Response:
        status = read_status(model_dir)
        pairs = [
            (pair.asset, pair.why or pair.step, time_left(pair.eta_seconds))
            for pair in (status.pairs if status else ())
            if pair.state != "done"
        ]
        if not path:
            rows = "".join(
                f"<tr><td>{'</td><td>'.join(map(escape, pair))}</td></tr>" for pair in pairs
            )
            page = (
                f'<!doctype html><meta http-equiv="refresh" content="{RETRY_SECONDS}">'
                "<title>cryptopredict: training</title><h1>Training: no pair is served yet</h1>"
                "<p>Each pair is served as soon as its model is written; this page reloads.</p>"
                f"<table><tr><th>Pair</th><th>Step</th><th>Time left</th></tr>{rows}</table>"
            )
            response = Response(page, 503, content_type="text/html; charset=utf-8")
        else:
            said = "; ".join(f"{a}: {s}{t and ', '}{t}" for a, s, t in pairs) or "no training runs"
            detail = f"no pair is served yet ({said}); ask again in {RETRY_SECONDS} s"
            error = Error(error="still_training", detail=detail)
            if path == "healthz":
                error = StartingError(
                    error="starting", detail=detail, training=training_progress(model_dir)
                )
            response = json_response(error, status=503)
        response.headers["Retry-After"] = str(RETRY_SECONDS)
        return response

    return app
