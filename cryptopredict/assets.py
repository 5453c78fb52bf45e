"""Pairs by name: a slug `<base>-<quote>` (`sol-usd`, `doge-usd`, `link-usdt`, `1000pepe-usdt`)
is a pair at every source by convention, with the exceptions in `cryptopredict/pairs.toml`.

By convention a pair's Binance symbol is BASEQUOTE in capitals (a `usd` quote meaning USDT there),
its Alpaca symbol BASE/QUOTE, and it trains on hourly bars. Whether a source really lists the pair
is only known when it is asked: a pair no source knows fails at its fetch, naming the pair.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

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
    # The bars it is trained on unless told otherwise (`train.py --interval`).
    interval: str


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
    named = rules.get("quotes", {}).get(quote, {})
    binance_quote = named.get("binance", quote).upper()
    alpaca_quote = named.get("alpaca", quote).upper()
    own = rules.get("pairs", {}).get(slug, {})
    return Asset(
        slug=slug,
        symbol=f"{base.upper()}/{quote.upper()}",
        alpaca_symbol=own.get("alpaca", f"{base.upper()}/{alpaca_quote}"),
        binance_symbol=own.get("binance", f"{base.upper()}{binance_quote}"),
        interval=own.get("interval", DEFAULT_INTERVAL),
    )


@cache
def read_pairs_file(path: Path = PAIRS_FILE) -> dict[str, Any]:
    """The pairs file, checked: a misspelt key would otherwise be silently ignored."""
    with path.open("rb") as file:
        rules = tomllib.load(file)
    allowed = {
        "quotes": {"binance", "alpaca"},
        "pairs": {"binance", "alpaca", "interval"},
    }
    for section, entries in rules.items():
        if section == "top":
            _check_top(path, entries)
            continue
        if section not in allowed:
            raise ValueError(f"{path}: unknown section [{section}]; known: quotes, pairs, top")
        for name, fields in entries.items():
            unknown = set(fields) - allowed[section]
            if unknown:
                raise ValueError(
                    f"{path}: [{section}.{name}] has unknown key(s) {', '.join(sorted(unknown))}; "
                    f"known: {', '.join(sorted(allowed[section]))}"
                )
    return rules


def _check_top(path: Path, entries: dict[str, Any]) -> None:
    """[top]: `stablecoins`, a list of base assets `top:N` leaves out."""
    unknown = set(entries) - {"stablecoins"}
    if unknown:
        raise ValueError(f"{path}: [top] has unknown key(s) {', '.join(sorted(unknown))}")
    names = entries.get("stablecoins", [])
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise ValueError(f'{path}: [top] stablecoins must be a list of names, e.g. ["USDC"]')


def configured_assets(names: str) -> list[Asset]:
    """The pairs named in a comma-separated list of slugs or symbols (the `ASSETS` setting)."""
    chosen = [asset_for_symbol(name) for name in names.split(",") if name.strip()]
    if not chosen:
        raise UnknownPairError("no asset is configured; set ASSETS to e.g. btc-usd,eth-usd")
    return list(dict.fromkeys(chosen))


TOP = re.compile(r"top:(?P<count>[0-9]+)")
# What `top:N` trains beside the N pairs it ranks: the product's own pairs, from Alpaca.
TOP_ALSO = ("btc-usd", "eth-usd")


@dataclass(frozen=True)
class PairsSetting:
    """The `ASSETS` setting read: the pairs it names, and N when it asks for `top:N` (the N
    spot pairs against USDT most traded on Binance, ranked when training starts, after
    BTC/USD and ETH/USD)."""

    named: tuple[Asset, ...]
    top: int | None = None


def pairs_setting(text: str) -> PairsSetting:
    """`text` (comma-separated slugs or symbols, and at most one `top:N`) read; UnknownPairError
    naming what is wrong."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    tops = [found for part in parts if (found := TOP.fullmatch(part.lower()))]
    if len(tops) > 1 or (tops and int(tops[0]["count"]) < 1):
        raise UnknownPairError(
            f"ASSETS may hold one top:N with N at least 1 (top:200: the 200 pairs most traded "
            f"on Binance), not {', '.join(found.group() for found in tops)}"
        )
    names = [part for part in parts if not TOP.fullmatch(part.lower())]
    if not tops:
        return PairsSetting(tuple(configured_assets(",".join(names))))
    named = [*TOP_ALSO, *names]
    return PairsSetting(tuple(configured_assets(",".join(named))), int(tops[0]["count"]))


def slug_for_binance(symbol: str) -> str:
    """The slug of a Binance symbol, its quote currency split off as Binance names it
    (`SOLUSDT` is `sol-usdt`, `1000PEPEUSDT` is `1000pepe-usdt`): the pair listed is the pair
    trained and served under that name."""
    upper = symbol.strip().upper()
    quotes = {
        named.get("binance", quote).upper()
        for quote, named in read_pairs_file().get("quotes", {}).items()
    }
    for code in sorted({*quotes, *BINANCE_QUOTES}, key=len, reverse=True):
        if upper.endswith(code) and len(upper) > len(code):
            return f"{upper.removesuffix(code).lower()}-{code.lower()}"
    raise UnknownPairError(f"cannot tell the quote currency of the Binance symbol {symbol!r}")


# The product's default pairs (the `ASSETS` setting's default), by slug.
ASSETS: dict[str, Asset] = {asset.slug: asset for asset in configured_assets(Pairs().assets)}
