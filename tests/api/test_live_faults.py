"""The API over a minute-bar database that cannot be read: every fault is a 503 (or 404) JSON
answer saying why, never a 500; `/live` answers 200 with the reason; the forecast routes are
untouched; and no password reaches an answer or a log line (issue 23, acceptance bar 4).

Each fault is real: a file of garbage, a directory, a read-only mount (a bind mount remounted
read-only where this runs as root; a directory without write permission otherwise), URLs libpq
cannot parse, a PostgreSQL server that is down, one that stops and starts again under the API.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from cryptopredict.api import create_app
from cryptopredict.collect.bars import MINUTE
from cryptopredict.collect.replay import read_minutes
from cryptopredict.collect.store import MinuteStore
from cryptopredict.config import Settings
from tests.collect.postgres import PostgresServer, PostgresUnavailableError
from tests.paths import MINUTE_SAMPLE as SAMPLE

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "s3cretpw"
ROUTES = ("/price/btc-usd", "/candles/btc-usd?interval=1m", "/candles/btc-usd?interval=5m")


def _read_only(directory: Path) -> contextlib.AbstractContextManager[Path]:
    """`directory`, seen through a read-only mount (or, without the right to mount, made
    unwritable)."""

    @contextlib.contextmanager
    def mounted() -> Iterator[Path]:
        view = directory.parent / "read-only"
        view.mkdir()
        bind = subprocess.run(
            ["mount", "--bind", directory, view], check=False, capture_output=True
        )
        if bind.returncode == 0:
            try:
                subprocess.run(["mount", "-o", "remount,ro,bind", view], check=True)
                yield view
            finally:
                subprocess.run(["umount", view], check=False)
            return
        directory.chmod(0o555)
        try:
            yield directory
        finally:
            directory.chmod(0o755)

    return mounted()


@pytest.fixture
def minutes(facts):
    sample = read_minutes(SAMPLE, "btc-usd")[:30]
    offset = (facts.last_bar + 86_400) - sample[-1].ts
    return [dataclasses.replace(bar, ts=bar.ts + offset, source="binance") for bar in sample]


FAULTS = {
    "a file of garbage": "file is not a database",
    "a directory": "disk I/O error|unable to open database file",
    "a read-only mount": "unable to open database file",
    "a URL libpq cannot parse": "IPv6 host address",
    "a URL whose password has a bad escape": "invalid percent-encoded token",
    "a URL with a port that is not a number": "notaport",
    "a PostgreSQL server that is down": "Connection refused",
    "not a database URL": "sqlite:///PATH or postgresql://",
}


@pytest.fixture(params=list(FAULTS))
def fault(request, tmp_path, minutes) -> Iterator[tuple[str, str]]:
    """A DATABASE_URL that cannot be read, and the reason the answers must give."""
    kind = request.param
    urls = {
        "a URL libpq cannot parse": f"postgresql://app:{PASSWORD}@[::1/market",
        "a URL whose password has a bad escape": f"postgresql://app:{PASSWORD}%zz@127.0.0.1/m",
        "a URL with a port that is not a number": f"postgresql://app:{PASSWORD}@h:notaport/m",
        "a PostgreSQL server that is down": f"postgresql://app:{PASSWORD}@127.0.0.1:9/market",
        "not a database URL": f"mysql://app:{PASSWORD}@127.0.0.1/market",
        "a directory": f"sqlite:///{tmp_path}",
    }
    if kind in urls:
        yield urls[kind], FAULTS[kind]
    elif kind == "a file of garbage":
        garbage = tmp_path / "market.db"
        garbage.write_bytes(bytes(range(256)) * 64)
        yield f"sqlite:///{garbage}", FAULTS[kind]
    else:
        data = tmp_path / "data"
        with MinuteStore.open(f"sqlite:///{data / 'market.db'}") as store:
            store.write(minutes)  # closing it removes the WAL files: readers must make them
        with _read_only(data) as view:
            yield f"sqlite:///{view / 'market.db'}", FAULTS[kind]


def test_every_database_fault_is_a_503_with_the_reason(
    artifacts, artifact_dir, fault, conforms, caplog
):
    url, reason = fault
    client = create_app(artifacts, Settings(model_dir=artifact_dir, database_url=url)).test_client()
    with caplog.at_level(logging.DEBUG):
        for route in ROUTES:
            response = client.get(route)
            assert response.status_code == 503, (route, response.get_json())
            conforms(route.split("?")[0].replace("btc-usd", "{asset}"), response)
            body = response.get_json()
            assert body["error"] == "minute_data_unavailable"
            assert re.search(reason, body["detail"])
            assert PASSWORD not in response.get_data(as_text=True)
        live = client.get("/live")
        assert live.status_code == 200
        conforms("/live", live)
        assert live.get_json()["assets"] == {}
        assert re.search(reason, live.get_json()["detail"])
        assert client.get("/candles/btc-usd?interval=1h").status_code == 200  # the model's
        assert client.get("/bitcoin?date=2030-01-01").status_code in (200, 422)
    logged = caplog.text + "".join(
        logging.Formatter().formatException(record.exc_info)
        for record in caplog.records
        if record.exc_info
    )
    assert PASSWORD not in logged
    assert "Traceback" not in logged


def test_no_database_yet_is_a_404_not_a_503(artifacts, artifact_dir, tmp_path):
    url = f"sqlite:///{tmp_path / 'absent.db'}"
    client = create_app(artifacts, Settings(model_dir=artifact_dir, database_url=url)).test_client()
    assert client.get("/price/btc-usd").status_code == 404
    assert client.get("/price/btc-usd").get_json()["error"] == "no_minute_data"


@pytest.fixture
def postgres() -> Iterator[PostgresServer]:
    try:
        server = PostgresServer()
    except PostgresUnavailableError as why:
        pytest.skip(str(why))
    try:
        server.start()
        yield server
    finally:
        server.remove()


def test_a_postgresql_server_that_stops_and_comes_back(artifacts, artifact_dir, minutes, postgres):
    """The answers follow the server: 200, then 503 saying why while it is down, then 200 again
    on new connections, without restarting the API."""
    url = postgres.new_database("market")
    with MinuteStore.open(url) as store:
        store.write(minutes)
    client = create_app(artifacts, Settings(model_dir=artifact_dir, database_url=url)).test_client()
    assert client.get("/price/btc-usd").get_json()["price"] == minutes[-1].close
    postgres.stop()
    for route in ROUTES:
        down = client.get(route)
        assert down.status_code == 503, down.get_json()
    assert "live minute bars cannot be read now" in down.get_json()["detail"]
    assert client.get("/live").status_code == 200
    postgres.start()
    assert client.get("/price/btc-usd").get_json()["price"] == minutes[-1].close
    assert client.get("/candles/btc-usd?interval=1m").get_json()["count"] == len(minutes)
    assert client.get("/live").get_json()["assets"]["btc-usd"]["count"] == len(minutes)


@pytest.mark.slow
def test_the_served_api_never_logs_the_password(artifact_dir, tmp_path):
    """`python api.py` with a malformed PostgreSQL URL, logging at DEBUG: its answers are 503s
    and 200s, and nothing it writes holds the password."""
    log = tmp_path / "api.log"
    env = {
        **os.environ,
        "MODEL_DIR": str(artifact_dir),
        "PORT": "0",
        "LOG_LEVEL": "DEBUG",
        "ACCESS_LOG": "true",
        "DATABASE_URL": f"postgresql://app:{PASSWORD}@[::1/market",
        "PYTHONPATH": str(ROOT),
    }
    with log.open("w") as sink:
        server = subprocess.Popen(
            [sys.executable, "api.py"], cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 60
        while not (found := re.search(r"serving on (http://\S+) ", log.read_text())):
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        base = found.group(1)
        statuses = {route: _status(base + route) for route in (*ROUTES, "/live")}
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    written = log.read_text()
    assert statuses == {**dict.fromkeys(ROUTES, 503), "/live": 200}, written
    assert PASSWORD not in written
    assert "Traceback" not in written
    assert 'path="/price/btc-usd" status=503' in written  # the access log, and clean


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def test_the_minutes_say_where_they_came_from(artifacts, artifact_dir, minutes, tmp_path):
    """A replay's rows say so, with the shift and when they really traded; /price passes it
    on."""
    url = f"sqlite:///{tmp_path / 'market.db'}"
    shift = 250 * 86_400
    replayed = [dataclasses.replace(bar, source="replay", shift=shift) for bar in minutes]
    with MinuteStore.open(url) as store:
        store.write(replayed)
    client = create_app(artifacts, Settings(model_dir=artifact_dir, database_url=url)).test_client()
    answer = client.get("/price/btc-usd").get_json()
    assert answer["source"] == "replay"
    assert answer["shift_minutes"] == shift // MINUTE
    assert answer["recorded_date"] == time.strftime(
        "%Y-%m-%dT%H:%M:%SZ", time.gmtime(minutes[-1].ts - shift)
    )
    assert "a replay of recorded minutes, not live data" in answer["source_detail"]
    assert "(moved 250.0 days forward)" in answer["source_detail"]
