"""The stock server: Flask + Waitress answering a constant JSON body of the API's shape.

The reference the API's throughput and latency are measured against: a Flask view returning
constant bytes, served by `waitress.serve(app)` with Waitress's defaults and Python's default
GIL switch interval, and nothing of the API's settings (it imports nothing from
`cryptopredict`). `python -m bench.ceiling` serves on `HOST`:`PORT`.
"""

from __future__ import annotations

import json

from flask import Flask, Response

from bench.serving import FORECAST_POINTS, serve_stock

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
    serve_stock(ceiling_app())
