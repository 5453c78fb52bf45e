"""The server's read access: per-thread connections, a database that appears later, a
connection that breaks, a bound on the threads reading, and a failure remembered for a while."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from cryptopredict.minutes.reader import MinuteReader, ReadersBusyError
from cryptopredict.minutes.store import DatabaseUnavailableError, MinuteStore, StoreError
from tests.collect.helpers import Clock


def test_a_database_created_after_the_reader_is_read_without_restarting(tmp_path, sample_minutes):
    url = f"sqlite:///{tmp_path / 'market.db'}"
    reader = MinuteReader(url)
    with pytest.raises(StoreError, match="no minute-bar database"), reader.open():
        pass
    assert not (tmp_path / "market.db").exists()
    with MinuteStore.open(url) as collector:
        collector.write(sample_minutes[:3])
        with reader.open() as store:
            assert store.windows()["btc-usd"].count == 3
        collector.write(sample_minutes[3:5])
        with reader.open() as store:
            assert store.windows()["btc-usd"].count == 5


def test_each_thread_reads_on_its_own_connection(database_url, sample_minutes):
    with MinuteStore.open(database_url) as collector:
        collector.write(sample_minutes[:10])
    reader = MinuteReader(database_url, max_readers=4)
    counts, stores = [], []

    def read() -> None:
        with reader.open() as store:
            stores.append(store)  # kept alive, so no two can share an id
            counts.append(store.windows()["btc-usd"].count)

    threads = [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counts == [10] * 4
    assert len({id(store) for store in stores}) == 4


def test_a_broken_connection_is_replaced(postgres_server, sample_minutes):
    import psycopg

    from tests.collect.postgres import new_postgres_database

    url = new_postgres_database(postgres_server)
    with MinuteStore.open(url) as collector:
        collector.write(sample_minutes[:2])
    reader = MinuteReader(url)
    with reader.open() as store:
        pid = store._db.info.backend_pid
    with psycopg.connect(f"{postgres_server}/postgres", autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(DatabaseUnavailableError, match="terminat"), reader.open() as store:
        store.windows()["btc-usd"]
    with reader.open() as store:
        assert store.windows()["btc-usd"].count == 2


def test_past_max_readers_a_reader_is_refused_at_once(database_url, sample_minutes):
    with MinuteStore.open(database_url) as collector:
        collector.write(sample_minutes[:2])
    reader = MinuteReader(database_url, max_readers=1)
    refused: list[BaseException] = []

    def read_beside() -> None:
        try:
            with reader.open():
                pass
        except ReadersBusyError as error:
            refused.append(error)

    with reader.open() as store:  # holds the one reader while the other thread asks
        beside = threading.Thread(target=read_beside)
        beside.start()
        beside.join()
        assert store.windows()["btc-usd"].count == 2
    assert len(refused) == 1
    assert "all 1 threads allowed to read the minute bars are busy" in str(refused[0])
    with reader.open() as store:  # given back: the next one reads
        assert store.windows()["btc-usd"].count == 2


@pytest.fixture
def silent_listener() -> Iterator[socket.socket]:
    """A TCP listener on loopback that accepts connections (the kernel does) and never
    answers: a database server that hangs."""
    with socket.create_server(("127.0.0.1", 0), backlog=16) as listener:
        listener.setblocking(False)
        yield listener


def connections_made(listener: socket.socket) -> int:
    accepted = 0
    while True:
        try:
            listener.accept()[0].close()
        except BlockingIOError:
            return accepted
        accepted += 1


@pytest.mark.slow
def test_a_database_that_never_answers_is_tried_once_per_retry_period(silent_listener, caplog):
    """Seconds: each try waits out PostgreSQL's shortest connect timeout (2 s)."""
    port = silent_listener.getsockname()[1]
    clock = Clock(1000.0)
    url = f"postgresql://reader:s3cret@127.0.0.1:{port}/market"
    reader = MinuteReader(url, connect_timeout=2, retry_after=5.0, clock=clock)
    with pytest.raises(DatabaseUnavailableError, match="timeout"), reader.open():
        pass
    assert connections_made(silent_listener) == 1
    clock.now += 4.9
    for _ in range(3):  # remembered: the same error at once, no new connection
        with pytest.raises(DatabaseUnavailableError, match="timeout"), reader.open():
            pass
    assert connections_made(silent_listener) == 0
    clock.now += 0.2
    with pytest.raises(DatabaseUnavailableError, match="timeout"), reader.open():
        pass
    assert connections_made(silent_listener) == 1
    # The reader's own lines: an API of another test may still be archiving on its own thread.
    warnings = [
        r.getMessage()
        for r in caplog.records
        if r.levelname == "WARNING" and r.name == "cryptopredict.minutes.reader"
    ]
    assert len(warnings) == 2, "logged once per try, not once per request"
    assert "trying again in 5 s" in warnings[0]
    assert "s3cret" not in caplog.text


def test_a_connection_that_breaks_is_not_remembered_but_a_new_one_that_fails_is(
    postgres_server, sample_minutes
):
    """A stale connection (the server restarted) costs one request; the database being down
    costs one try per retry period."""
    import psycopg

    from tests.collect.postgres import new_postgres_database

    url = new_postgres_database(postgres_server)
    with MinuteStore.open(url) as collector:
        collector.write(sample_minutes[:2])
    clock = Clock(1000.0)
    reader = MinuteReader(url, retry_after=5.0, clock=clock)
    with reader.open() as store:
        pid = store._db.info.backend_pid
    with psycopg.connect(f"{postgres_server}/postgres", autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(DatabaseUnavailableError, match="terminat"), reader.open() as store:
        store.windows()["btc-usd"]
    with reader.open() as store:  # not remembered: a new connection, at once
        assert store.windows()["btc-usd"].count == 2
    down = MinuteReader(url.rsplit("/", 1)[0] + "/no_such_database", retry_after=5.0, clock=clock)
    with pytest.raises(DatabaseUnavailableError, match="no_such_database"), down.open():
        pass
    with psycopg.connect(f"{postgres_server}/postgres", autocommit=True) as admin:
        admin.execute("CREATE DATABASE no_such_database")
    try:
        with pytest.raises(DatabaseUnavailableError, match="no_such_database"), down.open():
            pass  # remembered, though the database is there now
        clock.now += 5
        with pytest.raises(StoreError, match="holds no minute bars yet"), down.open():
            pass  # tried again: there, but without the schema
    finally:
        with psycopg.connect(f"{postgres_server}/postgres", autocommit=True) as admin:
            admin.execute("DROP DATABASE no_such_database")


def test_after_the_retry_period_one_call_tries_while_the_others_fail_at_once(silent_listener):
    """Half-open: the connect timeout is long (30 s), and the listener decides when a try ends
    by closing the connection, so the test waits on events, not on time."""
    port = silent_listener.getsockname()[1]
    clock = Clock(1000.0)
    url = f"postgresql://reader:pw@127.0.0.1:{port}/market"
    reader = MinuteReader(url, connect_timeout=30, retry_after=5.0, clock=clock, max_readers=4)
    failures: list[BaseException] = []

    def read() -> None:
        try:
            with reader.open():
                pass
        except StoreError as error:
            failures.append(error)

    def try_in_a_thread() -> tuple[threading.Thread, socket.socket]:
        trying = threading.Thread(target=read)
        trying.start()
        silent_listener.settimeout(30)
        connection = silent_listener.accept()[0]  # the try reached the "database"
        silent_listener.setblocking(False)
        return trying, connection

    first, connection = try_in_a_thread()
    connection.close()  # the database hangs up: that try fails
    first.join()
    assert len(failures) == 1
    clock.now += 5
    probe, connection = try_in_a_thread()  # the one try after the retry period, waiting
    with pytest.raises(DatabaseUnavailableError), reader.open():
        pass  # another call meanwhile: the remembered failure, at once
    assert connections_made(silent_listener) == 0
    connection.close()
    probe.join()
    assert len(failures) == 2


def test_a_sqlite_read_past_its_statement_timeout_is_interrupted(tmp_path, sample_minutes):
    url = f"sqlite:///{tmp_path / 'market.db'}"
    with MinuteStore.open(url) as collector:
        collector.write(sample_minutes)
    hurried = MinuteReader(url, statement_timeout=0.0)  # no time at all
    with pytest.raises(DatabaseUnavailableError, match="interrupted"), hurried.open() as store:
        store.windows()
    with MinuteReader(url, statement_timeout=60.0).open() as store:
        assert store.windows()["btc-usd"].count == len(sample_minutes)


@pytest.fixture
def frozen_postgres() -> Iterator:
    """A PostgreSQL server of this test's own, since it is frozen (SIGSTOP) and thawed."""
    from tests.collect.postgres import PostgresServer

    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        server.thaw()
        server.remove()


def test_a_read_on_a_server_frozen_after_connecting_is_cut_and_remembered(
    frozen_postgres, sample_minutes, caplog
):
    """SIGSTOP: the server's kernel still acknowledges, so neither its statement timeout nor
    TCP keepalive can end the read; the watchdog cuts it, logs and counts it, and the failure
    is remembered (the breaker opens). Thawed, the next try after the retry period reads."""
    url = frozen_postgres.new_database("market")
    with MinuteStore.open(url) as collector:
        collector.write(sample_minutes[:2])
    reader = MinuteReader(url, statement_timeout=1.0, connect_timeout=1.0, retry_after=2.0)
    with reader.open() as store:
        assert store.windows()["btc-usd"].count == 2
    frozen_postgres.freeze()
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailableError), reader.open() as store:
        store.windows()["btc-usd"]
    assert time.monotonic() - started < 10
    assert reader.watchdog.stuck == 1
    assert "got no answer in time: cut it" in caplog.text
    assert "trying again in 2 s" in caplog.text
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailableError), reader.open():
        pass  # remembered: at once, without a try
    assert time.monotonic() - started < 0.5
    frozen_postgres.thaw()
    deadline = time.monotonic() + 30
    while True:
        try:
            with reader.open() as store:
                assert store.windows()["btc-usd"].count == 2
            break
        except StoreError:
            assert time.monotonic() < deadline
            time.sleep(0.2)


def test_a_sqlite_file_replaced_by_rename_is_read_afresh(tmp_path, sample_minutes):
    """A restore renames a new file over the database: a connection kept open would read the
    old file forever; the reader reopens it."""
    url = f"sqlite:///{tmp_path / 'market.db'}"
    with MinuteStore.open(url) as collector:
        collector.write(sample_minutes[:3])
    reader = MinuteReader(url)
    with reader.open() as store:
        assert store.windows()["btc-usd"].count == 3
    with MinuteStore.open(f"sqlite:///{tmp_path / 'restored.db'}") as restored:
        restored.write(sample_minutes[:7])
    (tmp_path / "restored.db").replace(tmp_path / "market.db")
    with reader.open() as store:
        assert store.windows()["btc-usd"].count == 7
