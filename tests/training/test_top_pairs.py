"""`train.py --all` with `ASSETS=top:N`: the market ranked on a worker against a local server
speaking Binance's shapes (the market recorded on 2024-03-10), the pairs trained from a file of
their real bars, `run.json` recording what trained and what failed with why, and the
release's rule on failures (`--tolerate`)."""

from __future__ import annotations

import gzip
import json

import pytest

from cryptopredict.artifact.run import read_run
from cryptopredict.data.snapshot import SnapshotSource
from cryptopredict.training.cli import main, verdict
from tests.data.binance_market import binance_market

# What training does around a fit is tested here, on the session's cluster with a stand-in for
# Prophet (tests/stand_in.py); the fit's numerics are tests/model's.
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("stand_in_fit")]


@pytest.fixture
def two_pairs_csv(tmp_path):
    """A month of real hourly BTCUSDT and ETHUSDT bars, and the same rows as BTC/USD and ETH/USD
    (the pairs top:N names, which Alpaca serves: here stand-ins, since a pair is read only in its
    own quote); WLDUSDT, third that day, is not in it."""
    rows = gzip.decompress(
        (SnapshotSource().data_dir / "binance-spot-16pairs-1h.csv.gz").read_bytes()
    )
    header, *lines = rows.decode().splitlines()
    kept = [line for line in lines if line.startswith(("BTCUSDT,2026-04", "ETHUSDT,2026-04"))]
    kept += [line.replace("USDT,", "/USD,", 1) for line in kept]
    path = tmp_path / "pairs.csv"
    path.write_text("\n".join([header, *kept]) + "\n")
    return path


def test_top_n_ranks_on_a_worker_trains_the_pairs_and_records_the_run(
    two_pairs_csv, tmp_path, monkeypatch, caplog
):
    out = tmp_path / "out"
    with binance_market() as (url, market):
        monkeypatch.setenv("BINANCE_API_URL", url)
        monkeypatch.setenv("ASSETS", "top:3")
        monkeypatch.setenv("TRAIN_WORKERS", "1")
        monkeypatch.setenv("MODEL_VERSION", "9.9.9")
        arguments = ["--all", "--csv", str(two_pairs_csv), "--no-backtest", "--out", str(out)]
        # 5 pairs: btc-usd, eth-usd (named by top:N), btc-usdt, eth-usdt, wld-usdt (ranked).
        assert main([*arguments, "--tolerate", "0.2"]) == 0
    assert market.requests == ["/api/v3/exchangeInfo", "/api/v3/ticker/24hr"]
    run = read_run(out)
    assert run is not None
    assert run.asked == "top:3"
    assert run.model_version == "9.9.9"
    assert run.trained == ("btc-usd", "eth-usd", "btc-usdt", "eth-usdt")
    assert [failed.asset for failed in run.failed] == ["wld-usdt"]
    assert "pairs.csv holds no bars of WLD-USDT or WLD/USDT or WLDUSDT" in run.failed[0].reason
    assert str(tmp_path) not in run.failed[0].reason  # no path of the machine it trained on
    assert run.ranking is not None
    assert [pair.asset for pair in run.ranking.pairs] == ["btc-usdt", "eth-usdt", "wld-usdt"]
    assert run.ranking.left_out[0].symbol == "FDUSDUSDT"
    for slug in run.trained:
        assert json.loads((out / slug / "manifest.json").read_text())["asset"] == slug
    assert not (out / "wld-usdt").exists()
    assert "1 of 5 pairs failed, within the 0.2 --tolerate allows" in caplog.text


def test_an_exchange_that_cannot_be_asked_trains_nothing(tmp_path, monkeypatch, caplog):
    with binance_market(ticker={"code": -1, "msg": "no"}) as (url, _):
        monkeypatch.setenv("BINANCE_API_URL", url)
        monkeypatch.setenv("ASSETS", "top:3")
        monkeypatch.setenv("TRAIN_WORKERS", "1")
        assert main(["--all", "--no-backtest", "--out", str(tmp_path / "out")]) == 2
    assert "top:3: the market could not be ranked" in caplog.text
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("failed", "tolerate", "status"),
    [
        ({}, 0.0, 0),
        ({"sol-usdt": "x"}, 0.0, 1),  # the default: any failure fails
        ({"sol-usdt": "x"}, 0.1, 0),  # 1 of 10: a tenth
        ({"sol-usdt": "x", "xrp-usdt": "y"}, 0.1, 1),  # 2 of 10: more than a tenth
    ],
)
def test_a_run_fails_on_more_failures_than_it_tolerates(failed, tolerate, status):
    slugs = ["btc-usd", "eth-usd", *(f"pair{n}-usdt" for n in range(6)), "sol-usdt", "xrp-usdt"]
    assert verdict(failed, slugs, tolerate) == status


def test_a_source_that_fails_costs_only_its_pairs(two_pairs_csv, tmp_path, monkeypatch, caplog):
    """Issue 112: Binance cannot rank and its pairs cannot be read; the previous release's
    ranking stands, saying why, its Binance pairs' models are served again, each with its
    age, and the other pairs train: the release goes on. Issue 119: BTC/USD, unread, is carried
    as any pair is (the release's `--tolerate 1`), and a run with no pair new fails."""
    monkeypatch.setenv("ASSETS", "top:3")
    monkeypatch.setenv("TRAIN_WORKERS", "1")
    monkeypatch.setenv("MODEL_VERSION", "9.9.9")
    previous, out, usd = tmp_path / "previous", tmp_path / "out", tmp_path / "usd.csv"
    arguments = ["--all", "--no-backtest", "--tolerate", "1"]  # the Dockerfile's
    with binance_market() as (url, _):
        monkeypatch.setenv("BINANCE_API_URL", url)
        assert main([*arguments, "--csv", str(two_pairs_csv), "--out", str(previous)]) == 0
    lines = two_pairs_csv.read_text().splitlines()
    usd.write_text("\n".join(line for line in lines if not line.startswith(("BTC", "ETHUSDT"))))
    monkeypatch.setenv("MODEL_VERSION", "9.9.10")
    with binance_market(ticker={"code": -1, "msg": "no"}) as (url, _):
        monkeypatch.setenv("BINANCE_API_URL", url)
        asked = [*arguments, "--csv", str(usd), "--out", str(out), "--previous", str(previous)]
        assert main(asked) == 0
    run = read_run(out)
    assert run is not None
    assert run.ranking is not None
    assert ", the previous release's (the market could not be ranked: binance: " in run.ranking.by
    assert (run.trained, [failed.asset for failed in run.failed]) == (
        ("eth-usd",),
        ["wld-usdt"],  # the previous release had none to serve again
    )
    assert {kept.asset for kept in run.carried} == {"btc-usd", "btc-usdt", "eth-usdt"}
    said = "; the previous release's model (9.9.9) is served, its data until 2026-05-01T00:00:00Z, "
    assert all(said in kept.reason for kept in run.carried)
    assert json.loads((out / "btc-usd" / "manifest.json").read_text())["model_version"] == "9.9.9"
    usd.write_text(lines[0] + "\n")  # no pair read at all: every one carried, none new
    with binance_market(ticker={"code": -1, "msg": "no"}) as (url, _):
        monkeypatch.setenv("BINANCE_API_URL", url)
        again = [*arguments, "--csv", str(usd), "--out", str(tmp_path / "again")]
        assert main([*again, "--previous", str(previous)]) == 1
    assert "no pair trained: failing" in caplog.text
