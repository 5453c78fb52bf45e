"""Many pairs: `/assets?q=` searches them; artifacts are listed from the index at start-up and
opened (verified, memory-mapped) on first use; one that cannot be opened answers 503 while the
others are served, and `/healthz` says so."""

from __future__ import annotations

import json
import mmap
import shutil
from pathlib import Path

import numpy as np
import pytest

from cryptopredict.api.app import create_app
from cryptopredict.artifact.arrays import BarHistory
from cryptopredict.artifact.index import INDEX
from cryptopredict.artifact.schema import MANIFEST
from cryptopredict.artifact.store import open_artifacts
from cryptopredict.utc import iso_utc
from tests.api.artifacts import PROPHET_DEPRECATION, every_bar, rewrite

pytestmark = PROPHET_DEPRECATION

# Real artifacts under other names: the ETH/USD model written again as each of these pairs.
PAIRS = {
    "eth-btc": "ETH/BTC",
    "ethfi-usdt": "ETHFI/USDT",
    "weth-usdt": "WETH/USDT",
    "1000pepe-usdt": "1000PEPE/USDT",
    "doge-usd": "DOGE/USD",
    "sol-usdt": "SOL/USDT",
}


@pytest.fixture(scope="session")
def many_dir(artifact_dir, artifacts, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("many")
    for slug in ("btc-usd", "eth-usd"):
        shutil.copytree(artifact_dir / slug, out / slug)
    eth = artifacts["eth-usd"]
    for slug, symbol in PAIRS.items():  # the first also enters the copies in the index
        rewrite(eth, out, manifest={"asset": slug, "symbol": symbol})
    return out


@pytest.fixture
def many(many_dir, settings):
    return create_app(open_artifacts(many_dir), settings).test_client()


def slugs(client, query: str) -> list[str]:
    response = client.get(f"/assets?{query}")
    assert response.status_code == 200, response.get_json()
    return [entry["asset"] for entry in response.get_json()["assets"]]


def test_assets_lists_every_pair_the_index_lists(many, many_dir):
    listed = json.loads((many_dir / INDEX).read_text())["assets"]
    assert sorted(listed) == slugs(many, "") == sorted(["btc-usd", "eth-usd", *PAIRS])


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("eth", ["eth-btc", "eth-usd", "ethfi-usdt", "weth-usdt"]),
        ("ETH/USD", ["eth-usd", "weth-usdt"]),
        ("eth-usd", ["eth-usd", "weth-usdt"]),
        ("btc", ["btc-usd", "eth-btc"]),
        ("usdt", ["1000pepe-usdt", "ethfi-usdt", "sol-usdt", "weth-usdt"]),
        (
            "usd",
            [
                "btc-usd",
                "doge-usd",
                "eth-usd",
                "1000pepe-usdt",
                "ethfi-usdt",
                "sol-usdt",
                "weth-usdt",
            ],
        ),
        ("pepe", ["1000pepe-usdt"]),
        ("1000PEPE/USDT", ["1000pepe-usdt"]),
        ("oge", ["doge-usd"]),
        ("xyz", []),
    ],
)
def test_a_search_finds_pairs_by_slug_symbol_base_or_quote_best_first(many, conforms, q, expected):
    response = many.get("/assets", query_string={"q": q})
    conforms("/assets", response)
    assert [entry["asset"] for entry in response.get_json()["assets"]] == expected


@pytest.mark.parametrize(
    "query",
    ["q=", "q=%20btc", "q=-btc", "q=btc%00", "q=b%C3%A9", f"q={'a' * 33}", "q=btc&q=eth"],
)
def test_a_search_that_cannot_name_a_pair_is_a_400(many, conforms, query):
    response = many.get(f"/assets?{query}")
    assert response.status_code == 400
    conforms("/assets", response)
    assert response.get_json()["error"] == "bad_request"


def damaged_copy(source: Path, tmp_path: Path, slug: str) -> Path:
    copy = tmp_path / "artifacts"
    shutil.copytree(source, copy)
    grid = copy / slug / "grid.npy"
    data = bytearray(grid.read_bytes())
    data[-10] ^= 0xFF
    grid.write_bytes(bytes(data))
    return copy


def test_nothing_is_opened_until_asked_for_and_a_corrupt_pair_answers_503(
    many_dir, tmp_path, settings, conforms
):
    copy = damaged_copy(many_dir, tmp_path, "doge-usd")
    client = create_app(open_artifacts(copy), settings).test_client()
    # Listing, health and the dashboard read the index only: nothing has been verified yet.
    assert "doge-usd" in slugs(client, "q=doge")
    assert client.get("/").status_code == 200
    assert client.get("/healthz").get_json()["status"] == "ok"

    broken = client.get("/forecast/doge-usd?date=2026-07-01")
    assert broken.status_code == 503
    conforms("/forecast/{asset}", broken)
    detail = broken.get_json()["detail"]
    assert broken.get_json()["error"] == "asset_unavailable"
    assert "the doge-usd artifact cannot be served: doge-usd/grid.npy: sha256" in detail
    assert str(copy) not in detail
    for path in ("/candles/doge-usd", "/model/doge-usd", "/forecast/doge-usd/range"):
        assert client.get(path).status_code == 503, path

    assert client.get("/forecast/sol-usdt?date=2026-07-01").status_code == 200
    assert client.get("/bitcoin?date=2026-07-20").status_code == 200
    health = client.get("/healthz")
    conforms("/healthz", health)
    assert health.status_code == 200
    assert health.get_json()["status"] == "degraded"
    assert health.get_json()["unavailable"] == [{"asset": "doge-usd", "detail": detail}]


def test_an_opened_artifact_is_memory_mapped_not_read(many_dir, settings):
    store = open_artifacts(many_dir)
    client = create_app(store, settings).test_client()
    assert client.get("/forecast/weth-usdt?date=2026-07-01").status_code == 200
    artifact = store["weth-usdt"]
    history, grid = artifact.history, artifact.grid_file
    candles = [column.stored for table in history.tables for column in table.columns.values()]
    columns = (grid.time, grid.yhat, grid.band, history.stored_close.stored, *candles)
    for column in (*columns, *(column.stored for column in history.whole.values())):
        assert isinstance(_buffer(column), mmap.mmap)
        assert not column.flags.writeable


def test_only_the_four_pairs_used_last_keep_their_memory(many_dir, settings):
    store = open_artifacts(many_dir)
    client = create_app(store, settings).test_client()
    used = ["weth-usdt", "sol-usdt", "doge-usd", "eth-btc", "ethfi-usdt"]
    for slug in [*used, "sol-usdt"]:
        assert client.get(f"/forecast/{slug}?date=2026-07-01").status_code == 200
    # Opening reads and keeps the backtest; handing the memory back drops it until next asked.
    held = {slug for slug in used if "backtest" in store[slug].__dict__}
    assert held == {"sol-usdt", "doge-usd", "eth-btc", "ethfi-usdt"}


def _buffer(array: np.ndarray) -> object:
    """What `array`'s memory belongs to: the first base that is no array nor a view of one."""
    base: object = array
    while isinstance(base, np.ndarray | memoryview):
        base = base.base if isinstance(base, np.ndarray) else base.obj
    return base


def test_without_an_index_the_pairs_are_listed_from_their_manifests(many_dir, tmp_path, settings):
    copy = tmp_path / "artifacts"
    shutil.copytree(many_dir, copy)
    (copy / INDEX).unlink()
    shutil.rmtree(copy / "weth-usdt")
    client = create_app(open_artifacts(copy), settings).test_client()
    assert slugs(client, "q=usdt") == ["1000pepe-usdt", "ethfi-usdt", "sol-usdt"]


def test_the_index_is_reconciled_with_the_directories_at_start_up(many_dir, tmp_path, settings):
    copy = tmp_path / "artifacts"
    shutil.copytree(many_dir, copy)
    shutil.rmtree(copy / "weth-usdt")  # listed, gone
    index = json.loads((copy / INDEX).read_text())
    del index["assets"]["doge-usd"]  # there, not listed
    (copy / INDEX).write_text(json.dumps(index))
    client = create_app(open_artifacts(copy), settings).test_client()
    assert "weth-usdt" not in slugs(client, "")
    assert "doge-usd" in slugs(client, "")
    assert client.get("/forecast/doge-usd?date=2026-07-01").status_code == 200


def test_a_pair_of_an_older_schema_says_to_retrain_and_the_others_are_served(
    many_dir, tmp_path, settings
):
    copy = tmp_path / "artifacts"
    shutil.copytree(many_dir, copy)
    manifest = json.loads((copy / "sol-usdt" / MANIFEST).read_text())
    manifest["schema_version"] = 3
    (copy / "sol-usdt" / MANIFEST).write_text(json.dumps(manifest))
    (copy / INDEX).unlink()
    client = create_app(open_artifacts(copy), settings).test_client()
    answer = client.get("/forecast/sol-usdt?date=2026-07-01")
    assert answer.status_code == 503
    assert "schema_version 3 is no longer supported" in answer.get_json()["detail"]
    assert "retrain with `python train.py`" in answer.get_json()["detail"]
    assert "sol-usdt" not in slugs(client, "")
    health = client.get("/healthz").get_json()
    assert [entry["asset"] for entry in health["unavailable"]] == ["sol-usdt"]
    assert client.get("/forecast/eth-usd?date=2026-07-01").status_code == 200


@pytest.fixture(scope="session")
def cheap_dir(artifacts, tmp_path_factory) -> Path:
    """ETH/USD's artifact at a 100,000th of its prices: a pair quoted around 0.02."""
    eth = artifacts["eth-usd"]
    scale = 1e-5
    grid = eth.grid
    scaled_grid = type(grid)(
        **{name: grid[name] * (1 if name in ("ds", "origin") else scale) for name in grid.names()}
    )
    history = every_bar(eth)
    scaled_history = BarHistory(
        **{
            name: np.asarray(history[name]) * (1 if name in ("ds", "volume") else scale)
            for name in history.names()
        }
    )
    out = tmp_path_factory.mktemp("cheap")
    manifest = {"asset": "1000bonk-usdt", "symbol": "1000BONK/USDT"}
    return rewrite(eth, out, grid=scaled_grid, history=scaled_history, manifest=manifest)


def test_a_pair_priced_below_one_keeps_six_significant_digits(cheap_dir, settings, conforms):
    client = create_app(open_artifacts(cheap_dir), settings).test_client()
    answer = client.get("/forecast/1000bonk-usdt?date=2026-09-01T12:00:00Z")
    conforms("/forecast/{asset}", answer)
    point = answer.get_json()
    for key in ("prediction", "prediction_low", "prediction_high"):
        value = point[key]
        assert 0.001 < value < 0.1
        digits = f"{value:.10f}".rstrip("0").split(".")[1].lstrip("0")
        assert 4 <= len(digits) <= 6, (key, value)  # six significant digits, trailing zeros cut
    grid = open_artifacts(cheap_dir)["1000bonk-usdt"].grid
    at = int(np.flatnonzero(grid.ds == grid.ds[-1])[0])
    closes = int(grid.ds[at]) + 86_400  # the row of the last daily bar is of its close
    last = client.get(f"/forecast/1000bonk-usdt?date={iso_utc(closes)}").get_json()
    decimals = 5 - int(np.floor(np.log10(grid.lower(80)[at])))
    assert last["prediction_low"] == round(float(grid.lower(80)[at]), decimals)
    series = client.get("/forecast/1000bonk-usdt/range").get_json()
    assert all(value != round(value, 2) for value in series["prediction"])
