"""`python api.py`: serves every usable artifact (one that is damaged answers 503), refuses to
start with none, and stops cleanly on SIGTERM."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cryptopredict.api.serving.utc import iso_utc
from cryptopredict.artifact.training import VERSION, PairStatus, TrainingStatus, write_status
from cryptopredict.artifact.write import index_artifacts
from tests.api.guarded import OTHER_CLIENT
from tests.live_server import start_server
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


@pytest.fixture
def copy(artifact_dir, tmp_path) -> Path:
    shutil.copytree(artifact_dir, tmp_path / "artifacts")
    return tmp_path / "artifacts"


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
    try:
        with urllib.request.urlopen(url) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as refused:
        return refused.code, json.load(refused)


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
    server = start_server(copy, tmp_path / "api.log")
    try:
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
    finally:
        server.process.terminate()
        server.process.wait(timeout=10)
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
    assert "no such directory; run `python train.py` first" in line


def test_without_a_bitcoin_artifact_the_others_are_served_and_bitcoin_is_unknown(copy, tmp_path):
    shutil.rmtree(copy / "btc-usd")
    server = start_server(copy, tmp_path / "api.log")
    try:
        with urllib.request.urlopen(f"{server.url}/forecast/eth-usd?date=2026-07-01") as answer:
            assert json.load(answer)["model_version"] == "test-eth-1"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{server.url}/bitcoin?date=2026-07-01")
        assert refused.value.code == 404
        assert json.load(refused.value)["error"] == "unknown_asset"
    finally:
        server.process.terminate()
        server.process.wait(timeout=10)
    log = server.log.read_text()
    assert "no btc-usd artifact: /bitcoin and /bitcoin/forecast answer 404" in log


def test_a_run_training_other_pairs_than_bitcoin_is_not_warned_about(copy, tmp_path):
    """`ASSETS=sol-usd make run`: no BTC/USD is what was asked for, said at INFO."""
    shutil.rmtree(copy / "btc-usd")
    index_artifacts(copy)
    now = datetime.now(UTC).replace(microsecond=0)
    pair = PairStatus(asset="eth-usd", state="running", step="backtest", eta_seconds=None)
    write_status(
        copy,
        TrainingStatus(
            version=VERSION, started_at=now, updated_at=now, eta_seconds=None, pairs=(pair,)
        ),
    )
    server = start_server(copy, tmp_path / "api.log")
    server.process.terminate()
    server.process.wait(timeout=10)
    log = server.log.read_text()
    assert "INFO    api: btc-usd is not trained in this run: /bitcoin answers 404" in log
    assert "WARNING" not in log


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


def get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.read()


def test_the_live_server_answers(live_server, facts):
    with urllib.request.urlopen(live_server.url + "/healthz", timeout=30) as response:
        assert response.status == 200
        body = response.read()
        assert "Server" not in response.headers
    assert json.loads(body)["model_version"] == facts.model_version
    status, body = get(f"{live_server.url}/bitcoin?date={iso_utc(facts.data_end)}")
    assert status == 200
    assert json.loads(body)["actual"] > 0


def test_sigterm_finishes_requests_in_flight_then_exits(artifact_dir, tmp_path):
    server = start_server(artifact_dir, tmp_path / "api.log", ACCESS_LOG="true")
    address = server.url.removeprefix("http://")
    idle = http.client.HTTPConnection(address, timeout=10)
    idle.request("GET", "/healthz")
    assert idle.getresponse().read()  # a kept-alive connection must not hold the exit up
    # A large answer read slowly: it is still being sent when SIGTERM comes.
    slow = http.client.HTTPConnection(address, timeout=10)
    slow.request("GET", "/vendor/plotly.min.js")
    answer = slow.getresponse()
    assert answer.status == 200
    first = answer.read(65_536)
    server.process.send_signal(signal.SIGTERM)
    stopped = time.monotonic()
    time.sleep(0.5)
    rest = answer.read()
    assert len(first) + len(rest) == int(answer.headers["Content-Length"])
    assert server.process.wait(timeout=10) == 0
    assert time.monotonic() - stopped < 5
    log = server.log.read_text()
    assert "SIGTERM: finishing the requests in flight" in log
    assert log.rstrip().endswith("stopped")
    assert "status=200" in log  # ACCESS_LOG turns the access log on
    with pytest.raises(urllib.error.URLError, match="Connection refused"):
        get(server.url + "/healthz")


def keep_asking(address: str, path: str, stop: threading.Event, answers: list[int]) -> str:
    """Ask for `path` over one kept-alive connection, a new one when it closes, until `stop`
    is set and the server refuses to connect; count the complete answers in `answers`. Returns
    why it ended: `refused` once the server no longer listens; anything else is a failure."""
    while True:
        connection = http.client.HTTPConnection(address, timeout=10)
        try:
            while True:
                connection.request("GET", path)
                answer = connection.getresponse()
                body = answer.read()
                if answer.status != 200 or len(body) != int(answer.headers["Content-Length"]):
                    return f"status {answer.status}, {len(body)} bytes"
                answers.append(answer.status)
        except ConnectionRefusedError:
            if stop.is_set():
                return "refused"
            return "refused before SIGTERM"
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            pass  # the server closed a kept-alive connection before reading the next request
        except Exception as error:  # a truncated answer, a timeout: reported
            return repr(error)
        finally:
            connection.close()


def test_sigterm_under_load_answers_every_request_it_received(artifact_dir, tmp_path, facts):
    """Sixteen clients asking as fast as they can; SIGTERM in the middle. Every request the app
    received (a line in its access log) reached its client whole, none was cancelled, and the
    server stopped within the drain's bound."""
    server = start_server(artifact_dir, tmp_path / "api.log", ACCESS_LOG="true")
    address = server.url.removeprefix("http://")
    path = f"/bitcoin?date={iso_utc(facts.data_end + 86_400)}"
    stop = threading.Event()
    answers: list[int] = []
    ended: list[str] = []
    clients = [
        threading.Thread(target=lambda: ended.append(keep_asking(address, path, stop, answers)))
        for _ in range(16)
    ]
    for client in clients:
        client.start()
    deadline = time.monotonic() + 30
    while len(answers) < 200 and time.monotonic() < deadline:
        time.sleep(0.05)
    before = len(answers)
    assert before >= 200, "the clients did not get going"
    stop.set()
    server.process.send_signal(signal.SIGTERM)
    stopped = time.monotonic()
    assert server.process.wait(timeout=10) == 0
    assert time.monotonic() - stopped < 5
    for client in clients:
        client.join(timeout=15)
    assert ended == ["refused"] * 16
    log = server.log.read_text()
    received = log.count('path="/bitcoin" status=200')
    assert received == len(answers) > before
    assert "Canceling" not in log  # Waitress's word for received requests it dropped
    assert "Task queue depth" not in log
    assert "still busy" not in log
    assert log.rstrip().endswith("stopped")


def test_the_access_log_is_off_by_default(artifact_dir, tmp_path, facts):
    server = start_server(artifact_dir, tmp_path / "api.log")
    try:
        status, _ = get(f"{server.url}/bitcoin?date={iso_utc(facts.data_end)}")
        assert status == 200
    finally:
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=10) == 0
    log = server.log.read_text()
    assert "serving on" in log
    assert "status=" not in log
    assert log.rstrip().endswith("stopped")


PARTIAL = b"GET /healthz HTTP/1.1\r\nHost: slow.example\r\n"  # no blank line: never finished


@pytest.fixture
def open_files():
    """Room for a thousand connections in this process too (within the system's hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 4096 if hard == resource.RLIM_INFINITY else min(4096, hard)
    if wanted < 1100:
        pytest.skip(f"the system allows only {hard} open files; 1,000 connections need more")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def idle_partial_requests(url: str, count: int) -> list[socket.socket]:
    address = url.removeprefix("http://").rsplit(":", 1)
    clients = []
    for _ in range(count):
        client = socket.create_connection((address[0], int(address[1])), timeout=5)
        with contextlib.suppress(OSError):  # refused and closed already
            client.sendall(PARTIAL)
        clients.append(client)
    return clients


def healthz(url: str, *, timeout: float) -> bool:
    """Whether /healthz answered 200 within `timeout` seconds, asked from another client
    address than the connections the tests open (127.0.0.2: loopback too)."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    connection = http.client.HTTPConnection(
        host, int(port), timeout=timeout, source_address=(OTHER_CLIENT, 0)
    )
    try:
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def still_open(client: socket.socket) -> bool:
    client.setblocking(False)
    try:
        return client.recv(1) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


def test_a_thousand_idle_partial_requests_do_not_stop_healthz(artifact_dir, tmp_path, open_files):
    """A slowloris: 1,000 connections from one address that send half a request and wait.
    Past its cap (100) they are refused at once; those held are cut at the request's deadline;
    other clients are answered throughout."""
    server = start_server(artifact_dir, tmp_path / "api.log", REQUEST_TIMEOUT="3")
    clients: list[socket.socket] = []
    try:
        clients = idle_partial_requests(server.url, 1000)
        assert healthz(server.url, timeout=30)
        assert all(healthz(server.url, timeout=1.0) for _ in range(5))
        clients[-1].settimeout(10)  # refused: its address holds 100 already
        assert clients[-1].recv(65536).startswith(b"HTTP/1.1 503 ")
        deadline = time.monotonic() + 30
        while still_open(clients[0]):
            assert time.monotonic() < deadline, "the partial request was never cut"
            time.sleep(0.1)
        metrics = get(server.url + "/metrics")[1].decode()  # at once: none is dropped
        refused = re.search(
            r'cryptopredict_connections_cut_total\{reason="per_client_cap"\} (\S+)', metrics
        )
        assert refused is not None
        assert float(refused.group(1)) >= 900
    finally:
        for client in clients:
            client.close()
        server.process.terminate()
        server.process.wait(timeout=10)


def test_without_the_layer_bounds_waitress_connection_limit_stops_everyone(
    artifact_dir, tmp_path, open_files
):
    """The control: with Waitress's default limit (100), no cap per client and a long request
    deadline, the same connections lock everyone out until they time out."""
    server = start_server(
        artifact_dir,
        tmp_path / "api.log",
        CONNECTION_LIMIT="100",
        MAX_CONNECTIONS_PER_CLIENT="0",
        REQUEST_TIMEOUT="600",
    )
    clients: list[socket.socket] = []
    try:
        clients = idle_partial_requests(server.url, 1000)
        deadline = time.monotonic() + 30
        while "no longer accepting new connections" not in server.log.read_text():
            assert time.monotonic() < deadline, server.log.read_text()
            time.sleep(0.1)
        assert not healthz(server.url, timeout=1.0)
    finally:
        for client in clients:
            client.close()
        server.process.terminate()
        server.process.wait(timeout=10)


def test_a_silent_connection_is_closed_after_the_channel_timeout(artifact_dir, tmp_path):
    server = start_server(artifact_dir, tmp_path / "api.log", CHANNEL_TIMEOUT="1")
    try:
        client = socket.create_connection(tuple_of(server.url), timeout=5)
        deadline = time.monotonic() + 10
        while still_open(client) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not still_open(client)
        assert healthz(server.url, timeout=1.0)
    finally:
        server.process.terminate()
        server.process.wait(timeout=10)


def tuple_of(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


IMPORTS = """
import sys
from cryptopredict.api import create_app
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
    done = subprocess.run(
        [sys.executable, "-c", IMPORTS, str(artifact_dir), far],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == ""
