"""The asset registry: symbols at every source, the configured list, and offline training."""

from __future__ import annotations

import pytest

from cryptopredict.assets import ASSETS, UnknownAssetError, asset_for_symbol, configured_assets
from cryptopredict.candles import Interval
from cryptopredict.config import Settings
from cryptopredict.data.snapshot import SnapshotSource


def test_each_asset_names_its_symbol_at_every_source():
    eth = ASSETS["eth-usd"]
    assert (eth.symbol, eth.alpaca_symbol, eth.binance_symbol) == ("ETH/USD", "ETH/USD", "ETHUSDT")
    btc = ASSETS["btc-usd"]
    assert (btc.symbol, btc.alpaca_symbol, btc.binance_symbol) == ("BTC/USD", "BTC/USD", "BTCUSDT")


@pytest.mark.parametrize("slug", sorted(ASSETS))
def test_every_asset_can_train_offline_at_its_own_interval(slug):
    asset = ASSETS[slug]
    assert Interval.parse(asset.interval) in SnapshotSource().intervals(slug)


def test_the_configured_list_takes_slugs_or_symbols_once_each_in_order():
    chosen = configured_assets(" eth-usd, BTC/USD ,eth-usd,")
    assert [asset.slug for asset in chosen] == ["eth-usd", "btc-usd"]


def test_the_default_configuration_is_every_asset_with_data():
    assert [asset.slug for asset in configured_assets(Settings().assets)] == ["btc-usd", "eth-usd"]


@pytest.mark.parametrize(
    ("names", "message"),
    [
        ("btc-usd,doge-usd", "unknown symbol 'doge-usd'; known: BTC/USD, ETH/USD"),
        (" , ", "no asset is configured"),
    ],
)
def test_a_bad_configuration_is_named(names, message):
    with pytest.raises(UnknownAssetError, match=message):
        configured_assets(names)


def test_symbols_are_matched_without_regard_to_case():
    assert asset_for_symbol("eth/usd") is ASSETS["eth-usd"]
