"""The reference the candle core (`cryptopredict.candles`) is checked against: candles built by
pandas' resample, written independently of it."""

from __future__ import annotations

import pandas as pd


def pandas_candles(bars: pd.DataFrame, rule: str, per_candle: int, **options) -> pd.DataFrame:
    """Candles of `bars` (open, high, low, close, volume and each bar's vwap, indexed by the
    naive UTC open time) at pandas' `rule`, with VWAP, its fallback, and `complete`."""
    frame = bars.assign(notional=bars["vwap"] * bars["volume"], bars=1)
    candles = frame.resample(rule, **options).agg(
        {
            "open": "first",
            "high": "max",
            "low": "min",
            "close": "last",
            "volume": "sum",
            "notional": "sum",
            "vwap": "mean",
            "bars": "sum",
        }
    )
    candles = candles[candles["bars"] > 0]
    traded = candles["volume"] > 0
    candles["vwap"] = (candles["notional"] / candles["volume"]).where(traded, candles["vwap"])
    candles["complete"] = candles["bars"] == per_candle
    return candles
