"""The ceiling: Flask + Waitress answering a constant JSON body of the API's shape.

No API on this stack can answer faster. `python -m bench.ceiling` serves on `PORT`.
"""

from __future__ import annotations

import json

from flask import Flask, Response

from bench.serving import FORECAST_POINTS, SWITCH_INTERVAL, serve_like_the_api
from cryptopredict.config import Settings

POINT = {
    "date": "2026-08-01T12:00:00Z",
    "prediction": 64734.17,
    "prediction_low": 62001.5,
    "prediction_high": 67412.9,
}


def ceiling_app() -> Flask:
    one = json.dumps(POINT)
    many = json.dumps([POINT] * FORECAST_POINTS)
    app = Flask(__name__)

    @app.get("/bitcoin")
    def bitcoin() -> Response:
        return Response(one, mimetype="application/json")

    @app.get("/bitcoin/forecast")
    def forecast() -> Response:
        return Response(many, mimetype="application/json")

    return app


if __name__ == "__main__":
    serve_like_the_api(ceiling_app(), Settings.from_env(), switch_interval=SWITCH_INTERVAL)
