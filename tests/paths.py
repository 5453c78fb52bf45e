"""Where the tests find the project's own files."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The embedded real minute sample (Binance BTCUSDT, 43,199 minutes; data/PROVENANCE.md).
MINUTE_SAMPLE = ROOT / "data" / "btc-usd-1m.csv.gz"
