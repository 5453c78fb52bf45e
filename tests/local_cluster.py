"""Training a pair in a test as `train.py` does, as its task, on a Dask cluster of
one single-threaded worker in this process: the tasks run here, so a test's monkeypatch
reaches them. One per worker session (`dask_client`, tests/conftest.py), not one per training."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dask
from distributed import Client, LocalCluster

from cryptopredict.training.cluster import WORKER_CONFIG
from cryptopredict.training.graph import train_pair
from cryptopredict.training.tasks import Finished, PairJob


@contextmanager
def in_process_client() -> Iterator[Client]:
    with (
        dask.config.set(WORKER_CONFIG),
        # On loopback (where tests may connect): no address of this machine is looked up.
        LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            processes=False,
            protocol="tcp://",
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        yield client


def train(job: PairJob, out: Path, client: Client) -> Finished:
    """`job` trained into `out` (its backtest kept) on `client`'s cluster (the session's,
    `dask_client` in tests/conftest.py)."""
    return train_pair(client, job, out=out)
