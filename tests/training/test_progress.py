"""The training run's one display (issues 47, 56 and 106) in log lines (its bar at a terminal:
test_make_run_first_hour): never 30 seconds without a line while training runs, every line about
a pair naming it and saying what it does now or that it waits for a worker; one estimate of the
time left that the pairs and the run agree on, from the first second; every pair's state
(waiting, running, done or failed, with why); the model directory's `training.json` saying the
same to the API while the run lasts. A clock of the test's own: nothing here waits."""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from cryptopredict.artifact.training import FILE, read_status
from cryptopredict.training.progress import (
    LINE_SECONDS,
    OVERDUE,
    PHASE_SECONDS,
    REPORT,
    START_SECONDS,
    RunProgress,
    TimeLeft,
    time_left,
)
from cryptopredict.training.tasks import BACKTEST, FINAL_STEP, READING, Finished
from tests.collect.helpers import Clock

PAIRS = dict.fromkeys(["btc-usd", "eth-usd", "sol-usdt"], "")  # their intervals: not known
PAIR_SECONDS = {interval: sum(phases.values()) for interval, phases in PHASE_SECONDS.items()}


@pytest.fixture
def clock() -> Clock:
    return Clock(1000.0)


@pytest.fixture
def lines(caplog) -> Callable[[], list[str]]:
    """The log lines the display wrote, as they come."""
    caplog.set_level(logging.INFO, logger="cryptopredict.training.progress")
    return lambda: caplog.messages


def _finished(report: str) -> Finished:
    return Finished(files={}, report=report, model_version="dev")


def _run(clock: Clock, out: Path, intervals=PAIRS, **options) -> RunProgress:
    run = RunProgress(intervals, out=out, clock=clock, **options)
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


def test_in_a_pipe_every_pair_says_what_it_does_or_that_it_waits(clock, tmp_path, lines):
    run = _run(clock, tmp_path)
    run.workers = 1
    _trains(run, clock, "btc-usd", 30.0)
    run.started("eth-usd", "train-eth-usd", "train")
    run.started("eth-usd", "train-eth-usd", FINAL_STEP)
    clock.now += 10
    before = len(lines())
    clock.now += LINE_SECONDS
    run.tick()
    assert lines()[before:] == [
        # eth: 30 s a pair (btc's pace), 25 s into its final step (a share of the 30 s), a share
        # of them left; sol after it, on the one worker
        f"eth-usd: {FINAL_STEP}, about 5 s left",
        "sol-usdt: waiting for a worker (next: reading its history), about 35 s left",
        "training: 1 of 3 pairs done, 1 running, 1 waiting for a worker, about 35 s left",
    ]
    estimate = run.estimate()
    assert estimate.pairs["eth-usd"] == pytest.approx(5.0)
    assert estimate.pairs["sol-usdt"] == pytest.approx(35.0)
    assert estimate.run == max(estimate.pairs.values())  # never below a pair's


def test_in_a_pipe_pairs_starting_phases_do_not_put_off_the_run_s_line(clock, tmp_path, lines):
    """Every LINE_SECONDS the run's line, however many phase lines came between: with 16 pairs
    starting phases more often than that, it was not said until the first pair was done."""
    run = _run(clock, tmp_path)
    for slug in PAIRS:
        clock.now += LINE_SECONDS / 2
        run.started(slug, f"train-{slug}", "train")
        run.started(slug, f"train-{slug}", FINAL_STEP)
        run.tick()
    (said,) = [line for line in lines() if line.startswith("training: ")]
    assert said.startswith("training: 0 of 3 pairs done, 2 running, 1 waiting for a worker, ")


def test_the_time_left_shares_the_pairs_waiting_among_the_workers(clock, tmp_path):
    run = _run(clock, tmp_path, dict.fromkeys([f"pair-{n}" for n in range(6)], ""))
    run.workers = 2
    # The workers' start, then three pairs on each worker at the measured cost of a pair.
    assert run.estimate().run == pytest.approx(START_SECONDS + 3 * PAIR_SECONDS["1h"])
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
        (2, "about 5 s left"),
        (43, "about 45 s left"),  # the words follow the clock
        (600, "about 10 min left"),
        (3 * 3600, "about 3.0 h left"),
    ],
)
def test_the_time_left_is_said_plainly(seconds, said):
    assert time_left(seconds) == said


def test_every_line_about_a_pair_names_it(clock, tmp_path, lines):
    run = _run(clock, tmp_path)
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
    assert (
        "btc-usd: written to artifacts/btc-usd (model dev) 300 s after it started; its "
        f"report: {tmp_path / REPORT}" in lines()
    )
    assert (tmp_path / REPORT).read_text() == f"# btc-usd\n\n{report}\n\n"  # its tables
    assert lines()[-1] == (
        "training: 1 of 3 pairs done, 1 waiting for a worker, 1 failed (eth-usd), "
        f"{time_left(PAIR_SECONDS['1h'])}"  # the one waiting
    )


def test_in_a_pipe_a_run_shorter_than_a_period_still_ends_with_its_count(clock, tmp_path, lines):
    run = _run(clock, tmp_path)
    run.started("btc-usd", "train-btc-usd", FINAL_STEP)
    run.served("btc-usd", Path("artifacts/btc-usd"), _finished(""))
    run.failed("eth-usd", "no source delivered ETH/USD")
    assert not any(line.startswith("training: ") for line in lines())
    run.close()
    assert re.fullmatch(r"training: 1 of 3 pairs done, .*failed \(eth-usd\)", lines()[-1])


def test_the_model_directory_says_each_pairs_state_while_the_run_lasts(clock, tmp_path):
    run = _run(clock, out=tmp_path)  # said at once: `make run` starts the API once it is
    assert [pair.state for pair in read_status(tmp_path).pairs] == ["waiting"] * 3
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
    clock.now += 1  # nothing told meanwhile: rewritten each second, as the API counts it down
    run.tick()
    btc = read_status(tmp_path).pairs[0]
    assert btc.eta_seconds == pytest.approx(status.pairs[0].eta_seconds - 1)
    run.close()
    assert not (tmp_path / FILE).exists()


def test_a_task_retried_after_its_worker_was_lost_waits_again(clock, tmp_path):
    run = _run(clock, tmp_path)
    run.started("btc-usd", "train-btc-usd", BACKTEST)
    run.ended("btc-usd", "train-btc-usd", "train", 4.0)  # its worker lost: Dask runs it again
    assert run.pairs["btc-usd"].state == "waiting"
    run.started("btc-usd", "train-btc-usd", "train")
    assert run.pairs["btc-usd"].state == "running"


def test_a_run_that_writes_no_model_leaves_no_directory_behind(clock, tmp_path):
    out = tmp_path / "artifacts"
    run = _run(clock, out=out)
    run.started("btc-usd", "train-btc-usd", "train")
    run.failed("btc-usd", "no source delivered BTC/USD 1h bars")
    run.tick()
    run.close()
    assert not out.exists()


def test_the_status_says_who_still_trains_as_soon_as_a_model_is_written(clock, tmp_path):
    """The API, serving the first model, reads training.json to know that /bitcoin's model is
    still coming (not missing)."""
    run = _run(clock, out=tmp_path)
    run.started("btc-usd", "train-btc-usd", BACKTEST)
    (tmp_path / "eth-usd").mkdir()
    run.served("eth-usd", tmp_path / "eth-usd", _finished(""))  # no tick in between
    status = read_status(tmp_path)
    assert status is not None
    assert [pair.asset for pair in status.unfinished()] == ["btc-usd", "sol-usdt"]


def _pairs(clock: Clock, out: Path, **options) -> RunProgress:
    intervals = {"eth-usd": "1d", "btc-usd": "1h"}
    run = _run(clock, out, intervals, **options)
    run.workers = 2
    return run


def test_a_first_run_says_its_time_left_from_the_first_second_and_never_freezes(clock, tmp_path):
    """Issue 106, item 2: on a fresh clone (no `run.json`) `make run` said no time left, then
    froze it while the workers started. From the first second: the workers' start, then each
    pair at the measured cost of its interval; once a pair is done, at this run's pace."""
    run = _pairs(clock, tmp_path)  # on two workers: eth-usd (daily) and btc-usd (hourly)
    assert run.status().eta_seconds == START_SECONDS + PAIR_SECONDS["1h"]
    said = []
    for _ in range(60):  # a minute without a worker: the time left moves, never 0
        clock.now += 1
        said.append(round(run.estimate().run))
    assert min(said) > 0
    assert max(len(list(same)) for _, same in itertools.groupby(said)) <= 10, said  # the bar
    _trains(run, clock, "eth-usd", 2 * PAIR_SECONDS["1d"])  # twice its measured cost
    run.started("btc-usd", "train-btc-usd", READING)
    assert run.estimate().run == pytest.approx(2 * PAIR_SECONDS["1h"])  # at this run's pace


def test_a_few_pairs_are_timed_one_after_the_other_from_the_first_second(
    clock, tmp_path, monkeypatch
):
    """`make run`'s two pairs on two cores train on one thread of train.py (cluster.py): its
    first time left, before the cluster says so, counts them one after the other (it said 10 s
    for the 17 s left)."""
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    intervals = {"eth-usd": "1d", "btc-usd": "1h"}
    run = _run(clock, tmp_path, intervals)
    assert run.estimate().run == pytest.approx(START_SECONDS + sum(PAIR_SECONDS.values()))
    many = _run(clock, tmp_path, PAIRS)  # more pairs than cores: one worker process a core
    assert many.estimate().run == pytest.approx(START_SECONDS + 2 * PAIR_SECONDS["1h"])


def test_each_pair_is_timed_at_its_own_measured_pace(clock, tmp_path):
    """A pair's seconds when it last trained into the model directory (`run.json`) time it
    now, shared among its phases as a pair's of its interval; past them, a share of the time
    spent: never 0."""
    run = _pairs(clock, tmp_path, measured={"btc-usd": 10.0, "eth-usd": 5.0})
    run.workers = 1
    # one after the other, once the worker has started: /bitcoin's first, then the cheapest
    ends = {slug: left - START_SECONDS for slug, left in run.estimate().pairs.items()}
    assert ends == pytest.approx({"btc-usd": 10.0, "eth-usd": 15.0})
    phases = run.pairs["btc-usd"].phases()
    assert sum(phases.values()) == pytest.approx(10.0)
    run.started("btc-usd", "train-btc-usd", BACKTEST)
    clock.now += 4
    left = phases[BACKTEST] + phases[FINAL_STEP] - 4
    assert run.estimate().pairs == pytest.approx({"btc-usd": left, "eth-usd": left + 5})
    clock.now += 20  # past its measure: a share of the time spent, never 0
    left = OVERDUE * 24 + phases[FINAL_STEP]
    assert run.estimate() == TimeLeft(
        pytest.approx(left + 5),
        {"btc-usd": pytest.approx(left), "eth-usd": pytest.approx(left + 5)},
    )
    run.ended("btc-usd", "train-btc-usd", "train", 24.0)
    run.served("btc-usd", Path("artifacts/btc-usd"), _finished(""))
    assert run.measured() == {"btc-usd": 24.0}  # the next run's pace


def test_a_running_pair_s_last_seconds_follow_its_own_pace(clock, tmp_path):
    """Issue 106, bar 2: a pair's seconds vary by a sixth from run to run, which its measure
    cannot say: from the share of its backtest done, and from the backtest's end, its own pace
    times the rest of its phases. Its history's fetch goes at the network's pace: not counted."""
    run = _pairs(clock, tmp_path)
    phases = run.pairs["btc-usd"].phases()  # a first run: an hourly pair's
    key = "train-btc-usd"
    run.started("btc-usd", key, READING)
    clock.now += 30  # a slow network
    run.started("btc-usd", key, BACKTEST)
    assert run.estimate().pairs["btc-usd"] == phases[BACKTEST] + phases[FINAL_STEP]  # as measured
    clock.now += 1.2 * 0.5 * phases[BACKTEST]  # a fifth slower than measured
    run.started("btc-usd", key, BACKTEST, done=0.5)
    left = 1.2 * (0.5 * phases[BACKTEST] + phases[FINAL_STEP])
    assert run.estimate().pairs["btc-usd"] == pytest.approx(left)
    clock.now += 1  # counted down since
    assert run.estimate().pairs["btc-usd"] == pytest.approx(left - 1)
    clock.now += 1.5 * phases[BACKTEST] - 1 - 1.2 * 0.5 * phases[BACKTEST]
    run.started("btc-usd", key, FINAL_STEP)  # the whole backtest half as slow again
    assert run.estimate().pairs["btc-usd"] == pytest.approx(1.5 * phases[FINAL_STEP])
