"""A newcomer's first `make run`, offline, typed at a terminal (issue 84): `/bitcoin` answers `503
still_training` until its model is served, then 200: never the 404 of an asset that does not
exist (bar 1); `/healthz` never says a pair still training is due in 0 s, and the run records
each pair's pace for the next; the terminal and the first answer say in words how old the
embedded data is and how to get fresh prices, and it serves all the same (bar 4). At the
terminal (issue 117, item 5), a bar below whole log lines, its time left that really left; then
Ctrl-C, typed while it serves, stops it within 2 s (issue 120, item 1)."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass

import pytest

from tests.live_server import answered, wait_for
from tests.paths import ROOT
from tests.ports import free_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.e2e,
    pytest.mark.skipif(
        shutil.which("tmux") is None,
        reason="tmux is not installed (`make test` installs it as root, or do without it: "
        "make test WITHOUT=tmux)",
    ),
]

POLL_SECONDS = 0.05
TMUX = ["tmux", "-L", f"cryptopredict-{os.getpid()}"]  # a tmux server of its own
BAR = re.compile(r"^training: .*\|[ ▏▎▍▌▋▊▉█]*\|$")  # tqdm's, on the terminal's last row


@dataclass(frozen=True)
class FirstRun:
    statuses: list[int]  # /bitcoin's, every 50 ms from the server's first line until served
    answer: dict  # its first 200's body
    training: list[dict]  # /healthz's answers, every tenth of those
    log: str  # all the terminal was sent
    run: dict  # run.json
    screens: list[tuple[float, list[str]]]  # its rows, at each of those and at the end, timed
    stopped: float  # seconds from Ctrl-C, typed while it serves, until make exited


@pytest.fixture(scope="module")
def first_run(tmp_path_factory) -> FirstRun:
    tmp = tmp_path_factory.mktemp("first-run")
    log, port = tmp / "make-run.log", free_port()
    # BTC/USD first (/bitcoin's), then three pairs after it (the bar's 5 s and more), on one worker.
    settings = f"ASSETS=btc-usd,eth-usd,sol-usdt,xrp-usdt MODEL_DIR={tmp}/artifacts PORT={port}"
    settings += f" DATABASE_URL=sqlite:///{tmp}/none.db TRAIN_WORKERS=1"
    args = "TRAIN_ARGS='--source snapshot --since 2024-01-01'"
    _tmux("new-session", "-d", "-x", "120", "-y", "50", f"cd {ROOT} && {settings} make run {args}")
    try:
        log.touch()  # the pipe's shell opens it a moment after tmux answers
        _tmux("pipe-pane", f"cat >> {log}")
        _tmux("set-option", "remain-on-exit", "on")
        wait_for(lambda: "serving on http" in log.read_text(), "serving on http", 500, log=log)
        statuses, training, answers, screens = [], [], [], []
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 500
        while not statuses or statuses[-1] != 200 or "serving until Ctrl-C" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()
            status, body = answered(f"{url}/bitcoin?date=2026-08-01")
            statuses.append(status)
            answers += [body] if status == 200 else []
            if len(statuses) % 10 == 0:
                training.append(json.loads(answered(f"{url}/healthz")[1]))
            screens.append((time.monotonic(), _tmux("capture-pane", "-p").splitlines()))
            time.sleep(POLL_SECONDS)
        screens.append((time.monotonic(), _tmux("capture-pane", "-p").splitlines()))
        _tmux("send-keys", "C-c")
        sent = time.monotonic()
        wait_for(lambda: _tmux("display-message", "-p", "#{pane_dead}") == "1", "make's end", 9)
        stopped = time.monotonic() - sent
    finally:
        subprocess.run([*TMUX, "kill-server"], check=False)
    run = json.loads((tmp / "artifacts" / "run.json").read_text())
    said = log.read_text().replace("\r\n", "\n")
    return FirstRun(statuses, json.loads(answers[0]), training, said, run, screens, stopped)


def test_bitcoin_answers_503_until_it_is_served_then_200_never_404(first_run):
    """Bar 1: a client that follows `Retry-After` is never told the asset does not exist."""
    seen = [status for status, _ in itertools.groupby(first_run.statuses)]
    assert seen == [503, 200], (seen, len(first_run.statuses))


def test_it_listens_before_the_first_model_saying_it_starts(first_run):
    """Issue 96, item 1: the server starts with training, not with the first model: /healthz
    says `starting` (200, with the run's progress), then serves; the URL is said first and last."""
    said = [answer["status"] for answer in first_run.training]
    assert said[0] == "starting", said
    assert set(said) - {"starting"}, said
    url = re.search(r"serving on (http://\S+) ", first_run.log).group(1)
    assert f"serving until Ctrl-C on {url}\n" in first_run.log


def test_healthz_never_says_a_pair_still_training_is_due_in_0_s(first_run):
    """On a first run nothing is measured: each pair is timed by a pair's of its interval."""
    training = [said["training"] for said in first_run.training if said.get("training")]
    assert training, "no look at /healthz while training"
    for said in training:
        assert said["eta_seconds"] != 0
        assert all(pair["eta_seconds"] != 0 for pair in said["pairs"]), said
    # What the next run times them by: each pair's own seconds on a worker.
    assert sorted(first_run.run["seconds"]) == ["btc-usd", "eth-usd", "sol-usdt", "xrp-usdt"]
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


def test_at_a_terminal_a_bar_is_drawn_below_whole_log_lines(first_run):
    """Redrawn each second on the last row; each log line (the API's, its sibling's, too)
    clears it first, starting its own row."""
    bars = {rows[-1] for _, rows in first_run.screens if rows and BAR.match(rows[-1])}
    assert len(bars) >= 5, bars
    for _, rows in first_run.screens:
        assert not any(BAR.match(row) for row in rows[:-1]), rows
        assert all(re.match(r"\d{4}-", row) for row in rows if " INFO    " in row), rows


def test_the_bar_s_time_left_is_within_half_the_time_really_left(first_run):
    """From the first pair's end, with 5 s or more left: within half the time left, and half
    the words' 5 s step they round it to."""
    first, over = (
        next(at for at, rows in first_run.screens if said in "\n".join(rows))
        for said in (" written to ", "training is over")
    )
    said = [
        (re.search(r", about (\d+) s left \|", rows[-1]), over - at)
        for at, rows in first_run.screens
        if rows and at >= first and over - at >= 5
    ]
    off = [(int(words[1]), left) for words, left in said if words]
    assert off, first_run.screens
    assert all(abs(words - left) <= left / 2 + 2.5 for words, left in off), off


def test_ctrl_c_typed_while_it_serves_stops_it_within_2_s(first_run):
    assert first_run.stopped < 2, first_run.log
    assert first_run.log.rstrip().endswith("api: stopped")


def _tmux(*args: str) -> str:
    return subprocess.run([*TMUX, *args], capture_output=True, text=True, check=True).stdout.strip()
