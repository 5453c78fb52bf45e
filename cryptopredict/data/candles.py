"""Candles at any coarser interval that is a whole multiple of the bars' own, with VWAP.

open = first, high = max, low = min, close = last, volume = sum; VWAP is weighted by volume over
each bar's VWAP (its typical price when the source gives none), and is the plain mean when
nothing traded in the whole candle. A candle missing any of its bars (a gap, or the still-running
last period) is flagged incomplete, never passed off as complete.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cryptopredict.data.frame import Bars, bar_vwap
from cryptopredict.data.intervals import Interval


@dataclass(frozen=True)
class Candles:
    bars: Bars
    complete: np.ndarray  # bool per candle: every bar of its period was present

    def complete_only(self) -> Bars:
        return self.bars.with_frame(self.bars.frame[self.complete].reset_index(drop=True))


def aggregate(bars: Bars, interval: Interval | str) -> Candles:
    target = Interval.parse(interval)
    if not target.is_multiple_of(bars.interval):
        raise ValueError(
            f"cannot build {target} candles from {bars.interval} bars: "
            f"{target} is not a whole multiple of {bars.interval}"
        )
    frame = bars.frame
    price = bar_vwap(frame)
    work = pd.DataFrame(
        {
            "bucket": target.floor(frame["timestamp"]),
            "open": frame["open"],
            "high": frame["high"],
            "low": frame["low"],
            "close": frame["close"],
            "volume": frame["volume"],
            "notional": price * frame["volume"],
            "price": price,
        }
    )
    grouped = work.groupby("bucket", sort=True)
    out = grouped.agg(
        open=("open", "first"),
        high=("high", "max"),
        low=("low", "min"),
        close=("close", "last"),
        volume=("volume", "sum"),
        notional=("notional", "sum"),
        mean_price=("price", "mean"),
        count=("open", "size"),
    )
    traded = out["volume"] > 0
    out["vwap"] = (out["notional"] / out["volume"].where(traded)).where(traded, out["mean_price"])
    per_candle = target.delta // bars.interval.delta
    result = out.reset_index().rename(columns={"bucket": "timestamp"})
    columns = ["timestamp", "open", "high", "low", "close", "volume", "vwap"]
    return Candles(
        bars=Bars(result[columns], bars.symbol, target, bars.source),
        complete=(result["count"] == per_candle).to_numpy(),
    )
