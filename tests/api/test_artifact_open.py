"""Opening an artifact on first use (issue 41): every fault of an artifact is found when it is
opened, answers 503 naming the file and the asset (never 500), and shows in `/healthz`; a file
larger than its manifest allows is refused before it is hashed; one asset slow to open holds up
no other; an artifact that could not be opened is tried again a little later."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np

from cryptopredict.api.app import create_app
from cryptopredict.artifact import store as artifact_store
from cryptopredict.artifact.schema import BACKTEST, GRID, MANIFEST
from cryptopredict.artifact.store import open_artifacts
from cryptopredict.config import ApiSettings
from tests.crafted import resealed

ETH = "/forecast/eth-usd?date=2026-07-01"
BTC_ROUTES = ("/bitcoin?date=2026-07-20", "/forecast/btc-usd?date=2026-07-20", "/model/btc-usd")


def client_of(model_dir: Path):
    return create_app(open_artifacts(model_dir), ApiSettings(model_dir=model_dir)).test_client()


def assert_unavailable(client, detail: str) -> None:
    """Every btc-usd route answers 503 naming `detail`; eth-usd is served; /healthz degraded."""
    for route in BTC_ROUTES:
        answer = client.get(route)
        assert answer.status_code == 503, (route, answer.get_json())
        assert answer.get_json()["error"] == "asset_unavailable"
        assert "the btc-usd artifact cannot be served" in answer.get_json()["detail"]
        assert detail in answer.get_json()["detail"], answer.get_json()["detail"]
    assert client.get(ETH).status_code == 200
    health = client.get("/healthz").get_json()
    assert health["status"] == "degraded"
    assert [entry["asset"] for entry in health["unavailable"]] == ["btc-usd"]


def test_a_sparse_20_gb_grid_is_refused_on_its_size_before_it_is_hashed(copy):
    """Hashed first, it took 85 s (issue 41): its size is checked against what its manifest's
    dates allow, so the answer names the size, not a digest."""
    with (copy / "btc-usd" / GRID).open("r+b") as grid:
        grid.truncate(20 * 10**9)
    assert_unavailable(client_of(copy), "btc-usd/grid.npy: is 20,000,000,000 bytes, more than")


def test_a_corrupt_backtest_with_its_digest_matching_is_a_503(copy):
    backtest = copy / "btc-usd" / BACKTEST
    backtest.write_bytes(backtest.read_bytes()[: len(backtest.read_bytes()) // 2])
    resealed(copy / "btc-usd", BACKTEST)
    assert_unavailable(client_of(copy), "btc-usd/backtest.json: not valid JSON")


def test_a_manifest_nested_100000_deep_is_a_503(copy):
    """json.loads raised RecursionError on every request: a 500 each time."""
    (copy / "btc-usd" / MANIFEST).write_text('{"a":' * 100_000 + "1" + "}" * 100_000)
    assert_unavailable(client_of(copy), "btc-usd/manifest.json: not valid JSON (nested too deep")


def test_a_nan_grid_with_its_digest_matching_is_a_503(copy):
    grid = np.load(copy / "btc-usd" / GRID, mmap_mode="r+")
    grid["yhat"][5] = np.nan
    grid.flush()
    del grid
    resealed(copy / "btc-usd", GRID)
    assert_unavailable(client_of(copy), "btc-usd/grid.npy: yhat holds non-finite")


def test_an_asset_slow_to_open_holds_up_no_other(copy, monkeypatch):
    """One lock per asset: while btc-usd's open is held, eth-usd opens and answers."""
    held, release = threading.Event(), threading.Event()
    opening = artifact_store.open_artifact

    def slow_for_btc(path, **given):
        if path.name == "btc-usd":
            held.set()
            release.wait(timeout=60)
        return opening(path, **given)

    monkeypatch.setattr(artifact_store, "open_artifact", slow_for_btc)
    client = client_of(copy)
    answers: dict[str, int] = {}
    btc = threading.Thread(target=lambda: answers.update(btc=client.get(BTC_ROUTES[0]).status_code))
    btc.start()
    try:
        assert held.wait(timeout=60)
        eth = threading.Thread(target=lambda: answers.update(eth=client.get(ETH).status_code))
        eth.start()
        eth.join(timeout=60)
        assert answers == {"eth": 200}, "eth-usd waited for btc-usd's open"
    finally:
        release.set()
        btc.join(timeout=60)
    assert answers == {"eth": 200, "btc": 200}


def test_an_artifact_restored_after_a_failed_open_is_served_without_a_restart(
    copy, tmp_path, monkeypatch
):
    monkeypatch.setattr(artifact_store, "REOPEN_SECONDS", 0.0)
    client = client_of(copy)
    aside = tmp_path / "aside"
    (copy / "btc-usd").rename(aside)
    assert_unavailable(client, "btc-usd: missing")
    aside.rename(copy / "btc-usd")
    assert client.get(BTC_ROUTES[0]).status_code == 200
    assert client.get("/healthz").get_json()["unavailable"] == []


def test_a_failed_open_is_not_tried_again_before_the_delay(copy, monkeypatch):
    monkeypatch.setattr(artifact_store, "REOPEN_SECONDS", 3600.0)
    tries: list[str] = []
    opening = artifact_store.open_artifact

    def counted(path, **given):
        tries.append(path.name)
        return opening(path, **given)

    monkeypatch.setattr(artifact_store, "open_artifact", counted)
    (copy / "btc-usd" / GRID).unlink()
    client = client_of(copy)
    for _ in range(5):
        assert client.get(BTC_ROUTES[0]).status_code == 503
    assert tries == ["btc-usd"]
    assert json.loads(client.get("/healthz").data)["status"] == "degraded"
