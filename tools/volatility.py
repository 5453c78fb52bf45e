"""Realized volatility at one moment, for the notebook's volatility chart (train.ipynb)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cryptopredict.model.forecasters import window


def realized_volatility(history: pd.DataFrame, days: int = 30) -> float:
    """The standard deviation of log returns per bar over the last `days` of `history`."""
    returns = np.diff(np.log(window(history, days)["y"].to_numpy()))
    if len(returns) < 2:
        raise ValueError(f"need at least three bars in the last {days} days to measure volatility")
    return float(returns.std(ddof=1))
