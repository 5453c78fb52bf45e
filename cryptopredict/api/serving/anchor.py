"""A forecast from the latest price: where the API has read a price newer than the model's data
end (`LatestPrice`, from `cryptopredict.api.latest`), every instant after it is answered from
that price. The point is the price itself; the band is the band the model issued for the lead
that remains (`Forecast.band_ratios`), around that price: the band conditional on the price at
that instant. Instants up to it, and every instant when no newer price is known, are answered as
the model issued them, anchored at its data's end. `from_latest` does it for the point and the
range answers alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from cryptopredict.api.serving.forecast import Forecast
from cryptopredict.api.serving.utc import iso_utc
from cryptopredict.api.types.forecast import Anchor, AnchorSource
from cryptopredict.postprocess import price_decimals


@dataclass(frozen=True)
class LatestPrice:
    """A price the API read: the instant it is the price of, and where it came from."""

    epoch: int
    price: float
    source: AnchorSource
    detail: str


@dataclass(frozen=True)
class FromLatest:
    """The instants answered from `latest`: which ones (`after`, per instant asked) and their
    prediction, low and high (`values`, one row each)."""

    latest: LatestPrice
    after: np.ndarray
    values: np.ndarray

    @property
    def anchor(self) -> Anchor:
        latest = self.latest
        return Anchor(
            date=iso_utc(latest.epoch),
            price=round(latest.price, price_decimals(latest.price)),
            source=latest.source,
            detail=latest.detail,
        )


def from_latest(
    forecast: Forecast, latest: Callable[[], LatestPrice | None], ds: np.ndarray, level: int
) -> FromLatest | None:
    """The instants of `ds` (ascending) after the latest price, if it is newer than the model's
    data, answered from it: the price then, and the model's `level`% band for the lead from it.
    None if no instant is; `latest` is asked only when one lies past the data's end."""
    if not len(ds) or ds[-1] <= forecast.data_end:
        return None
    price = latest()
    if price is None or price.epoch <= forecast.data_end:
        return None
    after = ds > price.epoch
    if not after.any():
        return None
    ratios = forecast.band_ratios(ds[after] - price.epoch, level)
    return FromLatest(price, after, price.price * np.column_stack([np.ones(len(ratios)), ratios]))
