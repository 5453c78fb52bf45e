"""The benchmark's comparison servers answer as the issue describes, and its table's ratios."""

from __future__ import annotations

import json
import math
from datetime import datetime

import numpy as np
import pandas as pd

from bench import run, serving
from bench.ceiling import ceiling_app
from bench.per_request import per_request_app
from cryptopredict.api import server
from cryptopredict.api.serving.utc import iso_utc
from tests.api.conftest import HOUR, PROPHET_DEPRECATION

pytestmark = PROPHET_DEPRECATION
REFERENCE_KEYS = {"date", "prediction", "prediction_low", "prediction_high"}


def test_the_ceiling_answers_a_constant_body_of_the_reference_shape():
    client = ceiling_app().test_client()
    first = client.get("/bitcoin?date=2026-07-20").get_json()
    assert first.keys() == REFERENCE_KEYS
    assert client.get("/bitcoin?date=2031-01-01").get_json() == first
    points = client.get("/bitcoin/forecast?start=2026-07-20").get_json()
    assert len(points) == serving.FORECAST_POINTS == 30 * 24 + 1


def test_the_per_request_server_calls_predict_on_the_pickled_model(artifacts, facts):
    artifact = artifacts["btc-usd"]
    client = per_request_app(artifact.path).test_client()
    epoch = facts.last_bar + 3 * HOUR
    answer = client.get(f"/bitcoin?date={iso_utc(epoch)}").get_json()
    assert answer.keys() == REFERENCE_KEYS
    model = artifact.load_model()
    expected = model.predict(pd.DataFrame({"ds": [pd.Timestamp(epoch, unit="s")]}))
    assert answer["prediction"] == math.exp(expected["yhat"].iloc[0])
    assert answer["date"] == iso_utc(epoch)


def test_the_comparisons_use_the_apis_gil_switch_interval():
    assert serving.SWITCH_INTERVAL == server.SWITCH_INTERVAL


def test_load_paths_are_hundreds_of_distinct_dates_inside_the_grid(artifact_dir, tmp_path):
    paths = run.write_paths(tmp_path, artifact_dir)
    dates = [line.split("=", 1)[1] for line in paths["bitcoin"].read_text().splitlines()]
    assert len(set(dates)) == run.DATES >= 200
    grid = np.load(artifact_dir / "btc-usd" / "grid.npz")["ds"]
    stamps = [int(datetime.fromisoformat(date).timestamp()) for date in dates]
    assert min(stamps) >= grid[0]
    assert max(stamps) <= grid[-1]
    assert {stamp % HOUR for stamp in stamps} == {0, 900, 1800, 2700}


def test_the_table_divides_each_figure_by_each_comparison():
    def server_figures(rps: float, cold: float) -> dict:
        return {
            "requests_per_second": rps,
            "p50_ms": 1.0,
            "p99_ms": 2.0,
            "forecast_p50_ms": 1.0,
            "near_p50_ms": 0.3,
            "far_p50_ms": 0.3,
            "cold_start_s": cold,
            "rss_mb": 50.0,
            "socket_errors": 0,
            "non_2xx": 0,
        }

    report = {
        "date": "2026-11-21 12:00 UTC",
        "machine": "2 cores",
        "connections": 16,
        "seconds": 10,
        "rounds": 3,
        "servers": {
            "cryptopredict": server_figures(3000, 0.25),
            "per-request": server_figures(30, 1.0),
            "ceiling": server_figures(4000, 0.125),
        },
        "training": {"no_backtest_s": 20.0, "full_s": 300.0, "backtest_s": 280.0},
    }
    table = run.table(report)
    throughput = next(line for line in table.splitlines() if "throughput" in line)
    assert "| 3000 | 30 | 4000 | 100.00x | 0.75x |" in throughput
    cold = next(line for line in table.splitlines() if "cold start" in line)
    assert "0.25x | 2.00x" in cold
    assert "280 s of backtest" in table
    assert json.dumps(report)  # the report is what reports/bench.json holds
