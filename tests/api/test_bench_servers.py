"""The benchmark's comparison servers answer as the issue describes and are served stock, and its
table's ratios and bars."""

from __future__ import annotations

import json
import math
import os
import runpy
import sys
import threading
from datetime import datetime

import pandas as pd
import pytest

from bench import run, serving
from bench.ceiling import ceiling_app
from bench.own_app import own_app
from bench.per_request import per_request_app
from cryptopredict.artifact.read import load_artifact
from cryptopredict.utc import iso_utc
from tests.api.artifacts import HOUR, PROPHET_DEPRECATION
from tests.imports import python_prints

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
    epoch = facts.data_end + 3 * HOUR
    answer = client.get(f"/bitcoin?date={iso_utc(epoch)}").get_json()
    assert answer.keys() == REFERENCE_KEYS
    model = artifact.load_model()
    expected = model.predict(pd.DataFrame({"ds": [pd.Timestamp(epoch, unit="s")]}))
    assert answer["prediction"] == math.exp(expected["yhat"].iloc[0])
    assert answer["date"] == iso_utc(epoch)


def test_the_own_app_is_the_api_app_on_model_dir(client, artifact_dir, facts, monkeypatch):
    monkeypatch.setenv("MODEL_DIR", str(artifact_dir))
    path = f"/bitcoin?date={iso_utc(facts.data_end + 3 * HOUR)}"
    answer = own_app().test_client().get(path)
    assert answer.status_code == 200
    assert answer.get_json() == client.get(path).get_json()


STOCK_IMPORTS = """
import sys
import threading
default = sys.getswitchinterval()
import bench.ceiling
bench.ceiling.ceiling_app()
ours = sorted(name for name in sys.modules if name.split(".")[0] == "cryptopredict")
print(ours, sys.getswitchinterval() == default)
"""


def test_the_stock_server_imports_nothing_of_the_api_and_keeps_the_switch_interval():
    assert python_prints(STOCK_IMPORTS).split() == ["[]", "True"]


@pytest.mark.parametrize("module", ["bench.ceiling", "bench.per_request", "bench.own_app"])
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


def test_cpu_seconds_counts_this_process_threads_work():
    before = run.cpu_seconds(os.getpid())
    worker = threading.Thread(target=lambda: sum(i * i for i in range(3_000_000)))
    worker.start()
    worker.join()
    assert run.cpu_seconds(os.getpid()) > before


def test_load_paths_are_hundreds_of_distinct_dates_inside_the_grid(artifact_dir, tmp_path):
    paths = run.write_paths(tmp_path, artifact_dir)
    dates = [line.split("=", 1)[1] for line in paths["bitcoin"].read_text().splitlines()]
    assert len(set(dates)) == run.DATES >= 200
    grid = load_artifact(artifact_dir / "btc-usd").grid.ds
    stamps = [int(datetime.fromisoformat(date).timestamp()) for date in dates]
    step = int(grid[1] - grid[0])  # the API serves a row at its bar's close, a step after its ds
    assert min(stamps) >= grid[0] + step
    assert max(stamps) <= grid[-1] + step
    assert {stamp % HOUR for stamp in stamps} == {0, 900, 1800, 2700}


def server_figures(rps: float, p50: float, cold: float) -> dict:
    figures = {
        "requests_per_second_c1": rps / 4,
        "p50_ms_c1": p50,
        "p99_ms_c1": 1.0,
        "load_average_c1": 0.5,
        "cpu_us_c1": 400.0,
        "requests_per_second_c16": rps,
        "p50_ms_c16": 1.0,
        "p99_ms_c16": 2.0,
        "load_average_c16": 1.5,
        "cpu_us_c16": 300.0,
        "far_p50_ms": 0.3,
        "forecast_p50_ms": 1.0,
        "forecast_p99_ms": 2.0,
        "rss_mb": 50.0,
        "socket_errors": 0,
        "non_2xx": 0,
    }
    return {**figures, "rounds": [figures, {**figures, rps_key(16): rps / 2}], "cold_start_s": cold}


def rps_key(connections: int) -> str:
    return f"requests_per_second_c{connections}"


def test_the_bars_are_taken_round_by_round():
    def rounds(*figures: tuple[float, float, float]) -> dict:
        return {
            "rounds": [
                {rps_key(16): r16, rps_key(64): r64, "p50_ms_c1": p} for r16, r64, p in figures
            ]
        }

    results = {
        "cryptopredict": rounds((900, 900, 0.50), (700, 800, 0.60), (2000, 2000, 0.40)),
        "own-app": rounds((900, 1000, 0.4), (800, 800, 0.4), (2000, 1000, 0.4)),
        "stock": rounds((1000, 500, 0.45), (1000, 500, 0.05), (1000, 500, 0.40)),
        "per-request": rounds((10, 1, 60.0), (20, 1, 60.0), (50, 1, 60.0)),
    }
    bars = {bar["bar"]: bar for bar in run.bar_results(results)}
    stock = bars["/bitcoin throughput, 16 conn., >= 1.0x stock"]
    assert stock["rounds"] == [0.9, 0.7, 2.0]
    assert stock["median"] == 0.9
    assert stock["holds"] is False
    assert stock["shown"] == ["0.90x", "0.70x", "2.00x"]
    assert bars["/bitcoin throughput, 64 conn., >= 1.0x stock"]["rounds"] == [1.8, 1.6, 4.0]
    own = bars["/bitcoin throughput, 64 conn., >= 0.9x own app"]
    assert own["rounds"] == [0.9, 1.0, 2.0]
    assert own["holds"]
    per_request = bars["/bitcoin throughput, 16 conn., >= 50x per-request"]
    assert per_request["rounds"] == [90, 35, 40]
    assert per_request["holds"] is False  # the median round, 40x, is under 50x
    latency = bars["/bitcoin p50, 1 conn., <= stock + 0.5 ms"]
    assert latency["shown"][0] == "+0.05 ms"
    assert latency["holds"]


def test_bars_on_what_was_not_measured_are_left_out():
    results = {
        name: {"rounds": [{rps_key(16): rps, "p50_ms_c1": 1.0}]}
        for name, rps in (("cryptopredict", 900.0), ("stock", 1000.0), ("per-request", 0.0))
    }
    bars = run.bar_results(results)
    assert [bar["bar"] for bar in bars] == [
        "/bitcoin throughput, 16 conn., >= 1.0x stock",
        "/bitcoin throughput, 16 conn., >= 50x per-request",
        "/bitcoin p50, 1 conn., <= stock + 0.5 ms",
    ]
    assert bars[1]["holds"]  # a comparison that answered nothing loses to any API that did
    assert bars[1]["shown"][0] == "infx"


def test_the_table_divides_each_figure_by_each_comparison():
    servers = {
        "cryptopredict": server_figures(3000, 0.5, 0.25),
        "own-app": server_figures(3000, 0.5, 0.25),
        "stock": server_figures(4000, 0.4, 0.125),
        "per-request": server_figures(30, 60.0, 1.0),
    }
    report = {
        "date": "2026-11-21 12:00 UTC",
        "machine": "2 cores",
        "load_average": [0.1, 1.2],
        "connections": [1, 16],
        "seconds": 10,
        "rounds": 2,
        "servers": servers,
        "bars": run.bar_results(servers),
        "training": {"no_backtest_s": 20.0, "full_s": 300.0, "backtest_s": 280.0},
    }
    table = run.table(report).splitlines()
    assert "| figure | cryptopredict | own-app | stock | per-request | vs own-app | vs stock " in (
        "\n".join(table)
    )
    throughput = next(
        line for line in table if line.startswith("| /bitcoin throughput, 16 conn., req/s")
    )
    assert (
        "| 3000 (1500 to 3000) | 3000 (1500 to 3000) | 4000 (2000 to 4000) | 30 (15 to 30) "
        "| 1.00x | 0.75x | 100.00x | 1.5 (1.5 to 1.5) |" in throughput
    )
    cold = next(line for line in table if "cold start" in line)
    assert "| 1.00x | 2.00x | 0.25x |" in cold
    header = table.index("| acceptance bar | median | range over rounds | verdict |")
    verdicts = table[header + 2 : table.index("", header)]
    assert verdicts == [
        "| /bitcoin throughput, 16 conn., >= 1.0x stock | 0.75x | 0.75x to 0.75x | DOES NOT HOLD |",
        "| /bitcoin throughput, 16 conn., >= 0.9x own app | 1.00x | 1.00x to 1.00x | holds |",
        "| /bitcoin throughput, 16 conn., >= 50x per-request | 100.00x | 100.00x to 100.00x "
        "| holds |",
        "| /bitcoin p50, 1 conn., <= stock + 0.5 ms | +0.10 ms | +0.10 ms to +0.10 ms | holds |",
    ]
    assert "280 s of backtest" in "\n".join(table)
    assert not any("not idle" in line for line in table)  # load average 0.1 when it began
    assert json.dumps(report)  # the report is what reports/bench.json holds
