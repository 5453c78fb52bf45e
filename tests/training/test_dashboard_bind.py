"""The local Dask cluster's web server (the dashboard, without authentication) listens on
loopback unless told otherwise."""

from __future__ import annotations

import psutil
import pytest

from cryptopredict.config import Training
from cryptopredict.training.cluster import training_client
from tests.ports import free_port

pytestmark = pytest.mark.slow


def listening_addresses(port: int) -> set[str]:
    """The addresses this process listens on at `port` (the local cluster's scheduler runs in
    it)."""
    return {
        found.laddr.ip
        for found in psutil.Process().net_connections(kind="tcp")
        if found.status == psutil.CONN_LISTEN and found.laddr.port == port
    }


def test_the_dashboard_listens_on_loopback_by_default():
    with training_client(Training(train_workers=1)) as client:
        port = client.scheduler_info()["services"]["dashboard"]
        assert listening_addresses(port) == {"127.0.0.1"}


def test_the_dashboard_address_is_configurable(monkeypatch):
    # Another loopback address: a test opens nothing to the network. A port below the ephemeral
    # range: bind(0) gave one a listener of this process held on 127.0.0.1 too (CI, 9d37aa4).
    monkeypatch.setenv("DASK_DASHBOARD_ADDRESS", f"127.0.0.2:{free_port()}")
    with training_client(Training.from_env()) as client:
        port = client.scheduler_info()["services"]["dashboard"]
        assert listening_addresses(port) == {"127.0.0.2"}
