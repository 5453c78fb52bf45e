"""The assets the pipeline knows: each one's symbol at every source, and its bar interval.

To add an asset, add a line to ASSETS with its symbols at Alpaca and Binance and the interval
it is trained on by default, and, for offline training, its snapshot as
`data/<slug>-<interval>.csv.gz` (see data/PROVENANCE.md); then name it in the `ASSETS` setting.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Asset:
    slug: str
    symbol: str
    alpaca_symbol: str
    binance_symbol: str
    # The bars it is trained on unless told otherwise: the finest the embedded snapshot holds,
    # so that training works offline too (the live sources serve hourly bars for both).
    interval: str


ASSETS: dict[str, Asset] = {
    asset.slug: asset
    for asset in (
        Asset(
            "btc-usd", "BTC/USD", alpaca_symbol="BTC/USD", binance_symbol="BTCUSDT", interval="1h"
        ),
        Asset(
            "eth-usd", "ETH/USD", alpaca_symbol="ETH/USD", binance_symbol="ETHUSDT", interval="1d"
        ),
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


def configured_assets(names: str) -> list[Asset]:
    """The assets named in a comma-separated list of slugs or symbols (the `ASSETS` setting)."""
    chosen = [asset_for_symbol(name) for name in names.split(",") if name.strip()]
    if not chosen:
        raise UnknownAssetError("no asset is configured; set ASSETS to e.g. btc-usd,eth-usd")
    return list(dict.fromkeys(chosen))
