"""The replay's timing and provenance, reading minute files, and the command line."""

from __future__ import annotations

import dataclasses
import gzip
import itertools
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cryptopredict.collect.cli import main
from cryptopredict.collect.feed import MinuteWriter, Outcome
from cryptopredict.collect.replay import read_minutes, replay
from cryptopredict.minutes.bars import MINUTE, MalformedBarError, MinuteBar
from cryptopredict.minutes.store import MinuteStore
from tests.paths import MINUTE_SAMPLE as SAMPLE

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "change",
    [{"ts": 1_700_000_030}, {"high": 1.0}, {"close": float("nan")}, {"volume": -1.0}],
)
def test_invalid_bars_never_reach_the_database(sample_minutes, change):
    with pytest.raises(MalformedBarError):
        dataclasses.replace(sample_minutes[0], **change)


def test_the_real_sample_reads_whole(sample_minutes):
    bars = read_minutes(SAMPLE, "btc-usd")
    assert len(bars) == 43199  # data/PROVENANCE.md, section 4
    assert bars[0].ts == 1771225380  # 2026-02-16T07:03:00Z
    assert all(b.ts - a.ts == MINUTE for a, b in itertools.pairwise(bars))
    assert (bars[0].open, bars[0].close, bars[0].volume) == (68385.81, 68403.25, 6.97109)


def test_malformed_rows_of_a_file_are_skipped_and_said(tmp_path, caplog):
    path = tmp_path / "btc-usd-1m.csv.gz"
    lines = [
        "timestamp,open,high,low,close,volume",
        "2026-02-16T07:03:00Z,100,110,90,105,2",
        "2026-02-16T07:04:00Z,100,abc,90,105,2",
        "2026-02-16T07:05:30Z,100,110,90,105,2",
        "2026-02-16T07:06:00Z,100,110,90,105,2",
    ]
    path.write_bytes(gzip.compress("\n".join(lines).encode()))
    with caplog.at_level(logging.WARNING):
        bars = read_minutes(path, "btc-usd")
    assert [time.strftime("%H:%M", time.gmtime(bar.ts)) for bar in bars] == ["07:03", "07:06"]
    assert "line 3" in caplog.text
    assert "line 4" in caplog.text


class FakeClock:
    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def wait(self, seconds: float) -> bool:
        self.now += seconds
        return False  # never stopped


@pytest.mark.parametrize("speed", [1.0, 60.0])
def test_replay_never_dates_a_bar_ahead_and_ends_now(database_url, sample_minutes, speed):
    """Every bar is written at or after its shifted close; the last one just as it closes; and
    every row says it is a replay, shifted by how much."""
    clock = FakeClock(1_800_000_012.5)
    writer = MinuteWriter(MinuteStore.open(database_url), retention_days=1, clock=clock)
    ages = []
    original_fill = writer.fill

    def fill(bars: list[MinuteBar]) -> list[Outcome]:
        if len(bars) == 1:  # a bar played (the 70 before it are written in one batch)
            ages.append(clock.now - (bars[0].ts + MINUTE))
        return original_fill(bars)

    writer.fill = fill
    bars = sample_minutes[:100]
    stored = replay(bars, writer, speed=speed, play_minutes=30, clock=clock, wait=clock.wait)
    assert stored == 100
    assert len(ages) == 30
    assert min(ages) >= 0
    assert ages[-1] < MINUTE
    if speed == 1.0:
        assert max(ages) < MINUTE  # each bar as fresh as the live feed's
    assert clock.now == pytest.approx(1_800_000_012.5 + 30 * MINUTE / speed)
    window = writer.store.windows()["btc-usd"]
    assert window.count == 100
    assert window.last + MINUTE <= clock.now < window.last + 2 * MINUTE
    rows = writer.store.bars("btc-usd", 0, 2**40)
    assert [row[4] for row in rows] == [bar.close for bar in bars]  # prices untouched
    shift = rows[0][0] - bars[0].ts
    provenance = writer.store._db.execute("SELECT DISTINCT source, shifted_by FROM minute_bars")
    assert [tuple(row) for row in provenance.fetchall()] == [("replay", shift)]
    writer.store.close()


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cryptopredict.collect", *args],
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_replay_from_the_command_line_preloads_then_plays(tmp_path):
    url = f"sqlite:///{tmp_path / 'market.db'}"
    done = run_cli(
        "--replay", str(SAMPLE), "--speed", "600", "--play-minutes", "20", env={"DATABASE_URL": url}
    )
    assert done.returncode == 0, done.stderr
    with MinuteStore.open(url, create=False) as store:
        window = store.windows()["btc-usd"]
    assert window.count == 43199
    # Shifted by whole minutes: the last bar closed within the minute before the replay ended.
    assert time.time() - 2 * MINUTE < window.last + MINUTE <= time.time()
    assert "playing 20 more at 600x" in done.stderr


@pytest.mark.slow
def test_sigterm_stops_a_replay_after_the_current_write(tmp_path):
    url = f"sqlite:///{tmp_path / 'market.db'}"
    process = subprocess.Popen(
        [sys.executable, "-m", "cryptopredict.collect", "--replay", str(SAMPLE)],
        env={**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": url},
        stderr=subprocess.PIPE,
        text=True,
    )
    for line in process.stderr:
        if "playing 1440 more" in line:
            break
    process.send_signal(signal.SIGTERM)
    _, rest = process.communicate(timeout=30)
    assert process.returncode == 0, rest
    assert "stopped by a signal" in rest
    with MinuteStore.open(url, create=False) as store:
        assert store.windows()["btc-usd"].count == 43199 - 1440


def test_the_command_line_refuses_what_it_cannot_do(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "mysql://nowhere/db")
    assert main([]) == 1
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'm.db'}")
    assert main(["--replay", str(tmp_path / "mystery.csv")]) == 1
    with pytest.raises(SystemExit):
        main(["--replay", str(SAMPLE), "--speed", "0.5"])
    assert "--speed must be at least 1" in capsys.readouterr().err
    monkeypatch.setenv("MINUTE_RETENTION_DAYS", "0")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'untouched.db'}")
    assert main([]) == 2
    assert not (tmp_path / "untouched.db").exists()


def test_no_shift_writes_the_file_at_its_own_times_at_once(database_url, monkeypatch, caplog):
    """`--replay FILE --no-shift`: every minute at its own time, however old (the retention,
    counted from the clock, would drop them all), through the collector's storage path."""
    bars = read_minutes(SAMPLE, "btc-usd")[:2000]
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("MINUTE_RETENTION_DAYS", "1")
    with caplog.at_level(logging.INFO):
        assert main(["--replay", str(SAMPLE), "--no-shift"]) == 0
    with MinuteStore.open(database_url, create=False) as store:
        window = store.windows()["btc-usd"]
        rows = store.bars("btc-usd", bars[0].ts, bars[-1].ts + MINUTE)
        provenance = store.newest_bars()["btc-usd"]
    assert (window.first, window.count) == (bars[0].ts, 43199)  # 2026-02-16T07:03Z, every one
    assert [row[4] for row in rows] == [bar.close for bar in bars]
    assert (provenance.source, provenance.shifted_by) == ("replay", 0)
    assert "wrote 43199 of 43199 minutes at their own times" in caplog.text
    # Written again: nothing changes (each minute is stored once).
    assert main(["--replay", str(SAMPLE), "--no-shift"]) == 0
    with MinuteStore.open(database_url, create=False) as store:
        assert store.windows()["btc-usd"] == window


def test_no_shift_goes_with_a_replay_and_plays_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'untouched.db'}")
    for args in (["--no-shift"], ["--replay", str(SAMPLE), "--no-shift", "--speed", "10"]):
        with pytest.raises(SystemExit):
            main(args)
    with pytest.raises(SystemExit):
        main(["--replay", str(SAMPLE), "--no-shift", "--play-minutes", "5"])
    err = capsys.readouterr().err
    assert "--no-shift go with --replay" in err
    assert "--speed and --play-minutes do not apply" in err
    assert not (tmp_path / "untouched.db").exists()


def test_a_writer_without_retention_keeps_old_minutes_and_prunes_nothing(
    database_url, sample_minutes
):
    clock_now = sample_minutes[-1].ts + 400 * 86_400  # a year and more later
    with MinuteStore.open(database_url) as store:
        kept = MinuteWriter(store, None, clock=lambda: clock_now)
        outcomes = kept.fill(sample_minutes)
        assert set(outcomes) == {Outcome.STORED}
        kept.prune_if_due()
        assert store.windows()["btc-usd"].count == len(sample_minutes)
        dropped = MinuteWriter(store, 30, clock=lambda: clock_now)
        assert dropped.prune() == len(sample_minutes)  # a retention would have dropped them
