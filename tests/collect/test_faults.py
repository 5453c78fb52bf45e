"""The market feed keeps going through database faults, stops on a signal, and never logs a
password (issue 23, acceptance bars 2 and 4, for the feed).

The command-line tests run `python -m cryptopredict.collect` against the local exchange on the
real clock, with real minutes moved to end a few minutes ago.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from cryptopredict.collect.feed import SETTLE
from cryptopredict.minutes.bars import MINUTE
from cryptopredict.minutes.store import MinuteStore
from tests.collect.fake_binance import FakeBinance
from tests.collect.helpers import (
    COLLECTOR,
    Clock,
    binance,
    collector_env,
    feed_for,
    minutes_ago,
    newest,
    ohlcv,
    shifted_to,
    stored,
)
from tests.live_server import wait_for

PASSWORD = "s3cretpw"


class Collector:
    """`python -m cryptopredict.collect` in the background, its log in a file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("w") as sink:
            self.process = subprocess.Popen(COLLECTOR, env=env, stderr=sink, text=True)

    def text(self) -> str:
        return self.log.read_text()

    def wait_for_log(self, needle: str, timeout: float = 60.0) -> None:
        wait_for(lambda: needle in self.text(), needle, timeout, process=self.process, log=self.log)

    def stop(self) -> str:
        """SIGTERM; the exit status must be 0. Returns the whole log."""
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(30)
        log = self.text()
        assert self.process.returncode == 0, log
        return log


@pytest.mark.slow
def test_the_command_polls_the_exchange_until_a_sigterm(sample_minutes, tmp_path):
    m = shifted_to(sample_minutes[:60], minutes_ago(1))
    url = f"sqlite:///{tmp_path / 'market.db'}"
    with FakeBinance(m) as fake:
        collector = Collector(collector_env(fake, url), tmp_path / "feed.log")
        wait_for(lambda: newest(url) == m[-1].ts, "the newest minute", 30)
        log = collector.stop()
    assert "stopped by a signal" in log
    assert "Traceback" not in log
    assert [row[:6] for row in stored(url)] == ohlcv(m)
    with MinuteStore.open(url, create=False) as store:
        (quote,) = store.quotes()
        said = store.status()
    assert (quote.asset, quote.source, quote.price) == ("btc-usd", "binance", m[-1].close)
    assert said.sources == ("binance",)
    assert said.last_success is not None
    assert said.failing_since is None


def test_postgresql_stopped_under_the_feed_loses_no_minute(
    own_postgres, all_sample_minutes, caplog
):
    """PostgreSQL stops (a fast shutdown: every session is ended, AdminShutdown) between two
    rounds: the rounds fail, saying why; once it is back, the next round reconnects and stores
    every minute exactly once, and the error is cleared. A password with #, ?, / and a space
    (libpq takes # and ? as they are) is in no log line or status, during or after (issue 104),
    nor with quotes, < and >, in the feed's first line (issue 113)."""
    password = "p#w?x%2Fy%20z'\"<>"
    caplog.set_level("INFO")
    url = own_postgres.new_database("restarted").replace("@", f":{password}@")
    m = all_sample_minutes[:260]
    clock = Clock(m[199].ts + MINUTE + SETTLE)
    with FakeBinance(m, clock=clock) as fake:
        feed = feed_for(url, clock, [binance(fake)])
        feed.round()
        own_postgres.stop()
        clock.now += 20 * MINUTE
        feed.round()
        feed.round()
        failed = feed.status
        own_postgres.start()
        clock.now += 40 * MINUTE
        feed.round()
        feed.stop.set()
        feed.run()  # its first line, then it stops
    with MinuteStore.open(url, create=False) as store:
        total, distinct = store._db.execute(
            "SELECT COUNT(*), COUNT(DISTINCT ts) FROM minute_bars"
        ).fetchone()
        recorded = store.status()
    assert total == distinct == len(m)
    assert [row[:6] for row in stored(url)] == ohlcv(m)
    assert "Connection refused" in failed.last_error  # while it was down
    assert (recorded.failing_since, recorded.last_error) == (None, None)
    said = caplog.text + repr([failed, recorded])
    assert "market feed: minutes of btc-usd" in caplog.text
    assert [form for form in (password, "p#w?x/y z", "w?x", "y z", "'\"<>") if form in said] == []


@pytest.mark.slow
def test_no_password_reaches_the_feeds_log(tmp_path):
    """A malformed PostgreSQL URL stops it at once (exit 1); a server that is down is waited
    for; neither log holds the password."""

    class Nowhere:
        url = "http://127.0.0.1:9"

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
    collector = Collector(down, tmp_path / "feed.log")
    collector.wait_for_log("trying again in 2 s")
    log = collector.stop()
    assert "cannot connect to postgresql://app:***@127.0.0.1:9/market" in log
    assert PASSWORD not in log
