"""`/healthz` and `/metrics` say how the market feed's polls went (issue 82, bar 4): its last
success, its last error and when, since when it fails; `degraded` once that is longer than
POLLER_FAILING_AFTER, and once no poll was recorded that long (the feed stopped)."""

from __future__ import annotations

import json
import socket
import time
import urllib.request

from flask import Flask

from cryptopredict.api.app import create_app
from cryptopredict.api.latest import UNOPENED
from cryptopredict.artifact.store import open_artifacts
from cryptopredict.config import ApiSettings
from cryptopredict.minutes.bars import FeedStatus
from cryptopredict.minutes.store import MinuteStore
from cryptopredict.utc import iso_utc
from tests.live_server import start_server


def app_with(artifact_dir, tmp_path, status: FeedStatus | None, **settings) -> Flask:
    url = f"sqlite:///{tmp_path / 'market.db'}"
    with MinuteStore.open(url) as store:
        if status is not None:
            store.write_status(status)
    # The fixture's data ends months ago: staleness is test_staleness.py's subject.
    options = {"model_dir": artifact_dir, "database_url": url, "stale_after_hours": 1e6, **settings}
    return create_app(open_artifacts(artifact_dir), ApiSettings(**options))


def read(app: Flask, path: str, key: str, timeout: float = 20.0):
    """`path`'s answer (JSON) once `key` is in it, or its text once `key` is (the first read of
    the database is on its own thread)."""
    client = app.test_client()
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(path)
        body = response.get_json() if response.is_json else response.get_data(as_text=True)
        if (
            body.get(key) if isinstance(body, dict) else key in body
        ) or time.monotonic() > deadline:
            return body
        time.sleep(0.02)


def metric(text: str, name: str) -> float:
    (line,) = [line for line in text.splitlines() if line.startswith(f"{name} ")]
    return float(line.split()[1])


def test_a_feed_failing_longer_than_allowed_makes_the_service_degraded(artifact_dir, tmp_path):
    now = int(time.time())
    status = FeedStatus(("binance", "alpaca"), now - 1500, "HTTP 503 from x", now - 60, now - 1200)
    app = app_with(artifact_dir, tmp_path, status)
    body = read(app, "/healthz", "latest_prices")
    assert body["latest_prices"] == {
        "sources": ["binance", "alpaca"],
        "last_success": iso_utc(now - 1500),
        "last_error": "HTTP 503 from x",
        "last_error_at": iso_utc(now - 60),
        "failing_since": iso_utc(now - 1200),
    }
    assert body["status"] == "degraded"
    (reason,) = body["reasons"]
    assert reason.startswith("the market feed's polls have failed for 20 min")
    assert "HTTP 503 from x" in reason
    text = read(app, "/metrics", "cryptopredict_latest_price_failing")
    assert metric(text, "cryptopredict_latest_price_failing") == 1
    assert metric(text, "cryptopredict_latest_price_last_success_timestamp_seconds") == now - 1500
    assert metric(text, "cryptopredict_latest_price_last_failure_timestamp_seconds") == now - 60


def test_a_feed_failing_for_less_than_allowed_or_healed_is_ok(artifact_dir, tmp_path):
    now = int(time.time())
    recent = FeedStatus(("binance",), now - 120, "HTTP 503 from x", now - 60, now - 60)
    body = read(app_with(artifact_dir, tmp_path, recent), "/healthz", "latest_prices")
    assert (body["status"], body["reasons"]) == ("ok", [])
    healed = FeedStatus(("binance",), now, "HTTP 503 from x", now - 3600)
    app = app_with(artifact_dir, tmp_path, healed, poller_failing_after=60)
    body = read(app, "/healthz", "latest_prices")
    assert (body["status"], body["latest_prices"]["failing_since"]) == ("ok", None)
    text = read(app, "/metrics", "cryptopredict_latest_price_failing")
    assert metric(text, "cryptopredict_latest_price_failing") == 0


def test_a_feed_that_stopped_recording_polls_makes_the_service_degraded(artifact_dir, tmp_path):
    """The collector's own process (PostgreSQL) died while its polls succeeded: only its last
    success stops moving."""
    now = int(time.time())
    stopped = FeedStatus(("binance",), now - 1200, "HTTP 503 from x", now - 7200)
    app = app_with(artifact_dir, tmp_path, stopped)
    body = read(app, "/healthz", "latest_prices")
    assert body["status"] == "degraded"
    assert body["latest_prices"]["failing_since"] is None
    (reason,) = body["reasons"]
    assert reason.startswith(
        f"the market feed has recorded no poll for 20 min (the last succeeded at "
        f"{iso_utc(now - 1200)}; POLLER_FAILING_AFTER is 900 s): it has stopped"
    )
    text = read(app, "/metrics", "cryptopredict_latest_price_failing")
    assert metric(text, "cryptopredict_latest_price_failing") == 1


def test_a_feed_that_cannot_open_its_database_makes_the_service_degraded(artifact_dir, tmp_path):
    """Issue 95: the feed cannot open its database (as on a read-only root; here a file stands
    where its folder should), so it records nothing: past POLLER_FAILING_AFTER, `/healthz` and
    `/metrics` say it fails, and why, without the path."""
    (tmp_path / "root").write_text("")
    settings = ApiSettings(
        model_dir=artifact_dir,
        database_url=f"sqlite:///{tmp_path / 'root' / 'market.db'}",
        latest_prices="binance",
        poller_failing_after=0.5,
        live_cache_seconds=0,
        stale_after_hours=1e6,
    )
    app = create_app(open_artifacts(artifact_dir), settings)
    body = read(app, "/healthz", "latest_prices")
    assert body["status"] == "degraded", body
    assert body["latest_prices"]["last_error"] == UNOPENED
    (reason,) = body["reasons"]
    assert reason.startswith("the market feed's polls have failed")
    assert UNOPENED in reason
    assert str(tmp_path) not in json.dumps(body)
    text = read(app, "/metrics", "cryptopredict_latest_price_failing")
    assert metric(text, "cryptopredict_latest_price_failing") == 1


def test_without_a_feed_there_is_nothing_to_say(client):
    body = client.get("/healthz").get_json()
    assert body["latest_prices"] is None
    assert (body["status"], body["reasons"]) == ("ok", [])
    assert "cryptopredict_latest_price" not in client.get("/metrics").get_data(as_text=True)


def test_a_feed_pointed_at_a_dead_port_says_its_error_in_healthz_and_metrics(
    artifact_dir, tmp_path
):
    """`api.py` running its feed against a port nothing listens on: the error and when it came
    reach `/healthz` and `/metrics`, and `degraded` once it has failed longer than allowed."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    started = int(time.time())
    with start_server(
        artifact_dir,
        tmp_path / "api.log",
        LATEST_PRICES=f"binance=http://127.0.0.1:{port}",
        DATABASE_URL=f"sqlite:///{tmp_path / 'market.db'}",
        LIVE_CACHE_SECONDS="0",
        POLLER_FAILING_AFTER="1",
        STALE_AFTER_HOURS="1000000",  # the fixture's data ends months ago (test_staleness.py)
    ) as server:
        deadline = time.monotonic() + 60
        while True:
            with urllib.request.urlopen(f"{server.url}/healthz", timeout=10) as answer:
                body = json.load(answer)
            if body["status"] == "degraded" or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        with urllib.request.urlopen(f"{server.url}/metrics", timeout=10) as answer:
            text = answer.read().decode()
    feed = body["latest_prices"]
    assert body["status"] == "degraded", body
    assert feed["sources"] == ["binance"]
    assert feed["last_error"].startswith(f"cannot reach 127.0.0.1:{port}: ")
    assert feed["last_success"] is None
    assert iso_utc(started) <= feed["failing_since"] <= feed["last_error_at"]
    assert metric(text, "cryptopredict_latest_price_failing") == 1
    failed_at = metric(text, "cryptopredict_latest_price_last_failure_timestamp_seconds")
    assert started <= failed_at <= time.time()
    assert metric(text, "cryptopredict_latest_price_last_success_timestamp_seconds") == 0
