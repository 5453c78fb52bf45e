"""A forecast from the latest price: where the API has read a price newer than the model's data
end (`LatestPrice`, from `cryptopredict.api.latest`), every instant after it is answered from
that price. The point is the price itself; the band is the band the model issued for the lead
that remains (`Forecast.band_ratios`), around that price: the band conditional on the price at
that instant. Instants up to it, and every instant when no newer price is known, are answered as
the model issued them, anchored at its data's end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cryptopredict.api.serving.forecast import Forecast
from cryptopredict.api.types.forecast import AnchorSource


@dataclass(frozen=True)
class LatestPrice:
    """A price the API read: the instant it is the price of, and where it came from."""

    epoch: int
    price: float
    source: AnchorSource
    detail: str


def anchoring(forecast: Forecast, latest: LatestPrice | None) -> LatestPrice | None:
    """`latest`, if it is newer than the model's data: the price to answer later instants from."""
    return latest if latest is not None and latest.epoch > forecast.data_end else None


def reanchored(forecast: Forecast, latest: LatestPrice, ds: np.ndarray, level: int) -> np.ndarray:
    """Prediction, low and high at each of the instants `ds` (all after `latest`): the price
    then, and the model's `level`% band for the lead from it."""
    ratios = forecast.band_ratios(np.asarray(ds) - latest.epoch, level)
    return latest.price * np.column_stack([np.ones(len(ratios)), ratios])
