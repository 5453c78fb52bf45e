"""Pairs by name: the naming convention, its exceptions in pairs.toml, and offline training."""

from __future__ import annotations

import pytest

from cryptopredict.assets import (
    ASSETS,
    UnknownPairError,
    asset_for_symbol,
    configured_assets,
    read_pairs_file,
    slug_for_binance,
)
from cryptopredict.candles import Interval
from cryptopredict.config import Pairs
from cryptopredict.data.snapshot import SnapshotSource


@pytest.mark.parametrize(
    ("name", "symbol", "alpaca", "binance"),
    [
        ("btc-usd", "BTC/USD", "BTC/USD", "BTCUSDT"),
        ("sol-usd", "SOL/USD", "SOL/USD", "SOLUSDT"),
        ("DOGE/USD", "DOGE/USD", "DOGE/USD", "DOGEUSDT"),
        ("link-usdt", "LINK/USDT", "LINK/USDT", "LINKUSDT"),
        ("1000pepe-usdt", "1000PEPE/USDT", "1000PEPE/USDT", "1000PEPEUSDT"),
        ("eth-btc", "ETH/BTC", "ETH/BTC", "ETHBTC"),
    ],
)
def test_any_pair_is_named_at_every_source_by_convention(name, symbol, alpaca, binance):
    pair = asset_for_symbol(name)
    assert (pair.symbol, pair.alpaca_symbol, pair.binance_symbol) == (symbol, alpaca, binance)
    assert pair.interval == "1h"


def test_the_pairs_file_holds_theread_pairs_file():
    assert asset_for_symbol("eth-usd").interval == "1d", "ETH's embedded history is daily"
    assert asset_for_symbol("matic-usd").binance_symbol == "POLUSDT", "renamed at Binance"
    assert asset_for_symbol("matic-usd").alpaca_symbol == "MATIC/USD"


@pytest.mark.parametrize("slug", sorted(ASSETS))
def test_every_default_pair_can_train_offline_at_its_own_interval(slug):
    asset = ASSETS[slug]
    held = [interval for interval, _ in SnapshotSource().files(asset)]
    assert Interval.parse(asset.interval) in held


def test_every_pair_the_snapshot_holds_is_named_back_by_its_slug():
    snapshot = SnapshotSource()
    symbols = snapshot.pairs()
    assert len(symbols) == 16
    for symbol in symbols:
        assert asset_for_symbol(slug_for_binance(symbol)).binance_symbol == symbol
    assert slug_for_binance("SOLUSDT") == "sol-usdt"  # as Binance names it: USDT, not USD
    assert slug_for_binance("1000PEPEUSDT") == "1000pepe-usdt"
    assert slug_for_binance("ETHBTC") == "eth-btc"
    assert snapshot.own_pairs() == ["btc-usd", "eth-usd"]


def test_the_embedded_pairs_are_listed_by_the_name_that_trains_and_serves_them():
    """Issue 56: listed `sol-usd` while `sol-usdt` was what trained and served. BTCUSDT and
    ETHUSDT are what btc-usd and eth-usd, which have files of their own, read at Binance."""
    slugs = SnapshotSource().slugs()
    assert len(slugs) == 16
    assert slugs[:3] == ["btc-usd", "eth-usd", "ada-usdt"]
    assert "sol-usdt" in slugs
    assert not {"sol-usd", "btc-usdt", "eth-usdt"} & set(slugs)
    assert [asset_for_symbol(slug).slug for slug in slugs] == slugs  # typed as listed


def test_the_configured_list_takes_slugs_or_symbols_once_each_in_order():
    chosen = configured_assets(" eth-usd, BTC/USD ,eth-usd,sol-usd")
    assert [asset.slug for asset in chosen] == ["eth-usd", "btc-usd", "sol-usd"]


def test_the_default_configuration_is_btc_and_eth():
    assert [asset.slug for asset in configured_assets(Pairs().assets)] == ["btc-usd", "eth-usd"]


@pytest.mark.parametrize(
    ("names", "message"),
    [
        ("btc-usd,doge", r"'doge' is not a pair: name it <base>-<quote>, e\.g\. sol-usd"),
        ("btc_usd", r"'btc_usd' is not a pair"),
        ("sol-usd-x", r"'sol-usd-x' is not a pair"),
        (" , ", "no asset is configured"),
    ],
)
def test_a_bad_configuration_is_named(names, message):
    with pytest.raises(UnknownPairError, match=message):
        configured_assets(names)


def test_symbols_are_matched_without_regard_to_case():
    assert asset_for_symbol("eth/usd") == ASSETS["eth-usd"]
    assert asset_for_symbol("Sol-USD") == asset_for_symbol("sol-usd")


def test_a_misspelt_key_in_the_pairs_file_is_named(tmp_path):
    bad = tmp_path / "pairs.toml"
    bad.write_text('[pairs.eth-usd]\nintreval = "1d"\n')
    with pytest.raises(ValueError, match=r"unknown field `intreval` - at `\$.pairs\[...\]`"):
        read_pairs_file(bad)
    intervals = {entry.interval for entry in read_pairs_file().pairs.values()}
    assert all(Interval.parse(each) for each in intervals - {None})
