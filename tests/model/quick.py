"""A training small enough to run in seconds, and histories made from given prices."""

from __future__ import annotations

import pandas as pd

from cryptopredict.artifact.schema import ModelConfig
from cryptopredict.assets import ASSETS
from cryptopredict.candles import Interval
from cryptopredict.config import Gate, HistorySettings
from cryptopredict.data.frame import Bars
from cryptopredict.data.history import History
from cryptopredict.data.validation import validate
from cryptopredict.model.plan import Plan
from cryptopredict.training.tasks import PairJob

# Small enough to train in seconds, large enough for a real backtest: validation origins to
# choose the band on, and evaluation origins with calibrated bands; the panel's damping, tau 0.
QUICK_CONFIG = ModelConfig().with_changes(window_days=30, damping_hours=0.0)
QUICK_PLAN = Plan(
    min_training=pd.Timedelta(days=30),
    step=pd.Timedelta(days=2, hours=5),
    evaluation_span=pd.Timedelta(days=30),
)


def quick_job(history: History, **changes) -> PairJob:
    base = {
        "asset": ASSETS["btc-usd"],
        "bars": history,
        "config": QUICK_CONFIG,
        "horizon_days": 20,
        "gate": Gate(),
        "plan": QUICK_PLAN,
    }
    return PairJob(**{**base, **changes})


def history_from_prices(
    prices: pd.Series, source: str = "test", symbol: str = "BTC/USD"
) -> History:
    """A validated hourly History whose every bar opens and closes at the given prices."""
    stamps = pd.date_range("2025-01-01", periods=len(prices), freq="h", tz="UTC", unit="ns")
    close = prices.to_numpy()
    frame = pd.DataFrame(
        {
            "timestamp": stamps,
            "open": close,
            "high": close * 1.001,
            "low": close * 0.999,
            "close": close,
            "volume": 1.0,
        }
    )
    bars, report = validate(Bars(frame, symbol, Interval.parse("1h"), source), HistorySettings())
    return History(bars, report, ())
