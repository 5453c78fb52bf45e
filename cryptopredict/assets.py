"""The assets the pipeline knows, and each one's symbol at every source."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Asset:
    slug: str
    symbol: str
    alpaca_symbol: str
    binance_symbol: str


ASSETS: dict[str, Asset] = {
    asset.slug: asset
    for asset in (
        Asset(slug="btc-usd", symbol="BTC/USD", alpaca_symbol="BTC/USD", binance_symbol="BTCUSDT"),
        Asset(slug="eth-usd", symbol="ETH/USD", alpaca_symbol="ETH/USD", binance_symbol="ETHUSDT"),
    )
}


class UnknownAssetError(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


def asset_for_symbol(symbol: str) -> Asset:
    wanted = symbol.strip().upper()
    for asset in ASSETS.values():
        if wanted in {asset.symbol, asset.slug.upper()}:
            return asset
    known = ", ".join(asset.symbol for asset in ASSETS.values())
    raise UnknownAssetError(f"unknown symbol {symbol!r}; known: {known}")
