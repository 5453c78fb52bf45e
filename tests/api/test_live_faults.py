"""The API over a minute-bar database that cannot be read: every fault is a 503 (or 404) JSON
answer saying what a caller can do, never a 500, and the log says why; `/live` answers 200
saying so; the forecast routes are untouched; no password reaches an answer or a log line
(issue 23, acceptance bar 4), and no answer shows where the database is: no path, user, host,
port or option (issue 38, acceptance bar 4).

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
from collections.abc import Iterator
from pathlib import Path

import pytest

from cryptopredict.api.app import create_app
from cryptopredict.collect.replay import read_minutes
from cryptopredict.config import ApiSettings
from cryptopredict.minutes.bars import MINUTE
from cryptopredict.minutes.store import MinuteStore
from tests.live_server import answered, serving_url
from tests.paths import MINUTE_SAMPLE as SAMPLE

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "s3c#r?t'p\"w<>"  # libpq takes # and ? as they are (issue 104), quotes (113)
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


def test_every_database_fault_is_a_503_and_the_log_says_why(
    artifacts, artifact_dir, fault, conforms, caplog
):
    url, reason = fault
    client = create_app(
        artifacts, ApiSettings(model_dir=artifact_dir, database_url=url)
    ).test_client()
    with caplog.at_level(logging.DEBUG):
        for route in ROUTES:
            response = client.get(route)
            assert response.status_code == 503, (route, response.get_json())
            conforms(route.split("?")[0].replace("btc-usd", "{asset}"), response)
            body = response.get_json()
            assert body["error"] == "minute_data_unavailable"
            assert body["detail"].startswith("minute data is unavailable now; the operator's log")
            assert not re.search(reason, response.get_data(as_text=True))
            assert PASSWORD not in response.get_data(as_text=True)
        live = client.get("/live")
        assert live.status_code == 200
        conforms("/live", live)
        assert live.get_json()["assets"] == {}
        assert live.get_json()["detail"].startswith("minute data is unavailable now")
        assert client.get("/candles/btc-usd?interval=1h").status_code == 200  # the model's
        assert client.get("/bitcoin?date=2030-01-01").status_code in (200, 422)
    assert re.search(reason, caplog.text), "the log says why"
    logged = caplog.text + "".join(
        logging.Formatter().formatException(record.exc_info)
        for record in caplog.records
        if record.exc_info
    )
    assert PASSWORD not in logged
    assert "Traceback" not in logged


def test_no_database_yet_is_a_404_not_a_503(artifacts, artifact_dir, tmp_path, caplog):
    absent = tmp_path / "absent.db"
    client = create_app(
        artifacts, ApiSettings(model_dir=artifact_dir, database_url=f"sqlite:///{absent}")
    ).test_client()
    with caplog.at_level(logging.INFO):
        assert client.get("/price/btc-usd").status_code == 404
        answers = [client.get(route) for route in (*ROUTES, "/live")]
    assert client.get("/price/btc-usd").get_json()["error"] == "no_minute_data"
    for answer in answers:  # where the file would be is the operator's business
        assert str(tmp_path) not in answer.get_data(as_text=True)
        assert "absent.db" not in answer.get_data(as_text=True)
    assert f"no minute-bar database at {absent}" in caplog.text


def test_no_answer_shows_where_the_database_is(artifacts, artifact_dir, caplog):
    """Issue 38, acceptance bar 4: nothing closes port 1, so the connection is refused."""
    url = "postgresql://prod_reader:pw@127.0.0.1:1/market?application_name=apisrv"
    client = create_app(
        artifacts, ApiSettings(model_dir=artifact_dir, database_url=url)
    ).test_client()
    with caplog.at_level(logging.INFO):
        answers = {
            route: client.get(route)
            for route in ("/live", "/price/btc-usd", "/candles/btc-usd?interval=5m")
        }
    for route, answer in answers.items():
        body = answer.get_data(as_text=True)
        assert answer.status_code in (200, 503), (route, body)
        for shown in ("prod_reader", "127.0.0.1", "port 1", ":1/", "market", "apisrv", "pw"):
            assert shown not in body, (route, shown, body)
    assert "prod_reader" in caplog.text  # the log says where, and why
    assert "Connection refused" in caplog.text


@pytest.mark.e2e
def test_a_postgresql_server_that_stops_and_comes_back(
    artifacts, artifact_dir, minutes, own_postgres
):
    """The answers follow the server: 200, then 503 while it is down, then 200 again on new
    connections, without restarting the API (no failure remembered: LIVE_RETRY_SECONDS=0)."""
    url = own_postgres.new_database("market")
    with MinuteStore.open(url) as store:
        store.write(minutes)
    settings = ApiSettings(model_dir=artifact_dir, database_url=url, live_retry_seconds=0.0)
    client = create_app(artifacts, settings).test_client()
    assert client.get("/price/btc-usd").get_json()["price"] == minutes[-1].close
    own_postgres.stop()
    for route in ROUTES:
        down = client.get(route)
        assert down.status_code == 503, down.get_json()
    assert "minute data is unavailable now" in down.get_json()["detail"]
    assert client.get("/live").status_code == 200
    own_postgres.start()
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
        base = serving_url(server, log)
        statuses = {route: answered(base + route)[0] for route in (*ROUTES, "/live")}
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    written = log.read_text()
    assert statuses == {**dict.fromkeys(ROUTES, 503), "/live": 200}, written
    assert PASSWORD not in written
    assert "Traceback" not in written
    assert 'path="/price/btc-usd" status=503' in written  # the access log, and clean


def test_the_minutes_say_where_they_came_from(artifacts, artifact_dir, minutes, tmp_path):
    """A replay's rows say so, with the shift and when they really traded; /price passes it
    on."""
    url = f"sqlite:///{tmp_path / 'market.db'}"
    shift = 250 * 86_400
    replayed = [dataclasses.replace(bar, source="replay", shift=shift) for bar in minutes]
    with MinuteStore.open(url) as store:
        store.write(replayed)
    client = create_app(
        artifacts, ApiSettings(model_dir=artifact_dir, database_url=url)
    ).test_client()
    answer = client.get("/price/btc-usd").get_json()
    assert answer["source"] == "replay"
    assert answer["shift_minutes"] == shift // MINUTE
    assert answer["recorded_date"] == time.strftime(
        "%Y-%m-%dT%H:%M:%SZ", time.gmtime(minutes[-1].ts + MINUTE - shift)
    )  # when that price (the minute's close) really was
    assert "a replay of recorded minutes, not live data" in answer["source_detail"]
    assert "(moved 250.0 days forward)" in answer["source_detail"]


@pytest.mark.e2e
def test_a_postgresql_server_stopped_mid_run_is_remembered_as_down(
    artifacts, artifact_dir, minutes, own_postgres, caplog
):
    """Stopped under the API, the server is tried once on a new connection, then remembered as
    down for LIVE_RETRY_SECONDS: every live route answers 503 at once, without a try, and the
    forecasts are served throughout."""
    url = own_postgres.new_database("market")
    with MinuteStore.open(url) as store:
        store.write(minutes)
    settings = ApiSettings(model_dir=artifact_dir, database_url=url, live_retry_seconds=600.0)
    client = create_app(artifacts, settings).test_client()
    assert client.get("/live").get_json()["assets"]["btc-usd"]["count"] == len(minutes)
    own_postgres.stop()
    with caplog.at_level(logging.INFO):
        assert client.get("/price/btc-usd").status_code == 503  # its connection broke
        assert client.get("/price/btc-usd").status_code == 503  # a new one: refused
        own_postgres.start()  # back, but remembered as down for 600 s
        for route in (*ROUTES, "/price/btc-usd"):
            assert client.get(route).status_code == 503
        assert client.get("/bitcoin?date=2030-01-01").status_code in (200, 422)
    tries = [r.getMessage() for r in caplog.records if "trying again in 600 s" in r.getMessage()]
    assert len(tries) == 1, caplog.text
