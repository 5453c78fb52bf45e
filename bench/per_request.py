"""The per-request approach: unpickle `model.pkl` once, call `model.predict` on every request.

This is the reference idea the API replaces. `python -m bench.per_request` serves on `PORT`
from `MODEL_DIR`, as stock as the stock server (`bench/serving.py`).
"""

from __future__ import annotations

import json
import math
import pickle
from pathlib import Path

import pandas as pd
from flask import Flask, Response, request

from bench.serving import FORECAST_POINTS, serve_stock
from cryptopredict.config import Models


def per_request_app(artifact_dir: Path) -> Flask:
    model = pickle.loads((artifact_dir / "model.pkl").read_bytes())
    manifest = json.loads((artifact_dir / "manifest.json").read_text())
    log_target = manifest["params"]["target"] == "log"
    app = Flask(__name__)

    def price(value: float) -> float:
        return math.exp(value) if log_target else value

    def rows(frame: pd.DataFrame) -> list[dict]:
        return [
            {
                "date": row.ds.isoformat() + "Z",
                "prediction": price(row.yhat),
                # A model pickled with uncertainty_samples=0 gives no interval.
                "prediction_low": price(getattr(row, "yhat_lower", row.yhat)),
                "prediction_high": price(getattr(row, "yhat_upper", row.yhat)),
            }
            for row in frame.itertuples()
        ]

    @app.get("/bitcoin")
    def bitcoin() -> Response:
        date = _naive_utc(request.args["date"])
        return _json(rows(model.predict(pd.DataFrame({"ds": [date]})))[0])

    @app.get("/bitcoin/forecast")
    def forecast() -> Response:
        start = _naive_utc(request.args["start"])
        stamps = pd.date_range(start, periods=FORECAST_POINTS, freq="h")
        return _json(rows(model.predict(pd.DataFrame({"ds": stamps}))))

    return app


def _naive_utc(text: str) -> pd.Timestamp:
    stamp = pd.Timestamp(text)
    return stamp if stamp.tzinfo is None else stamp.tz_convert("UTC").tz_localize(None)


def _json(body: object) -> Response:
    return Response(json.dumps(body), mimetype="application/json")


if __name__ == "__main__":
    serve_stock(per_request_app(Models.from_env().model_dir / "btc-usd"))
