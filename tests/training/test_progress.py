"""The training run's one display (issue 47, bar 2): in a pipe, never 30 seconds without a
line while training runs, every line about a pair naming it, the time left estimated from the
run's pace; on a terminal, bars redrawn in place; the model directory's `training.json` saying
the same to the API while the run lasts. A clock of the test's own: nothing here waits."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest

from cryptopredict.artifact.training import FILE, read_status
from cryptopredict.training.progress import LINE_SECONDS, RunProgress, time_left
from cryptopredict.training.tasks import Finished

PAIRS = ["btc-usd", "eth-usd", "sol-usd"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


class Lines:
    """The log lines the display wrote, as they come."""

    def __init__(self, caplog) -> None:
        caplog.set_level(logging.INFO, logger="cryptopredict.training.progress")
        self.caplog = caplog

    def __call__(self) -> list[str]:
        return self.caplog.messages


@pytest.fixture
def lines(caplog) -> Lines:
    return Lines(caplog)


def _finished(report: str) -> Finished:
    return Finished(files={}, report=report, model_version="dev")


def _run(clock: Clock, out: Path | None = None, **options) -> RunProgress:
    run = RunProgress(PAIRS, out=out, clock=clock, **options)
    run.stopped.set()  # the test ticks it: no thread of its own keeps time
    run.ticker.join()
    return run


def test_in_a_pipe_a_line_for_each_pair_in_flight_and_the_run_at_least_every_period(clock, lines):
    run = _run(clock, terminal=False)
    run.step("btc-usd", "backtest: validation refits, to choose the damping")
    run.planned("btc-usd", 121)
    run.step("eth-usd", "reading its history")
    assert lines() == [
        "btc-usd: backtest: validation refits, to choose the damping",
        "eth-usd: reading its history",
    ]
    for _ in range(10):
        clock.now += 1.0
        run.fitted("btc-usd")
    run.tick()
    assert len(lines()) == 2  # a line came less than a period ago
    clock.now += LINE_SECONDS
    run.tick()
    assert lines()[2:] == [
        # 9 fits since the first, 24 s ago: 111 left at half the pace (two pairs in flight)
        "btc-usd: backtest: validation refits, to choose the damping: 10 of 121 fits, about 10 "
        "min left",
        "eth-usd: reading its history",
        # and the two pairs not planned yet counted at the mean of those planned
        "training: 0 of 3 pairs done; 10 of 121 fits planned so far, about 16 min left",
    ]
    assert LINE_SECONDS < 30  # bar 2: never 30 s without a line


def test_every_line_about_a_pair_names_it(clock, lines):
    run = _run(clock, terminal=False)
    run.step("btc-usd", "final fit, forecast grid and artifact")
    run.served("btc-usd", "quick", Path("artifacts/btc-usd"), _finished(""))
    clock.now += 300
    report = "data:     48771 1h bars of BTC/USD\nbacktest: 2503 origins"
    run.served("btc-usd", "backtested", Path("artifacts/btc-usd"), _finished(report))
    run.failed("eth-usd", "no source delivered ETH/USD")
    clock.now += LINE_SECONDS
    run.tick()
    about_pairs = [line for line in lines() if not line.startswith("training: ")]
    assert about_pairs
    assert all(line.split(":")[0] in PAIRS for line in about_pairs), about_pairs
    assert "btc-usd: data:     48771 1h bars of BTC/USD" in lines()
    assert "btc-usd: written to artifacts/btc-usd (model dev) 300 s after it started" in lines()
    assert lines()[-1] == "training: 1 of 3 pairs done; reading the histories"


def test_in_a_pipe_a_run_shorter_than_a_period_still_ends_with_its_count(clock, lines):
    run = _run(clock, terminal=False)
    run.step("btc-usd", "final fit, forecast grid and artifact")
    run.served("btc-usd", "backtested", Path("artifacts/btc-usd"), _finished(""))
    run.failed("eth-usd", "no source delivered ETH/USD")
    assert not any(line.startswith("training: ") for line in lines())
    run.close()
    assert lines()[-1] == "training: 1 of 3 pairs done"


def test_the_time_left_follows_the_pace_of_the_last_fits(clock):
    run = _run(clock, terminal=False)
    assert run.eta() is None  # nothing planned, no pace
    run.planned("btc-usd", 100)
    run.planned("eth-usd", 50)
    run.step("btc-usd", "refits")
    run.step("eth-usd", "refits")
    for _ in range(31):  # a fit every 2 s
        run.fitted("btc-usd")
        clock.now += 2.0
    # 30 fits in 62 s; 119 left of the two planned, and the third pair is counted at their mean
    assert run.pace() == pytest.approx(30 / 62)
    assert run.remaining() == pytest.approx(69 + 50 + 75)
    assert run.eta() == pytest.approx(194 / (30 / 62))
    # btc-usd's share of the pace: two pairs in flight
    assert run.pair_eta(run.pairs["btc-usd"]) == pytest.approx(69 / (30 / 62 / 2))


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (None, "time left not known yet"),
        (20, "about a minute left"),
        (600, "about 10 min left"),
        (3 * 3600, "about 3.0 h left"),
    ],
)
def test_the_time_left_is_said_plainly(seconds, said):
    assert time_left(seconds) == said


def test_the_model_directory_says_the_same_while_the_run_lasts(clock, tmp_path):
    run = _run(clock, out=tmp_path, terminal=False)
    run.step("btc-usd", "backtest: validation refits, to choose the damping")
    run.planned("btc-usd", 122)
    run.served("btc-usd", "quick", tmp_path / "btc-usd", _finished(""))
    run.served("eth-usd", "backtested", tmp_path / "eth-usd", _finished(""))
    run.tick()
    status = read_status(tmp_path)
    assert status is not None
    assert [(pair.asset, pair.state, pair.served) for pair in status.unfinished()] == [
        ("btc-usd", "training", "quick"),
        ("sol-usd", "waiting", None),
    ]
    assert status.pairs[0].fits_total == 122
    run.close()
    assert not (tmp_path / FILE).exists()


def test_on_a_terminal_bars_are_redrawn_and_lines_written_above_them(clock):
    screen = io.StringIO()
    run = _run(clock, terminal=True, stream=screen)
    run.step("btc-usd", "backtest: validation refits, to choose the damping")
    run.planned("btc-usd", 121)
    run.fitted("btc-usd")
    run.say("2026-11-23T18:00:00 INFO    api: serving on http://0.0.0.0:8080 (docs at /docs)")
    run.tick()
    drawn = screen.getvalue()
    assert "serving on http://0.0.0.0:8080" in drawn
    assert "training: 0/3 pairs done" in drawn
    assert "btc-usd: backtest: validation refits, to choose the damping" in drawn
    assert "1/121 fits" in drawn
    assert "\r" in drawn  # redrawn in place
    run.close()


def test_a_pair_served_its_quick_model_is_still_shown_training(clock, lines):
    run = _run(clock, terminal=False)
    run.step("btc-usd", "backtest: validation refits, to choose the damping")
    run.planned("btc-usd", 122)
    run.served("btc-usd", "quick", Path("artifacts/btc-usd"), _finished(""))
    clock.now += LINE_SECONDS
    run.tick()
    assert lines()[-2:] == [
        "btc-usd: backtest: validation refits, to choose the damping: 0 of 122 fits, time left "
        "not known yet",
        "training: 0 of 3 pairs done (btc-usd: the quick model meanwhile); 0 of 122 fits planned "
        "so far, time left not known yet",
    ]


def test_a_run_that_writes_no_model_leaves_no_directory_behind(clock, tmp_path):
    out = tmp_path / "artifacts"
    run = _run(clock, out=out, terminal=False)
    run.step("btc-usd", "reading its history")
    run.failed("btc-usd", "no source delivered BTC/USD 1h bars")
    run.tick()
    run.close()
    assert not out.exists()
