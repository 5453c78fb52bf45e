"""Hourly bars for the data layer's tests."""

from __future__ import annotations

from cryptopredict.candles import Interval

HOUR = Interval.parse("1h")
