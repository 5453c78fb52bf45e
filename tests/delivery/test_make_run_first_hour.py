"""A newcomer's first `make run`, offline (issue 84): while BTC/USD trains after another pair,
`/bitcoin` answers `503 still_training` until its model is served, then 200: never the 404 of
an asset that does not exist (bar 1); `/healthz` never says a pair still training is due in
0 s, and the run records each pair's pace for the next; the terminal and the first answer say
in words how old the embedded data is and how to get fresh prices, and it serves all the same
(bar 4)."""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import time
from dataclasses import dataclass

import pytest

from tests.live_server import answered, make_run, serving_url

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

POLL_SECONDS = 0.05


@dataclass(frozen=True)
class FirstRun:
    statuses: list[int]  # /bitcoin's, every 50 ms from the server's first line until served
    answer: dict  # its first 200's body
    training: list[dict]  # /healthz's answers, every tenth of those
    log: str  # the terminal's
    run: dict  # run.json


@pytest.fixture(scope="module")
def first_run(tmp_path_factory) -> FirstRun:
    tmp = tmp_path_factory.mktemp("first-run")
    log = tmp / "make-run.log"
    # ETH/USD (daily, seconds) first, then BTC/USD: the server starts on ETH/USD's model while
    # BTC/USD's is still training.
    process = make_run(tmp, log, "eth-usd,btc-usd", "--source snapshot")
    try:
        url = serving_url(process, log, 500)
        statuses, training, answers = [], [], []
        deadline = time.monotonic() + 500
        while not statuses or statuses[-1] != 200 or "serving until Ctrl-C" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()
            status, body = answered(f"{url}/bitcoin?date=2026-08-01")
            statuses.append(status)
            answers += [body] if status == 200 else []
            if len(statuses) % 10 == 0:
                training.append(json.loads(answered(f"{url}/healthz")[1]))
            time.sleep(POLL_SECONDS)
    finally:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=60)
    run = json.loads((tmp / "artifacts" / "run.json").read_text())
    return FirstRun(statuses, json.loads(answers[0]), training, log.read_text(), run)


def test_bitcoin_answers_503_until_it_is_served_then_200_never_404(first_run):
    """Bar 1: a client that follows `Retry-After` is never told the asset does not exist."""
    seen = [status for status, _ in itertools.groupby(first_run.statuses)]
    assert seen == [503, 200], (seen, len(first_run.statuses))


def test_it_listens_before_the_first_model_saying_it_starts(first_run):
    """Issue 96, item 1: the server starts with training, not with the first model: /healthz
    says `starting`, then serves; the URL is said first and last."""
    said = [answer.get("error") or answer["status"] for answer in first_run.training]
    assert said[0] == "starting", said
    assert set(said) - {"starting"}, said
    url = re.search(r"serving on (http://\S+) ", first_run.log).group(1)
    assert f"serving until Ctrl-C on {url}\n" in first_run.log


def test_healthz_never_says_a_pair_still_training_is_due_in_0_s(first_run):
    """BTC/USD (hourly) is not timed by ETH/USD's (daily) seconds: on a first run nothing of
    its kind is measured, so its time left is not known; never 0."""
    training = [said["training"] for said in first_run.training if said.get("training")]
    assert training, "no look at /healthz while training"
    for said in training:
        assert said["eta_seconds"] != 0
        assert all(pair["eta_seconds"] != 0 for pair in said["pairs"]), said
    # What the next run times them by: each pair's own seconds on a worker.
    assert sorted(first_run.run["seconds"]) == ["btc-usd", "eth-usd"]
    assert all(seconds > 0 for seconds in first_run.run["seconds"].values())


def test_offline_the_terminal_and_the_first_answer_say_how_old_the_data_is(first_run):
    ended = "the data is old: btc-usd's ends 2026-07-26T17:00:00Z"
    said = re.search(rf"{ended}, (.*?) ago;", first_run.log)
    assert said, first_run.log
    assert re.fullmatch(r"\d+ months \(\d+ days\)", said.group(1))
    assert "each forecast starts from its pair's last close: the next hour is a" in first_run.log
    assert "For fresh prices: LATEST_PRICES=binance,alpaca" in first_run.log
    # said once, at the end of training, before it serves on
    assert first_run.log.index("the data is old") < first_run.log.index("training is over")
    assert first_run.statuses[-1] == 200
    # ... and so does the first answer, in its note.
    note = first_run.answer["note"]
    assert re.match(r"This forecast starts from a price \d+ months \(\d+ days\) old ", note)
    assert "For fresh prices: LATEST_PRICES=binance,alpaca" in note


def test_requests_refused_while_training_are_not_said_one_a_line(first_run):
    """Issue 106, item 4: a browser waiting on `/` wrote a 503 line every second or two; the
    API, beside training, leaves the proxy's lines of them out while the run lasts."""
    training = first_run.log[: first_run.log.index("training is over")]
    assert first_run.statuses.count(503) > 10
    assert " status=503 " not in training
