"""The piped log read back as bench/first_run.py reads it for issue 56's bar 1: a pair naming
the same running step for a minute and more is not moving, and a run line whose time left is
below a pair's is caught; the display's lines pass."""

from __future__ import annotations

from bench.first_run import ABOUT_THE_RUN
from bench.progress_lines import PHASES, STUCK_BLOCKS, minutes, read
from cryptopredict.freshness import old_data
from cryptopredict.training.progress import PHASE_SECONDS

PREFIX = "2026-11-24T03:13:00 INFO    cryptopredict.training.progress: "

NOW = [
    "btc-usd: backtest of the served forecast, about 45 s left",
    "eth-usd: waiting for a worker (next: reading its history), about 45 s left",
    "training: 0 of 2 pairs done, 1 running, 1 waiting for a worker, about 45 s left",
]
LATER = [
    "eth-usd: final fit, forecast grid and artifact, about 45 s left",
    "training: 1 of 2 pairs done, 1 running, about 45 s left",
]
# A run line below its pairs': 45 s for the run, 6 min for eth-usd.
BELOW = [
    "eth-usd: final fit, forecast grid and artifact, about 6 min left",
    "training: 1 of 2 pairs done, 1 running, about 45 s left",
]


def _log(*blocks: list[str]) -> list[str]:
    return [PREFIX + line for block in blocks for line in block]


def test_the_time_left_is_read_as_said():
    assert minutes("about 45 s left") == 0.75
    assert minutes("about 12 min left") == 12
    assert minutes("about 1.5 h left") == 90
    assert minutes("time left not known yet") is None


def test_the_display_passes_and_a_run_below_a_pair_is_caught():
    reading = read(_log(NOW, LATER))
    assert (reading.blocks, reading.pair_lines, reading.waiting_lines) == (2, 3, 1)
    assert reading.not_moving == []
    assert reading.run_below_a_pair == []
    assert len(read(_log(NOW, BELOW)).run_below_a_pair) == 1


def test_a_step_named_for_a_minute_and_more_is_caught_and_waiting_is_not():
    assert read(_log(*[NOW] * (STUCK_BLOCKS - 1))).not_moving == []
    stuck = read(_log(*[NOW] * STUCK_BLOCKS))
    assert stuck.not_moving == ["btc-usd: backtest of the served forecast"]


def test_a_short_run_shows_its_pairs_moving_in_their_phase_lines():
    # the names the workers' tasks say, in their order
    assert all(tuple(phases) == PHASES for phases in PHASE_SECONDS.values())
    said = [f"btc-usd: {phase}" for phase in PHASES] + ["eth-usd: reading its history"]
    reading = read(_log(said))
    assert reading.blocks == 0
    assert reading.phases == {"btc-usd": list(PHASES), "eth-usd": [PHASES[0]]}


def test_the_old_data_line_is_about_the_run_each_pair_named_in_it():
    """Issue 96: make bench-first-run counted it a line about a pair that does not name it."""
    assert ABOUT_THE_RUN.match(old_data({"btc-usd": 0, "eth-usd": 0}, 1e8, polled=False) or "")
