"""The benchmark's comparison servers answer as the issue describes and are served stock, and its
table's ratios and bars."""

from __future__ import annotations

import json
import math
import runpy
import subprocess
import sys
from datetime import datetime

import pandas as pd
import pytest

from bench import run, serving
from bench.ceiling import ceiling_app
from bench.per_request import per_request_app
from cryptopredict.api.serving.utc import iso_utc
from cryptopredict.artifact import load_artifact
from tests.api.artifacts import HOUR, PROPHET_DEPRECATION
from tests.paths import ROOT

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


STOCK_IMPORTS = """
import sys
default = sys.getswitchinterval()
import bench.ceiling
bench.ceiling.ceiling_app()
ours = sorted(name for name in sys.modules if name.split(".")[0] == "cryptopredict")
print(ours, sys.getswitchinterval() == default)
"""


def test_the_stock_server_imports_nothing_of_the_api_and_keeps_the_switch_interval():
    done = subprocess.run(
        [sys.executable, "-c", STOCK_IMPORTS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.split() == ["[]", "True"]


@pytest.mark.parametrize("module", ["bench.ceiling", "bench.per_request"])
def test_the_comparisons_are_served_by_waitress_serve_with_only_an_address(
    module, monkeypatch, artifact_dir
):
    served = []
    monkeypatch.setattr(serving, "serve", lambda app, **options: served.append(options))
    monkeypatch.setenv("HOST", "127.0.0.2")
    monkeypatch.setenv("PORT", "8123")
    monkeypatch.setenv("MODEL_DIR", str(artifact_dir))
    monkeypatch.delitem(sys.modules, module)  # run as `python -m`, not as the imported module
    default = sys.getswitchinterval()
    runpy.run_module(module, run_name="__main__")
    assert served == [{"host": "127.0.0.2", "port": 8123}]
    assert sys.getswitchinterval() == default


def test_load_paths_are_hundreds_of_distinct_dates_inside_the_grid(artifact_dir, tmp_path):
    paths = run.write_paths(tmp_path, artifact_dir)
    dates = [line.split("=", 1)[1] for line in paths["bitcoin"].read_text().splitlines()]
    assert len(set(dates)) == run.DATES >= 200
    grid = load_artifact(artifact_dir / "btc-usd").grid.ds
    stamps = [int(datetime.fromisoformat(date).timestamp()) for date in dates]
    assert min(stamps) >= grid[0]
    assert max(stamps) <= grid[-1]
    assert {stamp % HOUR for stamp in stamps} == {0, 900, 1800, 2700}


def server_figures(rps: float, one_p50: float, cold: float) -> dict:
    figures = {
        "requests_per_second": rps,
        "p50_ms": 1.0,
        "p99_ms": 2.0,
        "one_p50_ms": one_p50,
        "one_p99_ms": 1.0,
        "far_p50_ms": 0.3,
        "forecast_p50_ms": 1.0,
        "forecast_p99_ms": 2.0,
        "rss_mb": 50.0,
        "socket_errors": 0,
        "non_2xx": 0,
    }
    return {**figures, "rounds": [figures], "cold_start_s": cold}


def test_the_bars_are_taken_round_by_round():
    def rounds(*figures: tuple[float, float]) -> dict:
        return {"rounds": [{"requests_per_second": r, "one_p50_ms": p} for r, p in figures]}

    results = {
        "cryptopredict": rounds((900, 0.50), (700, 0.60), (2000, 0.40)),
        "stock": rounds((1000, 0.45), (1000, 0.05), (1000, 0.40)),
        "per-request": rounds((10, 60.0), (20, 60.0), (50, 60.0)),
    }
    stock, per_request, latency = run.bar_results(results)
    assert stock["rounds"] == [0.9, 0.7, 2.0]
    assert stock["median"] == 0.9
    assert stock["holds"]
    assert stock["shown"] == ["0.90x", "0.70x", "2.00x"]
    assert per_request["rounds"] == [90, 35, 40]
    assert per_request["holds"] is False  # the median round, 40x, is under 50x
    assert latency["shown"][0] == "+0.05 ms"
    assert latency["holds"]


def test_a_comparison_that_answered_nothing_does_not_stop_the_table():
    results = {
        name: {"rounds": [{"requests_per_second": rps, "one_p50_ms": 1.0}]}
        for name, rps in (("cryptopredict", 900.0), ("stock", 1000.0), ("per-request", 0.0))
    }
    _, per_request, _ = run.bar_results(results)
    assert per_request["holds"]
    assert per_request["shown"][0] == "infx"


def test_the_table_divides_each_figure_by_each_comparison():
    servers = {
        "cryptopredict": server_figures(3000, 0.5, 0.25),
        "stock": server_figures(4000, 0.4, 0.125),
        "per-request": server_figures(30, 60.0, 1.0),
    }
    report = {
        "date": "2026-11-21 12:00 UTC",
        "machine": "2 cores",
        "load_average": [0.1, 1.2],
        "connections": 16,
        "seconds": 10,
        "rounds": 1,
        "servers": servers,
        "bars": run.bar_results(servers),
        "training": {"no_backtest_s": 20.0, "full_s": 300.0, "backtest_s": 280.0},
    }
    table = run.table(report).splitlines()
    throughput = next(
        line for line in table if line.startswith("| /bitcoin throughput, 16 conn., req/s")
    )
    assert "| 3000 | 4000 | 30 | 0.75x | 100.00x |" in throughput
    cold = next(line for line in table if "cold start" in line)
    assert "| 2.00x | 0.25x |" in cold
    header = table.index("| acceptance bar | median | range over rounds | verdict |")
    verdicts = table[header + 2 : table.index("", header)]
    assert verdicts == [
        "| /bitcoin throughput, 16 conn., >= 0.8x stock | 0.75x | 0.75x to 0.75x | DOES NOT HOLD |",
        "| /bitcoin throughput, 16 conn., >= 50x per-request | 100.00x | 100.00x to 100.00x "
        "| holds |",
        "| /bitcoin p50, 1 conn., <= stock + 0.5 ms | +0.10 ms | +0.10 ms to +0.10 ms | holds |",
    ]
    assert "280 s of backtest" in "\n".join(table)
    assert not any("not idle" in line for line in table)  # load average 0.1 when it began
    assert json.dumps(report)  # the report is what reports/bench.json holds
