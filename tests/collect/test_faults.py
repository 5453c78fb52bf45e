"""The collector keeps running through database faults and refusals, and never logs a password
(issue 23, acceptance bars 2 and 3, and the collector's half of bar 4).

The command-line tests run `python -m cryptopredict.collect` against the local exchange and a
real PostgreSQL server, on the real clock, with real minutes moved to end a few minutes ago;
the one collector process is never restarted.
"""

from __future__ import annotations

import itertools
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cryptopredict.minutes.bars import MINUTE
from cryptopredict.minutes.store import MinuteStore
from tests.collect.fake_binance import FakeBinance, RestAnswer
from tests.collect.helpers import (
    COLLECTOR,
    Clock,
    collector_env,
    collector_for,
    count,
    minutes_ago,
    ohlcv,
    shifted_to,
    stored,
    wait_for,
)
from tests.collect.postgres import PostgresServer, PostgresUnavailableError
from tests.collect.running import run_until

PASSWORD = "s3cretpw"


class Collector:
    """`python -m cryptopredict.collect` in the background, its log in a file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("w") as sink:
            self.process = subprocess.Popen(COLLECTOR, env=env, stderr=sink, text=True)

    def text(self) -> str:
        return self.log.read_text()

    def wait_for_log(self, needle: str, count: int = 1, timeout: float = 60.0) -> None:
        wait_for(
            lambda: self.text().count(needle) >= count or self.process.poll() is not None,
            timeout,
            f"{needle!r} in the log",
        )
        assert self.process.poll() is None, f"the collector exited: {self.text()}"

    def stop(self) -> str:
        """SIGTERM; the exit status must be 0. Returns the whole log."""
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(30)
        log = self.text()
        assert self.process.returncode == 0, log
        return log


def streaming(fake: FakeBinance, bars, pause: float) -> Iterator[object]:
    """The exchange's present: each minute closes (REST has it, the stream says so) after
    `pause` seconds."""
    for bar in bars:
        yield pause
        yield fake.closing(bar)


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server for this test alone, since it is stopped under the collector."""
    try:
        server = PostgresServer()
    except PostgresUnavailableError as why:
        pytest.skip(str(why))
    try:
        server.start()
        yield server
    finally:
        server.remove()


@pytest.mark.slow
@pytest.mark.e2e
def test_postgresql_stopped_for_ten_seconds_loses_no_minute(
    own_postgres, all_sample_minutes, tmp_path
):
    """Acceptance bar 2: while the collector streams, PostgreSQL stops (a fast shutdown: every
    session is ended, AdminShutdown) for 10 s and starts again. The collector, never restarted,
    retries with its backoff, backfills, resumes the stream, and ends with every minute stored
    exactly once."""
    url = own_postgres.new_database("restarted")
    m = shifted_to(all_sample_minutes[:260], minutes_ago(2))
    with FakeBinance(m[:200], []) as fake:
        fake.tail = streaming(fake, m[200:], 0.25)
        collector = Collector(collector_env(fake, url), tmp_path / "collector.log")
        wait_for(lambda: count(url) >= 206, 60, "the stream's first minutes")
        own_postgres.stop()
        stopped = time.monotonic()
        collector.wait_for_log("trying again in", count=2)
        time.sleep(max(0.0, 10.0 - (time.monotonic() - stopped)))
        own_postgres.start()
        wait_for(lambda: count(url) == len(m), 120, "every minute")
        time.sleep(0.5)  # nothing more arrives
        log = collector.stop()
    with MinuteStore.open(url, create=False) as store:
        total, distinct = store._db.execute(
            "SELECT COUNT(*), COUNT(DISTINCT ts) FROM minute_bars"
        ).fetchone()
    assert total == distinct == len(m)
    assert [row[:6] for row in stored(url)] == ohlcv(m)
    assert "AdminShutdown" in log or "terminating connection" in log
    assert "Connection refused" in log  # while it was down
    assert "reconnected to postgresql://cryptopredict@" in log
    assert "Traceback" not in log


def test_a_locked_sqlite_database_is_waited_out(all_sample_minutes, tmp_path, caplog):
    """Another process holds SQLite's write lock for 1.5 s while the collector streams: the
    writes fail ("database is locked"), are retried with the backoff, and every minute is
    stored once the lock is released."""
    path = tmp_path / "market.db"
    url = f"sqlite:///{path}"
    m = all_sample_minutes[:80]
    clock = Clock(m[-1].ts + 2 * MINUTE)
    locker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)

    def lock() -> None:
        locker.execute("BEGIN EXCLUSIVE")
        threading.Timer(1.5, locker.execute, ("ROLLBACK",)).start()

    with FakeBinance(m[:50], []) as fake:
        collector, writer = collector_for(url, fake, clock, timeout=0.2)
        fake.tail = iter([*streaming(fake, m[50:60], 0.02), lock, *streaming(fake, m[60:], 0.05)])
        with caplog.at_level("WARNING"):
            run_until(collector, lambda: writer.newest("btc-usd") == m[-1].ts, timeout=60)
    locker.close()
    assert "database is locked" in caplog.text
    assert [row[:6] for row in stored(url)] == ohlcv(m)


@pytest.mark.slow
def test_a_refused_stream_without_alpaca_keys_keeps_trying(sample_minutes, tmp_path):
    """A websocket 403 on Binance, and no Alpaca keys for the fallback: logged, no traceback,
    and Binance is tried again after 1, 2, 4 ... s, until stopped."""
    m = shifted_to(sample_minutes[:10], minutes_ago(2))
    with FakeBinance(m, [], refuse_stream=403) as fake:
        env = collector_env(fake, f"sqlite:///{tmp_path / 'market.db'}")
        env.pop("ALPACA_API_KEY", None)
        env.pop("ALPACA_SECRET_KEY", None)
        collector = Collector(env, tmp_path / "collector.log")
        collector.wait_for_log("trying Binance again in 2 s")
        log = collector.stop()
    assert "binance refused: HTTP 403 from the stream" in log
    assert "the Alpaca fallback cannot start" in log
    assert "ALPACA_API_KEY and ALPACA_SECRET_KEY" in log
    assert "trying Binance again in 1 s" in log
    assert "Traceback" not in log
    assert [row[0] for row in stored(f"sqlite:///{tmp_path / 'market.db'}")] == [
        bar.ts for bar in m
    ]  # REST still backfilled


@pytest.mark.slow
def test_a_persistent_rest_503_slows_the_attempts_to_the_documented_backoff(
    sample_minutes, tmp_path
):
    """Acceptance bar 3, on the real clock: the REST requests of a collector facing a
    persistent 503 are at least 1, 2, then 4 s apart (the waits it logs), never once a
    second."""
    m = shifted_to(sample_minutes[:10], minutes_ago(2))
    unavailable = RestAnswer(503, '{"code": -1001, "msg": "Internal error"}')
    with FakeBinance(m, [], rest_hook=lambda query, rows: unavailable) as fake:
        collector = Collector(
            collector_env(fake, f"sqlite:///{tmp_path / 'market.db'}"), tmp_path / "c.log"
        )
        wait_for(lambda: len(fake.rest_times) >= 4, 30, "four REST attempts")
        log = collector.stop()
        times = list(fake.rest_times)
        connections = fake.connections
        port = fake.api_url.rsplit(":", 1)[1]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    for gap, wait in zip(gaps, [1.0, 2.0, 4.0], strict=False):
        assert gap >= wait - 0.01, gaps
    for wait in ("1.0", "2.0", "4.0"):
        assert f"HTTP 503 from 127.0.0.1:{port}; trying again in {wait} s" in log
    assert connections == 0  # the stream waits for the backfill


@pytest.mark.slow
def test_no_password_reaches_the_collectors_log(tmp_path):
    """A malformed PostgreSQL URL stops it at once (exit 1); a server that is down is waited
    for; neither log holds the password."""

    class Nowhere:
        ws_url, api_url = "ws://127.0.0.1:9", "http://127.0.0.1:9"

    env = collector_env(Nowhere, "")
    malformed = env | {"DATABASE_URL": f"postgresql://app:{PASSWORD}@[::1/market"}
    done = subprocess.run(
        COLLECTOR, check=False, env=malformed, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert "IPv6 host address" in done.stderr
    assert "postgresql://app:***@[::1/market" in done.stderr
    assert PASSWORD not in done.stderr + done.stdout
    down = env | {"DATABASE_URL": f"postgresql://app:{PASSWORD}@127.0.0.1:9/market"}
    collector = Collector(down, tmp_path / "collector.log")
    collector.wait_for_log("trying again in 2 s")
    log = collector.stop()
    assert "cannot connect to postgresql://app:***@127.0.0.1:9/market" in log
    assert PASSWORD not in log
