"""The piped log read back as bench/first_run.py reads it for issue 56's bar 1: a refit step
named again with the same fits is not moving, and a run line whose time left is below a pair's
is caught; the lines main printed before issue 56 (its own words, from a run) fail both, and the
display's lines now pass."""

from __future__ import annotations

from bench.progress_lines import minutes, read

PREFIX = "2026-11-24T03:13:00 INFO    cryptopredict.training.progress: "

# main at a24ad5d, `make run`, 03:13-03:14 (issue 56's first two points).
BEFORE = [
    "btc-usd: backtest: validation refits, to choose the damping: 81 of 122 fits, about 2 min left",
    "eth-usd: final fit, forecast grid and artifact: 116 of 225 fits, about 6 min left",
    "training: 0 of 2 pairs done (btc-usd, eth-usd: the quick model meanwhile); 197 of 347 fits "
    "planned so far, about 4 min left",
]
NOW = [
    "btc-usd (quick model served): backtest: validation refits, to choose the damping; 40 of "
    "234 fits, about 9 min left",
    "eth-usd (quick model served): waiting for a worker (next: backtest: refits at every origin, "
    "the damping chosen); 116 of 225 fits, about 10 min left",
    "training: 0 of 2 pairs done, 1 running, 1 waiting for a worker; 156 of 459 fits, about 10 "
    "min left",
]


def _log(*blocks: list[str]) -> list[str]:
    return [PREFIX + line for block in blocks for line in block]


def test_the_time_left_is_read_as_said():
    assert minutes("about a minute left") == 1
    assert minutes("about 12 min left") == 12
    assert minutes("about 1.5 h left") == 90
    assert minutes("time left not known yet") is None


def test_the_display_before_issue_56_fails_the_bar():
    moved = [line.replace("81 of 122", "95 of 122") for line in BEFORE]
    reading = read(_log(BEFORE, moved))
    assert reading.blocks == 2
    assert len(reading.run_below_a_pair) == 2  # 4 min for the run, 6 for eth-usd
    # eth-usd's old line named the final fit while its refits waited: only the time left shows it
    assert reading.not_moving == []
    stuck = read(_log(BEFORE, BEFORE))
    assert stuck.not_moving == [
        "btc-usd: backtest: validation refits, to choose the damping: 81 of 122 fits; None fits"
    ]


def test_the_display_now_passes_and_a_stuck_refit_line_is_caught():
    later = [
        NOW[0].replace("40 of", "52 of").replace("9 min", "8 min"),
        NOW[1].replace("10 min", "9 min"),
        NOW[2].replace("156 of", "168 of").replace("10 min", "9 min"),
    ]
    reading = read(_log(NOW, later))
    assert (reading.blocks, reading.pair_lines, reading.waiting_lines) == (2, 4, 2)
    assert reading.not_moving == []
    assert reading.run_below_a_pair == []
    stuck = read(_log(NOW, NOW))
    assert stuck.not_moving == [
        "btc-usd: backtest: validation refits, to choose the damping; 40 fits"
    ]
