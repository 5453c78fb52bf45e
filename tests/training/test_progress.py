"""The training run's one display (issues 47 and 56): in a pipe, never 30 seconds without a
line while training runs, every line about a pair naming it and saying what it does now or
that it waits for a worker; one estimate of the time left that the pairs and the run agree on;
every pair's state (waiting, running, done or failed, with why); on a terminal, bars redrawn in
place; the model directory's `training.json` saying the same to the API while the run lasts. A
clock of the test's own: nothing here waits."""

from __future__ import annotations

import io
import logging
import re
import sys
from pathlib import Path

import pytest

from cryptopredict.artifact.training import FILE, read_status
from cryptopredict.training.progress import LINE_SECONDS, RunProgress, TimeLeft, time_left
from cryptopredict.training.tasks import BACKTEST, FINAL_STEP, READING, Finished
from tests.collect.helpers import Clock

PAIRS = ["btc-usd", "eth-usd", "sol-usdt"]


@pytest.fixture
def clock() -> Clock:
    return Clock(1000.0)


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


def _run(clock: Clock, out: Path | None = None, slugs=PAIRS, **options) -> RunProgress:
    run = RunProgress(slugs, out=out, clock=clock, **options)
    run.stopped.set()  # the test ticks it: no thread of its own keeps time
    run.ticker.join()
    return run


def _trains(run: RunProgress, clock: Clock, slug: str, seconds: float) -> None:
    """The pair's task run on a worker, `seconds` long, its artifact written."""
    key = f"train-{slug}"
    run.started(slug, key, "train")
    run.started(slug, key, BACKTEST)
    clock.now += seconds
    run.ended(slug, key, "train", seconds)
    run.served(slug, Path(f"artifacts/{slug}"), _finished(""))


def test_in_a_pipe_every_pair_says_what_it_does_or_that_it_waits(clock, lines):
    run = _run(clock, terminal=False)
    run.workers = 1
    _trains(run, clock, "btc-usd", 30.0)
    run.started("eth-usd", "train-eth-usd", "train")
    run.started("eth-usd", "train-eth-usd", FINAL_STEP)
    clock.now += 10
    before = len(lines())
    clock.now += LINE_SECONDS
    run.tick()
    assert lines()[before:] == [
        # eth: 30 s a pair, 25 s of it spent: 5 s left; sol after it, on the one worker
        f"eth-usd: {FINAL_STEP}, about a minute left",
        "sol-usdt: waiting for a worker (next: reading its history), about a minute left",
        "training: 1 of 3 pairs done, 1 running, 1 waiting for a worker, about a minute left",
    ]
    estimate = run.estimate()
    assert estimate.pairs["eth-usd"] == pytest.approx(5.0)
    assert estimate.pairs["sol-usdt"] == pytest.approx(35.0)
    assert estimate.run == max(estimate.pairs.values())  # never below a pair's


def test_in_a_pipe_pairs_starting_phases_do_not_put_off_the_run_s_line(clock, lines):
    """Every LINE_SECONDS the run's line, however many phase lines came between: with 16 pairs
    starting phases more often than that, it was not said until the first pair was done."""
    run = _run(clock, terminal=False)
    for slug in PAIRS:
        clock.now += LINE_SECONDS / 2
        run.started(slug, f"train-{slug}", "train")
        run.started(slug, f"train-{slug}", FINAL_STEP)
        run.tick()
    assert [line for line in lines() if line.startswith("training: ")] == [
        "training: 0 of 3 pairs done, 2 running, 1 waiting for a worker"  # no time: none said
    ]


def test_the_time_left_shares_the_pairs_waiting_among_the_workers(clock):
    run = _run(clock, slugs=[f"pair-{n}" for n in range(6)], terminal=False)
    run.workers = 2
    assert run.estimate().run is None  # no pair has ended: nothing to estimate from
    _trains(run, clock, "pair-0", 20.0)
    _trains(run, clock, "pair-1", 40.0)  # a mean of 30 s a pair
    ends = run.estimate().pairs
    # Four pairs left, two workers free: two at a time.
    assert sorted(ends.values()) == pytest.approx([30.0, 30.0, 60.0, 60.0])
    assert run.estimate().run == pytest.approx(60.0)


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (None, ""),  # not known: nothing said
        (20, "about a minute left"),
        (600, "about 10 min left"),
        (3 * 3600, "about 3.0 h left"),
    ],
)
def test_the_time_left_is_said_plainly(seconds, said):
    assert time_left(seconds) == said


def test_every_line_about_a_pair_names_it(clock, lines):
    run = _run(clock, terminal=False)
    run.started("btc-usd", "train-btc-usd", "train")
    run.started("btc-usd", "train-btc-usd", FINAL_STEP)
    clock.now += 300
    report = "data:     48771 1h bars of BTC/USD\nbacktest: 2503 origins"
    run.served("btc-usd", Path("artifacts/btc-usd"), _finished(report))
    run.failed("eth-usd", "no source delivered ETH/USD")
    clock.now += LINE_SECONDS
    run.tick()
    about_pairs = [line for line in lines() if not line.startswith("training: ")]
    assert about_pairs
    assert all(line.split(":")[0] in PAIRS for line in about_pairs), about_pairs
    assert "btc-usd: data:     48771 1h bars of BTC/USD" in lines()
    assert "btc-usd: written to artifacts/btc-usd (model dev) 300 s after it started" in lines()
    assert lines()[-1] == "training: 1 of 3 pairs done, 1 waiting for a worker, 1 failed (eth-usd)"


def test_in_a_pipe_a_run_shorter_than_a_period_still_ends_with_its_count(clock, lines):
    run = _run(clock, terminal=False)
    run.started("btc-usd", "train-btc-usd", FINAL_STEP)
    run.served("btc-usd", Path("artifacts/btc-usd"), _finished(""))
    run.failed("eth-usd", "no source delivered ETH/USD")
    assert not any(line.startswith("training: ") for line in lines())
    run.close()
    assert re.fullmatch(r"training: 1 of 3 pairs done, .*failed \(eth-usd\)", lines()[-1])


def test_the_model_directory_says_each_pairs_state_while_the_run_lasts(clock, tmp_path):
    run = _run(clock, out=tmp_path, terminal=False)
    run.started("btc-usd", "train-btc-usd", "train")
    run.started("btc-usd", "train-btc-usd", BACKTEST)
    run.failed("eth-usd", "no source delivered ETH/USD")
    run.tick()
    status = read_status(tmp_path)
    assert status is not None
    assert [(pair.asset, pair.state, pair.step) for pair in status.pairs] == [
        ("btc-usd", "running", BACKTEST),
        ("eth-usd", "failed", "reading its history"),
        ("sol-usdt", "waiting", "waiting for a worker (next: reading its history)"),
    ]
    assert [pair.asset for pair in status.unfinished()] == ["btc-usd", "sol-usdt"]
    assert status.ended("failed")[0].why == "no source delivered ETH/USD"
    run.close()
    assert not (tmp_path / FILE).exists()


def test_on_a_terminal_bars_are_redrawn_and_lines_written_above_them(clock):
    screen = io.StringIO()
    run = _run(clock, terminal=True, stream=screen)
    run.started("btc-usd", "train-btc-usd", BACKTEST)
    run.say("2026-11-23T18:00:00 INFO    api: serving on http://0.0.0.0:8080 (docs at /docs)")
    run.tick()
    drawn = screen.getvalue()
    assert "serving on http://0.0.0.0:8080" in drawn
    assert "training: 0 of 3 pairs done, 1 running, 2 waiting for a worker" in drawn
    assert f"btc-usd: {BACKTEST}" in drawn
    assert "0/3 pairs" in drawn
    assert "\r" in drawn  # redrawn in place
    run.close()


def test_on_a_terminal_no_field_is_empty_and_the_end_says_no_time_left(clock, tmp_path):
    """Issue 96, item 2: a pair's bar said `backtest of the served forecast, , time left ...`;
    the run's, once every pair was done, `about a minute left`. Each pair's report goes to a
    file its line names, not 40 lines of tables on the terminal."""
    screen = io.StringIO()
    run = _run(clock, out=tmp_path, terminal=True, stream=screen)
    run.started("btc-usd", "train-btc-usd", BACKTEST)
    run.tick()
    assert f"btc-usd: {BACKTEST}" in screen.getvalue()
    for slug in PAIRS:
        (tmp_path / slug).mkdir()
        run.served(slug, tmp_path / slug, _finished("| 1h | 1.2% |\n|---|---|"))
    run.close()
    drawn = screen.getvalue()
    assert ", ," not in drawn
    assert "3 of 3 pairs done" in drawn
    frames = re.findall(r"(\d) of 3 pairs done[^|]*\|[^|]*\| (\d)/3 pairs", drawn)  # each agrees
    assert {done == counted for done, counted in frames} == {True}, frames
    ended = drawn[drawn.rindex("3 of 3 pairs done") :]
    assert "left" not in ended, ended
    assert "| 1h |" not in drawn
    assert f"btc-usd: written to {tmp_path / 'btc-usd'} (model dev)" in drawn
    assert f"its report: {run.report}" in drawn
    assert run.report is not None
    assert run.report.read_text().count("| 1h | 1.2% |") == 3


def test_on_a_terminal_a_logger_with_its_own_handler_writes_above_the_bars(clock, capsys):
    """Issue 96, item 2: Dask's loggers have console handlers of their own, not the root's:
    their lines were written into the bar being drawn, breaking both."""
    own = logging.getLogger("tests.a-handler-of-its-own")
    own.addHandler(logging.StreamHandler(sys.stderr))
    own.propagate = False
    own.setLevel(logging.INFO)
    run = _run(clock, terminal=True, stream=sys.stderr)
    with run.shown():
        run.started("btc-usd", "train-btc-usd", BACKTEST)
        run.tick()
        own.info("a line of its own")
    drawn = capsys.readouterr().err
    before = drawn[: drawn.index("a line of its own")]
    assert before.replace("\x1b[A", "").endswith(("\r", "\n")), repr(before[-80:])  # cleared
    own.handlers.clear()


def test_a_task_retried_after_its_worker_was_lost_waits_again(clock):
    run = _run(clock, terminal=False)
    run.started("btc-usd", "train-btc-usd", BACKTEST)
    run.ended("btc-usd", "train-btc-usd", "train", 4.0)  # its worker lost: Dask runs it again
    assert run.pairs["btc-usd"].state == "waiting"
    run.started("btc-usd", "train-btc-usd", "train")
    assert run.pairs["btc-usd"].state == "running"


def test_a_run_that_writes_no_model_leaves_no_directory_behind(clock, tmp_path):
    out = tmp_path / "artifacts"
    run = _run(clock, out=out, terminal=False)
    run.started("btc-usd", "train-btc-usd", "train")
    run.failed("btc-usd", "no source delivered BTC/USD 1h bars")
    run.tick()
    run.close()
    assert not out.exists()


def test_the_status_says_who_still_trains_as_soon_as_a_model_is_written(clock, tmp_path):
    """The API, serving the first model, reads training.json to know that /bitcoin's model is
    still coming (not missing)."""
    run = _run(clock, out=tmp_path, terminal=False)
    run.started("btc-usd", "train-btc-usd", BACKTEST)
    (tmp_path / "eth-usd").mkdir()
    run.served("eth-usd", tmp_path / "eth-usd", _finished(""))  # no tick in between
    status = read_status(tmp_path)
    assert status is not None
    assert [pair.asset for pair in status.unfinished()] == ["btc-usd", "sol-usdt"]


def _pairs(clock: Clock, **options) -> RunProgress:
    intervals = {"eth-usd": "1d", "btc-usd": "1h"}
    run = _run(clock, None, list(intervals), intervals=intervals, terminal=False, **options)
    run.workers = 2
    return run


def test_a_daily_pairs_pace_says_nothing_of_an_hourly_pairs_time_left(clock):
    """Issue 84: `make run`'s ETH/USD (daily, 5 s) ended first made BTC/USD (hourly, 10 s)
    show 1 s, then 0 s, for its last seconds. With no measure of its own kind, it says none."""
    run = _pairs(clock)
    run.started("btc-usd", "train-btc-usd", BACKTEST)
    _trains(run, clock, "eth-usd", 5.0)
    estimate = run.estimate()
    assert (estimate.pairs.get("btc-usd"), estimate.run) == (None, None)
    assert run.status().pairs[1].eta_seconds is None


def test_each_pair_is_timed_at_its_own_measured_pace(clock):
    """A pair's seconds when it last trained into the model directory (`run.json`) time it
    now; past them, its time left is not known, never 0."""
    run = _pairs(clock, measured={"btc-usd": 10.0, "eth-usd": 5.0})
    run.workers = 1
    assert run.estimate().pairs == {"eth-usd": 5.0, "btc-usd": 15.0}  # one after the other
    run.started("btc-usd", "train-btc-usd", BACKTEST)
    clock.now += 4
    assert run.estimate().pairs == {"btc-usd": 6.0, "eth-usd": 11.0}
    clock.now += 7  # past its measure
    assert run.estimate() == TimeLeft(None, {})
    run.ended("btc-usd", "train-btc-usd", "train", 11.0)
    run.served("btc-usd", Path("artifacts/btc-usd"), _finished(""))
    assert run.measured() == {"btc-usd": 11.0}  # the next run's pace


def test_a_pair_without_a_pace_is_timed_by_its_phases_ended(clock):
    """Issue 96, item 2: `make run` on a fresh clone (no `run.json`, ETH/USD daily and BTC/USD
    hourly) never said a time left. A running pair's phases left go at the pace of its own
    phases ended, in the proportions of the pairs done; the run's time is never below it."""
    run = _pairs(clock)
    for step, seconds in [(READING, 1.0), (BACKTEST, 4.0), (FINAL_STEP, 5.0)]:
        run.started("eth-usd", "train-eth-usd", step)  # 10 s: half of it its last phase
        clock.now += seconds
    run.served("eth-usd", Path("artifacts/eth-usd"), _finished(""))
    run.started("btc-usd", "train-btc-usd", READING)
    assert run.estimate() == TimeLeft(None, {})  # no phase of its own ended: nothing said
    clock.now += 2
    run.started("btc-usd", "train-btc-usd", BACKTEST)  # 2 s for a tenth: 18 s more
    clock.now += 3
    assert run.estimate() == TimeLeft(15.0, {"btc-usd": 15.0})
    run.started("btc-usd", "train-btc-usd", FINAL_STEP)  # 5 s for half: 5 s more
    clock.now += 4
    assert run.status().pairs[1].eta_seconds == pytest.approx(1.0)
    clock.now += 2  # past it: not known, never 0
    assert run.estimate() == TimeLeft(None, {})
