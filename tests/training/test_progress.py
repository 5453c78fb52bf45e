"""The training run's one display (issues 47 and 56): in a pipe, never 30 seconds without a
line while training runs, every line about a pair naming it and saying what runs now or that
it waits for a worker; one estimate of the time left that the pairs and the run agree on;
every pair's state (waiting, running, done, failed or quick, with why); on a terminal, bars
redrawn in place; the model directory's `training.json` saying the same to the API while the
run lasts. A clock of the test's own: nothing here waits."""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

import pytest

from cryptopredict.artifact.training import FILE, read_status
from cryptopredict.training.progress import RunProgress
from cryptopredict.training.progress_views import LINE_SECONDS, time_left
from cryptopredict.training.tasks import Finished

PAIRS = ["btc-usd", "eth-usd", "sol-usdt"]
VALIDATION = "backtest: validation refits, to choose the damping"
EVERY = "backtest: refits at every origin, the damping chosen"


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


def _refits(run: RunProgress, clock: Clock, slug: str, count: int, seconds: float) -> None:
    """`count` of the pair's refits run one after another on a worker, `seconds` each."""
    for number in range(count):
        key = f"refit-{slug}-{number}"
        run.started(slug, key, "refit")
        clock.now += seconds
        run.ended(slug, key, "refit", seconds)
        run.fitted(slug)


def test_in_a_pipe_each_pair_says_what_runs_or_that_it_waits_every_period(clock, lines):
    run = _run(clock, terminal=False)
    run.workers = 2
    run.step("btc-usd", VALIDATION)
    run.planned("btc-usd", 230)
    run.queued("btc-usd", 121)
    run.step("eth-usd", VALIDATION)
    assert lines() == [f"btc-usd: {VALIDATION}", f"eth-usd: {VALIDATION}"]
    _refits(run, clock, "btc-usd", 10, 1.0)
    run.started("btc-usd", "refit-btc-usd-10", "refit")
    run.tick()
    assert len(lines()) == 2  # a line came less than a period ago
    clock.now += LINE_SECONDS
    run.tick()
    assert lines()[2:] == [
        # btc: 111 queued then 109 to come, a second each, on two workers: 220 / 2 s
        f"btc-usd: {VALIDATION}; 10 of 230 fits, about 2 min left",
        # eth: nothing of it runs; its fits (the mean planned) come after btc's: 225 s
        f"eth-usd: waiting for a worker (next: {VALIDATION}), about 4 min left",
        # sol-usdt: not started; last, at 340 s, and the run ends when it does
        "sol-usdt: waiting for a worker (next: reading its history), about 6 min left",
        "training: 0 of 3 pairs done, 1 running, 2 waiting for a worker; 10 of 230 fits, "
        "about 6 min left",
    ]
    assert LINE_SECONDS < 30  # bar 2 of issue 47: never 30 s without a line


def test_a_pair_whose_fits_wait_behind_another_pairs_says_so(clock, lines):
    """Issue 56's first point: eth-usd's refits queued behind btc-usd's, shown waiting, never
    on a step that does not move."""
    run = _run(clock, terminal=False)
    run.step("btc-usd", VALIDATION)
    run.planned("btc-usd", 122)
    run.queued("btc-usd", 121)
    run.step("eth-usd", EVERY)
    run.planned("eth-usd", 225)
    _refits(run, clock, "eth-usd", 116, 0.1)
    run.queued("eth-usd", 108)
    run.queued("eth-usd", 1)  # the final fit, queued with the refits
    run.started("btc-usd", "refit-btc-usd-0", "refit")
    clock.now += LINE_SECONDS
    run.tick()
    eth = next(line for line in lines() if line.startswith("eth-usd: waiting"))
    assert eth.startswith(f"eth-usd: waiting for a worker (next: {EVERY}); 116 of 225 fits")
    assert run.status().pairs[1].state == "waiting"
    run.started("eth-usd", "refit-eth-usd-116", "refit")
    assert run.status().pairs[1].state == "running"
    assert run.status().pairs[1].step == EVERY


def test_the_step_shown_is_the_task_running_on_a_worker(clock):
    run = _run(clock, terminal=False)
    run.step("btc-usd", "final fit, forecast grid and artifact")
    run.started("btc-usd", "prepare-btc-usd-1", "prepare")
    run.started("btc-usd", "quick-btc-usd-1", "quick")
    assert run.status().pairs[0].step == "reading its history, making its quick model"
    run.ended("btc-usd", "prepare-btc-usd-1", "prepare", 3.0)
    run.ended("btc-usd", "quick-btc-usd-1", "quick", 2.0)
    assert run.status().pairs[0].state == "waiting"
    run.started("btc-usd", "finish-btc-usd-1", "finish")
    assert run.status().pairs[0].step == "final fit, forecast grid and artifact"


def test_the_run_never_says_less_time_left_than_a_pair(clock):
    run = _run(clock, terminal=False)
    assert run.estimate().run is None  # nothing planned, no fit timed
    run.planned("btc-usd", 122)
    run.queued("btc-usd", 121)
    run.planned("eth-usd", 225)
    run.queued("eth-usd", 116)
    _refits(run, clock, "eth-usd", 116, 0.5)  # daily bars: fast fits
    _refits(run, clock, "btc-usd", 20, 10.0)  # hourly bars: slow ones
    run.queued("eth-usd", 109)  # handed after btc's: they wait behind them
    estimate = run.estimate()
    # eth: behind btc's 101 queued refits (10 s each, one worker), then its own 109 at 0.5 s
    assert estimate.of(run.pairs["eth-usd"]) == pytest.approx(101 * 10 + 109 * 0.5)
    # btc: its final fit, not handed to the cluster yet, comes after eth's queued refits
    assert estimate.of(run.pairs["btc-usd"]) == pytest.approx(101 * 10 + 109 * 0.5 + 10)
    # sol-usdt, not planned: the mean planned total, at the mean cost per fit, after them all
    assert estimate.run == max(estimate.pairs.values())
    assert estimate.run == estimate.of(run.pairs["sol-usdt"])
    run.workers = 2
    assert run.estimate().run == pytest.approx(estimate.run / 2)


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


def test_every_line_about_a_pair_names_it(clock, lines):
    run = _run(clock, terminal=False)
    run.step("btc-usd", "final fit, forecast grid and artifact")
    run.served("btc-usd", "quick", Path("artifacts/btc-usd"), _finished(""))
    clock.now += 300
    report = "data:     48771 1h bars of BTC/USD\nbacktest: 2503 origins"
    run.served("btc-usd", "backtested", Path("artifacts/btc-usd"), _finished(report))
    run.failed("eth-usd", "no source delivered ETH/USD")
    run.quick("sol-usdt", "backtest deferred: budget")
    clock.now += LINE_SECONDS
    run.tick()
    about_pairs = [line for line in lines() if not line.startswith("training: ")]
    assert about_pairs
    assert all(line.split(":")[0] in PAIRS for line in about_pairs), about_pairs
    assert "btc-usd: data:     48771 1h bars of BTC/USD" in lines()
    assert "btc-usd: written to artifacts/btc-usd (model dev) 300 s after it started" in lines()
    assert (
        "sol-usdt: its quick model stays served, not backtested in this run: backtest "
        "deferred: budget" in lines()
    )
    assert lines()[-1] == (
        "training: 1 of 3 pairs done, 1 failed (eth-usd), 1 with their quick model only (sol-usdt)"
    )


def test_in_a_pipe_a_run_shorter_than_a_period_still_ends_with_its_count(clock, lines):
    run = _run(clock, terminal=False)
    run.step("btc-usd", "final fit, forecast grid and artifact")
    run.served("btc-usd", "backtested", Path("artifacts/btc-usd"), _finished(""))
    run.failed("eth-usd", "no source delivered ETH/USD")
    assert not any(line.startswith("training: ") for line in lines())
    run.close()
    assert re.fullmatch(r"training: 1 of 3 pairs done, .*failed \(eth-usd\)", lines()[-1])


def test_the_model_directory_says_each_pairs_state_while_the_run_lasts(clock, tmp_path):
    run = _run(clock, out=tmp_path, terminal=False)
    run.step("btc-usd", VALIDATION)
    run.planned("btc-usd", 122)
    run.started("btc-usd", "refit-btc-usd-0", "refit")
    run.served("btc-usd", "quick", tmp_path / "btc-usd", _finished(""))
    run.failed("eth-usd", "no source delivered ETH/USD")
    run.tick()
    status = read_status(tmp_path)
    assert status is not None
    assert [(pair.asset, pair.state, pair.served) for pair in status.pairs] == [
        ("btc-usd", "running", "quick"),
        ("eth-usd", "failed", None),
        ("sol-usdt", "waiting", None),
    ]
    assert [pair.asset for pair in status.unfinished()] == ["btc-usd", "sol-usdt"]
    assert status.ended("failed")[0].why == "no source delivered ETH/USD"
    assert status.pairs[0].fits_total == 122
    run.close()
    assert not (tmp_path / FILE).exists()


def test_on_a_terminal_bars_are_redrawn_and_lines_written_above_them(clock):
    screen = io.StringIO()
    run = _run(clock, terminal=True, stream=screen)
    run.step("btc-usd", VALIDATION)
    run.planned("btc-usd", 121)
    run.started("btc-usd", "refit-btc-usd-0", "refit")
    run.fitted("btc-usd")
    run.say("2026-11-23T18:00:00 INFO    api: serving on http://0.0.0.0:8080 (docs at /docs)")
    run.tick()
    drawn = screen.getvalue()
    assert "serving on http://0.0.0.0:8080" in drawn
    assert "training: 0 of 3 pairs done, 1 running, 2 waiting for a worker" in drawn
    assert f"btc-usd: {VALIDATION}" in drawn
    assert "1/121 fits" in drawn
    assert "\r" in drawn  # redrawn in place
    run.close()


def test_a_pair_served_its_quick_model_is_still_shown_training(clock, lines):
    run = _run(clock, terminal=False)
    run.step("btc-usd", VALIDATION)
    run.planned("btc-usd", 122)
    run.served("btc-usd", "quick", Path("artifacts/btc-usd"), _finished(""))
    clock.now += LINE_SECONDS
    run.tick()
    assert lines()[-4] == (
        f"btc-usd (quick model served): waiting for a worker (next: {VALIDATION}); 0 of 122 "
        "fits, time left not known yet"
    )


def test_a_run_that_writes_no_model_leaves_no_directory_behind(clock, tmp_path):
    out = tmp_path / "artifacts"
    run = _run(clock, out=out, terminal=False)
    run.step("btc-usd", "reading its history")
    run.failed("btc-usd", "no source delivered BTC/USD 1h bars")
    run.tick()
    run.close()
    assert not out.exists()
