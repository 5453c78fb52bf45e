"""The server's read access: per-thread connections, a database that appears later, and a
connection that breaks."""

from __future__ import annotations

import threading

import pytest

from cryptopredict.collect.reader import MinuteReader
from cryptopredict.collect.store import DatabaseUnavailableError, MinuteStore, StoreError


def test_a_database_created_after_the_reader_is_read_without_restarting(tmp_path, sample_minutes):
    url = f"sqlite:///{tmp_path / 'market.db'}"
    reader = MinuteReader(url)
    with pytest.raises(StoreError, match="no minute-bar database"), reader.open():
        pass
    assert not (tmp_path / "market.db").exists()
    with MinuteStore.open(url) as collector:
        collector.write(sample_minutes[:3])
        with reader.open() as store:
            assert store.window("btc-usd").count == 3
        collector.write(sample_minutes[3:5])
        with reader.open() as store:
            assert store.window("btc-usd").count == 5


def test_each_thread_reads_on_its_own_connection(database_url, sample_minutes):
    with MinuteStore.open(database_url) as collector:
        collector.write(sample_minutes[:10])
    reader = MinuteReader(database_url)
    counts, stores = [], []

    def read() -> None:
        with reader.open() as store:
            stores.append(store)  # kept alive, so no two can share an id
            counts.append(store.window("btc-usd").count)

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
        store.window("btc-usd")
    with reader.open() as store:
        assert store.window("btc-usd").count == 2
