"""`make run` with a mix of good and unknown pairs (issue 35, bar 2; issue 56, bar 2): it
serves every pair that trained, while training, and names the one that failed, with why and the
pairs a source knows, by the names that train and serve them; `/healthz` says degraded and
names it, with why, while the run lasts and after it; requests to every route leave no database
file behind (issue 61, bar 4)."""

from __future__ import annotations

import json
import os
import re
import signal
import time
import urllib.error
import urllib.request

import pytest

from tests.live_server import logged, make_run, serving_url

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def test_make_run_serves_what_trained_and_names_what_did_not(tmp_path):
    log = tmp_path / "make-run.log"
    process = make_run(tmp_path, log, "sol-usdt,nosuch-usd", "--source snapshot --no-backtest")
    try:
        url = serving_url(process, log, 500)
        logged(process, log, "the artifacts changed: serving them now", 500)  # sol-usdt's
        with urllib.request.urlopen(f"{url}/forecast/SOL-USDT?date=2026-08-01") as answer:
            assert answer.status == 200
            assert json.load(answer)["prediction"] > 0
        logged(process, log, "training is over; serving until Ctrl-C", 500)
        output = log.read_text()
        # The unknown pair is named, with why: the pairs the embedded data holds, as they serve.
        assert re.search(r"nosuch-usd: no source delivered NOSUCH/USD", output)
        assert (
            "the embedded data holds no NOSUCH/USD; it holds btc-usd, eth-usd, ada-usdt" in output
        )
        assert "sol-usdt, trx-usdt" in output
        assert "training failed for nosuch-usd (why above); 1 of 2 pairs trained" in output
        assert "comes at the end" not in output  # nothing promised of a pair that failed
        assert "Error" not in output  # make carried on
        # After the run: degraded, naming it and why, until the next run.
        deadline = time.monotonic() + 30  # the server reads the run's record within a second
        while not (health := _health(url))["failed"]:  # degraded at once: the data is old
            assert time.monotonic() < deadline, health
            time.sleep(0.5)
        assert health["status"] == "degraded"
        assert [pair["asset"] for pair in health["failed"]] == ["nosuch-usd"]
        assert "no source delivered NOSUCH/USD" in health["failed"][0]["reason"]
        assert health["training"] is None
        # Every route, once (issue 61, bar 4): serving writes no database, the track record
        # included (it is read from the model directory).
        assert _status(url, "/model/sol-usdt/track-record") == 200
        for path in _routes(url):
            _status(url, path.replace("{asset}", "sol-usdt") + "?date=2026-08-01")
        assert not (tmp_path / "none.db").exists()
        assert sorted(path.name for path in tmp_path.rglob("*.db*")) == []
    finally:
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C
        process.wait(timeout=60)
    # Ctrl-C: the server finishes what is in flight and stops cleanly (api.py's status 0).
    assert log.read_text().rstrip().endswith("api: stopped")
    assert process.returncode in (0, -signal.SIGINT), process.returncode


def _routes(url: str) -> list[str]:
    with urllib.request.urlopen(f"{url}/openapi.json") as answer:
        return list(json.load(answer)["paths"])


def _status(url: str, path: str) -> int:
    try:
        with urllib.request.urlopen(url + path, timeout=60) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return error.code


def _health(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/healthz") as answer:
        return json.load(answer)
