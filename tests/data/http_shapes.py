"""Answers shaped like the real Alpaca and Binance APIs, built from real snapshot rows."""

from __future__ import annotations

import pandas as pd

ALPACA_BARS_URL = "https://data.alpaca.markets/v1beta3/crypto/us/bars"
BINANCE_KLINES_URL = "https://api.binance.com/api/v3/klines"
BINANCE_DATA_KLINES_URL = "https://data-api.binance.vision/api/v3/klines"
HTML_ERROR_PAGE = (
    "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
    "<body><h1>Bad Gateway</h1></body></html>"
)


def alpaca_bars(frame: pd.DataFrame, symbol: str = "BTC/USD", token: str | None = None) -> dict:
    bars = [
        {
            "t": row.timestamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "o": row.open,
            "h": row.high,
            "l": row.low,
            "c": row.close,
            "v": row.volume,
            "n": 100,
            "vw": (row.high + row.low + row.close) / 3,
        }
        for row in frame.itertuples()
    ]
    return {"bars": {symbol: bars} if bars else {}, "next_page_token": token}


def binance_klines(frame: pd.DataFrame) -> list[list]:
    hour_ms = 3_600_000
    return [
        [
            int(row.timestamp.value // 1_000_000),
            f"{row.open:.8f}",
            f"{row.high:.8f}",
            f"{row.low:.8f}",
            f"{row.close:.8f}",
            f"{row.volume:.8f}",
            int(row.timestamp.value // 1_000_000) + hour_ms - 1,
            f"{row.volume * row.close:.8f}",
            1234,
            f"{row.volume / 2:.8f}",
            f"{row.volume * row.close / 2:.8f}",
            "0",
        ]
        for row in frame.itertuples()
    ]
