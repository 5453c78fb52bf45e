"""Pairs by name: a slug `<base>-<quote>` (`sol-usd`, `1000pepe-usdt`) is a pair at every source
by convention (Binance BASEQUOTE, a `usd` quote meaning USDT there; Alpaca BASE/QUOTE; hourly
bars), with the exceptions in `cryptopredict/pairs.toml`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import msgspec

from cryptopredict.artifact.schema import SLUG_PATTERN
from cryptopredict.config import Pairs

PAIRS_FILE = Path(__file__).with_name("pairs.toml")
SLUG = re.compile(SLUG_PATTERN)
DEFAULT_INTERVAL = "1h"
# Quote currencies Binance symbols end with, beyond those the pairs file names.
BINANCE_QUOTES = ("USDT", "USDC", "FDUSD", "BTC", "ETH", "BNB", "EUR", "TRY")


@dataclass(frozen=True)
class Asset:
    slug: str
    symbol: str
    alpaca_symbol: str
    binance_symbol: str
    interval: str  # its bars', unless `train.py --interval` says otherwise


class UnknownPairError(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


def asset_for_symbol(name: str) -> Asset:
    """The pair named by a slug (`sol-usd`) or a symbol (`SOL/USD`), in any case."""
    wanted = name.strip().lower().replace("/", "-")
    if not SLUG.fullmatch(wanted):
        raise UnknownPairError(
            f"{name!r} is not a pair: name it <base>-<quote>, e.g. sol-usd, link-usdt or "
            "1000pepe-usdt (or BASE/QUOTE, e.g. SOL/USD)"
        )
    return _pair(wanted)


@cache
def _pair(slug: str) -> Asset:
    base, quote = slug.split("-")
    rules = read_pairs_file()
    named = rules.quotes.get(quote, _Names())
    own = rules.pairs.get(slug, _Pair())
    return Asset(
        slug=slug,
        symbol=f"{base.upper()}/{quote.upper()}",
        alpaca_symbol=own.alpaca or f"{base.upper()}/{(named.alpaca or quote).upper()}",
        binance_symbol=own.binance or f"{base.upper()}{(named.binance or quote).upper()}",
        interval=own.interval or DEFAULT_INTERVAL,
    )


class _Names(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    binance: str | None = None
    alpaca: str | None = None


class _Pair(_Names, frozen=True, forbid_unknown_fields=True):
    interval: str | None = None


class _Top(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    stablecoins: tuple[str, ...] = ()  # base assets `top:N` leaves out


class PairsFile(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    quotes: dict[str, _Names] = {}
    pairs: dict[str, _Pair] = {}
    top: _Top = _Top()


@cache
def read_pairs_file(path: Path = PAIRS_FILE) -> PairsFile:
    try:
        return msgspec.toml.decode(path.read_bytes(), type=PairsFile)
    except msgspec.ValidationError as error:
        raise ValueError(f"{path}: {error}") from None


def configured_assets(names: str) -> list[Asset]:
    """The pairs named in a comma-separated list of slugs or symbols (the `ASSETS` setting)."""
    chosen = [asset_for_symbol(name) for name in names.split(",") if name.strip()]
    if not chosen:
        raise UnknownPairError("no asset is configured; set ASSETS to e.g. btc-usd,eth-usd")
    return list(dict.fromkeys(chosen))


BITCOIN = "btc-usd"  # behind `/bitcoin`, the default asset served, and trained first
TOP = re.compile(r"top:(?P<count>[0-9]+)")
# What `top:N` trains beside the N pairs it ranks: the product's own pairs, from Alpaca.
TOP_ALSO = (BITCOIN, "eth-usd")


@dataclass(frozen=True)
class PairsSetting:
    """The `ASSETS` setting read: the pairs it names, and N of `top:N`."""

    named: tuple[Asset, ...]
    top: int | None = None


def pairs_setting(text: str) -> PairsSetting:
    """`text` (comma-separated slugs or symbols, at most one `top:N`); UnknownPairError."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    tops = [found for part in parts if (found := TOP.fullmatch(part.lower()))]
    if len(tops) > 1 or (tops and int(tops[0]["count"]) < 1):
        raise UnknownPairError(
            f"ASSETS may hold one top:N with N at least 1 (top:200: the 200 pairs most traded "
            f"on Binance), not {', '.join(found.group() for found in tops)}"
        )
    named = [*TOP_ALSO] if tops else []
    named += [part for part in parts if not TOP.fullmatch(part.lower())]
    top = int(tops[0]["count"]) if tops else None
    return PairsSetting(tuple(configured_assets(",".join(named))), top)


def slug_for_binance(symbol: str) -> str:
    """The slug of a Binance symbol, its quote as Binance names it (`SOLUSDT`: `sol-usdt`)."""
    upper = symbol.strip().upper()
    quotes = {(named.binance or quote).upper() for quote, named in read_pairs_file().quotes.items()}
    for code in sorted({*quotes, *BINANCE_QUOTES}, key=len, reverse=True):
        if upper.endswith(code) and len(upper) > len(code):
            return f"{upper.removesuffix(code).lower()}-{code.lower()}"
    raise UnknownPairError(f"cannot tell the quote currency of the Binance symbol {symbol!r}")


ASSETS: dict[str, Asset] = {asset.slug: asset for asset in configured_assets(Pairs().assets)}
