"""docker-compose.yml runs the collector from the image, beside PostgreSQL, and the API reads it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cryptopredict.minutes.store import MinuteStore, StoreError

ROOT = Path(__file__).resolve().parents[2]


def services() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


def test_compose_runs_the_collector_from_the_served_image():
    found = services()
    collector, api = found["collector"], found["cryptopredict"]
    assert collector["image"] == api["image"]
    assert collector["command"] == ["python", "-m", "cryptopredict.collect"]
    assert collector["read_only"] is True
    assert collector["cap_drop"] == ["ALL"]


def test_collector_and_api_share_the_postgres_service():
    found = services()
    url = found["collector"]["environment"]["DATABASE_URL"]
    assert url == found["cryptopredict"]["environment"]["DATABASE_URL"]
    assert url.startswith("postgresql://cryptopredict:")
    assert url.endswith("@postgres:5432/market")
    postgres = found["postgres"]
    assert postgres["environment"]["POSTGRES_DB"] == "market"
    assert postgres["environment"]["POSTGRES_USER"] == "cryptopredict"
    for name in ("collector", "cryptopredict"):
        assert found[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "pg_isready" in postgres["healthcheck"]["test"]


def test_the_compose_url_is_one_the_store_accepts():
    url = services()["collector"]["environment"]["DATABASE_URL"]
    # Understood as PostgreSQL (nothing listens here), and the password stays out of the error.
    with pytest.raises(StoreError, match="cannot connect") as raised:
        MinuteStore.open(url.replace("@postgres:5432", "@127.0.0.1:1"))
    assert "POSTGRES_PASSWORD" not in str(raised.value)
