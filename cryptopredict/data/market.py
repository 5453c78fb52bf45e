"""`top:N`: the N spot pairs against USDT most traded on Binance by 24-hour quote volume, from
Binance's own listing, leaving out (each with why, docs/model.md) stablecoins and fiat money
(named in `pairs.toml`, or trading within `PEG_BAND` of 1 USDT), leveraged tokens, and bases no
slug can spell; named `<base>-usdt`, most traded first.
"""

from __future__ import annotations

import re
from typing import Any

from cryptopredict.artifact.run import LeftOut, MarketRanking, RankedPair
from cryptopredict.assets import read_pairs_file
from cryptopredict.config import HistorySettings
from cryptopredict.data.binance import BinanceSource
from cryptopredict.data.errors import SourceError
from cryptopredict.utc import utc_datetime

QUOTE = "USDT"
PEG_BAND = 0.01  # a high and low within 1% of 1 USDT: a dollar stablecoin
LEVERAGED = re.compile(r"^(?P<stem>[A-Z0-9]*?)(UP|DOWN|BULL|BEAR)$")
_BASE = re.compile(r"[A-Z0-9]+", re.ASCII)


BY = "24-hour quote volume of the spot pairs against USDT on Binance"


def top_pairs(count: int, settings: HistorySettings) -> MarketRanking:
    """The `count` most traded USDT spot pairs on Binance now; SourceError."""
    info, tickers = BinanceSource(settings).market()
    return rank_pairs(info, tickers, count)


def rank_pairs(info: dict[str, Any], tickers: list[Any], count: int) -> MarketRanking:
    """`count` pairs ranked from an exchange-information answer and a 24-hour ticker answer."""
    symbols = [entry for entry in info["symbols"] if isinstance(entry, dict)]
    bases = {str(entry.get("baseAsset", "")) for entry in symbols}
    listed = {
        entry["symbol"]: str(entry.get("baseAsset", ""))
        for entry in symbols
        if entry.get("quoteAsset") == QUOTE
        and entry.get("status") == "TRADING"
        and entry.get("isSpotTradingAllowed", True)
    }
    stablecoins = frozenset(name.upper() for name in read_pairs_file().top.stablecoins)
    eligible: list[tuple[float, str, str]] = []
    excluded: list[LeftOut] = []
    as_of = 0
    for ticker in tickers:
        symbol = ticker.get("symbol") if isinstance(ticker, dict) else None
        if not isinstance(symbol, str) or symbol not in listed:
            continue
        volume = _number(ticker, "quoteVolume")
        as_of = max(as_of, int(_number(ticker, "closeTime")) // 1000)
        why = _why_not(listed[symbol], ticker, bases, stablecoins)
        if why is not None:
            excluded.append(LeftOut(symbol=symbol, quote_volume=volume, why=why))
        elif volume > 0:
            eligible.append((-volume, symbol, listed[symbol]))
    chosen = sorted(eligible)[:count]
    pairs = tuple(
        RankedPair(
            asset=f"{base.lower()}-{QUOTE.lower()}", symbol=symbol, rank=rank, quote_volume=-neg
        )
        for rank, (neg, symbol, base) in enumerate(chosen, start=1)
    )
    floor = pairs[-1].quote_volume if len(pairs) == count else 0.0
    left_out = tuple(
        sorted(
            (out for out in excluded if out.quote_volume >= floor and out.quote_volume > 0),
            key=lambda out: (-out.quote_volume, out.symbol),
        )
    )
    return MarketRanking(
        asked=count, as_of=utc_datetime(as_of), by=BY, pairs=pairs, left_out=left_out
    )


def _why_not(
    base: str, ticker: dict[str, Any], bases: set[str], stablecoins: frozenset[str]
) -> str | None:
    if not _BASE.fullmatch(base):
        return f"its base {base!r} cannot be spelt in a slug ([a-z0-9])"
    if base in stablecoins:
        return f"{base} is a stablecoin or fiat money ([top] stablecoins in pairs.toml)"
    leveraged = LEVERAGED.fullmatch(base)
    if leveraged and (leveraged["stem"] == "" or leveraged["stem"] in bases):
        return f"{base} is a leveraged token"
    high, low = _number(ticker, "highPrice"), _number(ticker, "lowPrice")
    if 1 - PEG_BAND <= low <= high <= 1 + PEG_BAND:
        return (
            f"{base} trades as a dollar stablecoin (24-hour low {low:g}, high {high:g} USDT, "
            f"within {PEG_BAND:.0%} of 1)"
        )
    return None


def _number(ticker: dict[str, Any], name: str) -> float:
    try:
        return float(ticker[name])
    except (KeyError, TypeError, ValueError):
        raise SourceError(
            "binance", f"a 24-hour ticker has no number {name}: {str(ticker)[:200]}"
        ) from None
