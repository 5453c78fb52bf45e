"""`python api.py` (Waitress alone, for development): serves every usable artifact (one that is
damaged answers 503), refuses to start with none, and stops cleanly on SIGTERM. Behind its proxy:
tests/api/test_edge.py."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cryptopredict.artifact.index import record
from cryptopredict.artifact.training import VERSION, PairStatus, TrainingStatus, write_status
from cryptopredict.utc import iso_utc
from tests.imports import python_prints
from tests.live_server import answered, start_server
from tests.paths import ROOT

pytestmark = pytest.mark.slow


def refuse(model_dir: Path, **env: str) -> list[str]:
    """Run api.py expecting it to refuse; returns its output lines."""
    environment = {**os.environ, "MODEL_DIR": str(model_dir), "PORT": "0", **env}
    done = subprocess.run(
        [sys.executable, "api.py"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        timeout=60,
        check=False,
    )
    lines = (done.stdout + done.stderr).decode().splitlines()
    assert done.returncode != 0, lines
    assert not any("serving on" in line for line in lines), lines
    return lines


def corrupt_grid(directory: Path) -> None:
    grid = directory / "grid.npy"
    data = bytearray(grid.read_bytes())
    data[-100] ^= 0xFF
    grid.write_bytes(bytes(data))


def newer_schema(directory: Path) -> None:
    manifest = json.loads((directory / "manifest.json").read_text())
    manifest["schema_version"] += 1
    (directory / "manifest.json").write_text(json.dumps(manifest))


def answer_of(url: str) -> tuple[int, dict]:
    status, body = answered(url)
    return status, json.loads(body)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: (d / "history.npy").unlink(), r"btc-usd/history\.npy: missing"),
        (corrupt_grid, r"btc-usd/grid\.npy: sha256 .*\(corrupt or edited\)"),
        (newer_schema, "newer than this code understands"),
    ],
)
def test_a_damaged_artifact_answers_503_and_the_others_are_served(copy, tmp_path, damage, message):
    damage(copy / "btc-usd")
    with start_server(copy, tmp_path / "api.log") as server:
        status, health = answer_of(f"{server.url}/healthz")
        assert status == 200
        status, answer = answer_of(f"{server.url}/bitcoin?date=2026-07-20")
        assert status == 503
        assert answer["error"] == "asset_unavailable"
        assert re.search(message, answer["detail"]), answer
        assert str(copy) not in answer["detail"], "the detail names files inside MODEL_DIR only"
        status, eth = answer_of(f"{server.url}/forecast/eth-usd?date=2026-07-01")
        assert (status, eth["model_version"]) == (200, "test-eth-1")
        status, health = answer_of(f"{server.url}/healthz")
        assert (status, health["status"]) == (200, "degraded")
        assert [entry["asset"] for entry in health["unavailable"]] == ["btc-usd"]
        assert re.search(message, health["unavailable"][0]["detail"])
    assert re.search(f"cannot serve btc-usd: .*{message}", server.log.read_text())


def test_no_usable_artifact_stops_the_server_before_it_listens(copy):
    """Artifacts of schema 3, as the code before the index wrote them: no index.json, so the
    manifests are read at start-up, and none can be served."""
    (copy / "index.json").unlink()
    for asset in ("btc-usd", "eth-usd"):
        manifest = json.loads((copy / asset / "manifest.json").read_text())
        manifest["schema_version"] = 3
        (copy / asset / "manifest.json").write_text(json.dumps(manifest))
    lines = refuse(copy)
    assert "cannot serve:" in lines[-1]
    assert "schema_version 3 is no longer supported" in lines[-1]
    assert "retrain with `python train.py`" in lines[-1]
    assert not any("serving on" in line for line in lines)


def test_no_artifact_says_to_train_first(tmp_path):
    (line,) = refuse(tmp_path / "absent")
    assert "no such directory; train first: `make run` trains and serves, `make train`" in line


@pytest.mark.parametrize(
    ("training", "said"),
    [
        (False, "WARNING api: no btc-usd artifact: /bitcoin and /bitcoin/forecast answer 404"),
        # `ASSETS=sol-usd make run`: no BTC/USD is what was asked for, said at INFO.
        (True, "INFO    api: btc-usd is not trained in this run: /bitcoin answers 404"),
    ],
)
def test_without_a_bitcoin_artifact_the_log_says_why_bitcoin_answers_404(
    copy, tmp_path, training, said
):
    """What is served without it: tests/api/test_assets.py."""
    shutil.rmtree(copy / "btc-usd")
    if training:
        record(copy, None, afresh=True)
        now = datetime.now(UTC).replace(microsecond=0)
        pair = PairStatus(asset="eth-usd", state="running", step="backtest", eta_seconds=None)
        status = TrainingStatus(
            version=VERSION, started_at=now, updated_at=now, eta_seconds=None, pairs=(pair,)
        )
        write_status(copy, status)
    with start_server(copy, tmp_path / "api.log") as server:
        log = server.log.read_text()  # said before it serves
    assert said in log
    assert ("WARNING" in log) is not training


@pytest.mark.parametrize(
    ("env", "message"),
    [({"PORT": "http"}, "PORT must be a whole number"), ({"PORT": "70000"}, "PORT must be")],
)
def test_bad_settings_are_named(artifact_dir, env, message):
    (line,) = refuse(artifact_dir, **env)
    assert message in line


def test_a_port_in_use_is_named(artifact_dir, live_server):
    port = live_server.url.rsplit(":", 1)[1]
    (line,) = refuse(artifact_dir, PORT=port)
    assert f"cannot listen on 127.0.0.1:{port}" in line


def test_the_live_server_answers(live_server, facts):
    with urllib.request.urlopen(live_server.url + "/healthz", timeout=30) as response:
        assert response.status == 200
        body = response.read()
        assert "Server" not in response.headers
    assert json.loads(body)["model_version"] == facts.model_version
    status, body = answered(f"{live_server.url}/bitcoin?date={iso_utc(facts.data_end)}")
    assert status == 200
    answer = json.loads(body)  # at the data's end: the last close, no band (issue 117)
    assert answer["prediction_low"] == answer["prediction_high"] == answer["anchor"]["price"] > 0


def test_the_access_log_is_off_by_default(artifact_dir, tmp_path, facts):
    server = start_server(artifact_dir, tmp_path / "api.log")
    try:
        status, _ = answered(f"{server.url}/bitcoin?date={iso_utc(facts.data_end)}")
        assert status == 200
    finally:
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=10) == 0
    log = server.log.read_text()
    assert "serving on" in log
    assert "status=" not in log
    assert log.rstrip().endswith("stopped")


IMPORTS = """
import sys
from cryptopredict.api.app import create_app
from cryptopredict.artifact.store import open_artifacts
from cryptopredict.config import ApiSettings

client = create_app(open_artifacts(sys.argv[1]), ApiSettings()).test_client()
far = f"/bitcoin?date={sys.argv[2]}"  # three years after the last bar
paths = ("/bitcoin?date=2026-07-20", far, "/bitcoin/forecast", "/model", "/healthz", "/", "/docs")
for path in paths:
    assert client.get(path).status_code == 200, path
heavy = ("pandas", "prophet", "cmdstanpy", "plotly")
print(" ".join(name for name in heavy if name in sys.modules))
"""


def test_startup_and_the_grid_import_no_pandas_prophet_or_openapi_tooling(artifact_dir, facts):
    far = iso_utc(facts.data_end + 3 * 365 * 86_400)
    assert python_prints(IMPORTS, str(artifact_dir), far).strip() == ""
