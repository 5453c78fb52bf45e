"""The `RELEASE_ASSETS` repository variable, checked before it becomes the image's `ASSETS`."""

from __future__ import annotations

import re

# The release's default: BTC/USD and ETH/USD (from Alpaca) and the 200 spot pairs most traded
# against USDT on Binance, ranked when the image trains (`top:N`, cryptopredict/data/binance.py).
# The product's own default (`make run`, offline) stays the two embedded pairs.
DEFAULT_ASSETS = "top:200"
_SLUG = re.compile(r"[a-z0-9]+-[a-z0-9]+")
_TOP = re.compile(r"top:[1-9][0-9]{0,3}")


def release_assets(text: str) -> str:
    """`text` as the canonical list of pairs (DEFAULT_ASSETS when blank); ValueError otherwise."""
    if not text.strip():
        return DEFAULT_ASSETS
    names = [part.strip().lower() for part in text.split(",")]
    wrong = [name for name in names if not (_SLUG.fullmatch(name) or _TOP.fullmatch(name))]
    if wrong:
        raise ValueError(
            f"RELEASE_ASSETS holds {', '.join(map(repr, wrong))}: expected comma-separated pairs "
            "named <base>-<quote>, such as btc-usd,eth-usd,sol-usd, or top:N (top:200: BTC/USD, "
            "ETH/USD and the 200 pairs most traded against USDT on Binance)"
        )
    if sum(bool(_TOP.fullmatch(name)) for name in names) > 1:
        raise ValueError(f"RELEASE_ASSETS holds more than one top:N: {text.strip()!r}")
    return ",".join(dict.fromkeys(names))
