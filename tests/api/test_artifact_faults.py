"""A hostile or broken artifact file, served by a real `python api.py` (issue 38, acceptance bar
3): its asset answers 503 naming the file, the process keeps running, every other asset keeps
serving, and nothing of a file outside the model directory reaches an answer."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from cryptopredict.artifact.schema import GRID
from tests.crafted import resealed, retyped
from tests.live_server import LiveServer, answered, start_server

pytestmark = pytest.mark.slow

ROUTES = (
    "/healthz",
    "/assets",
    "/bitcoin?date=2026-07-20",
    "/forecast/btc-usd?date=2026-07-20",
    "/model/btc-usd",
    "/candles/btc-usd",
    "/healthz",
)


def fetch(url: str) -> tuple[int, str]:
    status, body = answered(url)
    return status, body.decode()


def serve(copy: Path, tmp_path: Path) -> LiveServer:
    return start_server(copy, tmp_path / "api.log", DATABASE_URL=f"sqlite:///{tmp_path}/none.db")


def test_an_object_field_in_the_grid_takes_down_its_asset_only(copy, tmp_path):
    """Before issue 38 the first forecast of such a grid ended the process (SIGSEGV)."""
    retyped(copy / "btc-usd" / GRID, "step", "|O")
    resealed(copy / "btc-usd", GRID)
    with serve(copy, tmp_path) as server:
        for _ in range(3):  # asked again and again: the same answer, the same process
            status, body = fetch(f"{server.url}/bitcoin?date=2026-07-20")
            assert status == 503, body
            answer = json.loads(body)
            assert answer["error"] == "asset_unavailable"
            assert "btc-usd/grid.npy: not a .npy record this code writes" in answer["detail"]
            assert str(copy) not in answer["detail"]
            status, body = fetch(f"{server.url}/forecast/eth-usd?date=2026-07-01")
            assert (status, json.loads(body)["model_version"]) == (200, "test-eth-1")
        status, body = fetch(f"{server.url}/healthz")
        health = json.loads(body)
        assert (status, health["status"]) == (200, "degraded")
        assert [entry["asset"] for entry in health["unavailable"]] == ["btc-usd"]
        assert server.process.poll() is None


def test_a_grid_linked_to_a_file_outside_the_model_directory_reaches_no_answer(copy, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:the operator's secret line\n" * 50)
    digest = hashlib.sha256(secret.read_bytes()).hexdigest()
    (copy / "btc-usd" / GRID).unlink()
    (copy / "btc-usd" / GRID).symlink_to(secret)
    with serve(copy, tmp_path) as server:
        answers = {route: fetch(server.url + route) for route in ROUTES}
        eth = fetch(f"{server.url}/forecast/eth-usd?date=2026-07-01")
    assert answers["/bitcoin?date=2026-07-20"][0] == 503
    assert "btc-usd/grid.npy: is a symbolic link" in answers["/bitcoin?date=2026-07-20"][1]
    assert eth[0] == 200
    for route, (_, body) in answers.items():
        assert "secret" not in body, route
        assert str(secret) not in body, route
        assert not any(digest[i : i + 8] in body for i in range(0, 57, 8)), route


def test_a_grid_linked_even_to_its_own_bytes_is_refused(copy, tmp_path):
    """The manifest's digest matches what the link leads to: the link itself is refused."""
    moved = tmp_path / "grid-elsewhere.npy"
    (copy / "btc-usd" / GRID).rename(moved)
    (copy / "btc-usd" / GRID).symlink_to(moved)
    with serve(copy, tmp_path) as server:
        status, body = fetch(f"{server.url}/bitcoin?date=2026-07-20")
    assert status == 503
    assert "btc-usd/grid.npy: is a symbolic link" in body
