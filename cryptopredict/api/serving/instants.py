"""One meaning of an instant, on every route and in every score: the forecast at instant t is
the price at t, the close of the bar that ends at t (a date alone is 00:00 UTC, so on daily bars
the close of the day before).

What training stores is labelled otherwise: a bar, a grid row and a backtest path's point are
labelled by the bar's open time, and the row labelled `ds` forecasts that bar's close, the
price at `ds` + the bar's length. These two functions are the only place the API turns one into
the other.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np

Epoch = TypeVar("Epoch", int, float, np.ndarray)


def closing(opened: Epoch, step: int) -> Epoch:
    """The instant a bar (or a row) labelled by its open time `opened` closes: its price's."""
    return opened + step


def opening(instant: Epoch, step: int) -> Epoch:
    """The label (open time) of the bar that closes at `instant`."""
    return instant - step
