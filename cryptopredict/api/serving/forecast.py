"""One asset's forecast, read from its artifact's stored grid and the latest price the API
read: at any instant, and over a range; and the answer at an instant.

One meaning of an instant, on every route and in every score: the forecast at instant t is the
price at t, the close of the bar that ends at t (a date alone is 00:00 UTC, so on daily bars the
close of the day before). What training stores is labelled otherwise: a bar, a grid row and a
backtest path's point are labelled by the bar's open time, and the row labelled `ds` forecasts
that bar's close, the price at `ds` + the bar's length. `closing` and `opening` are the only
place the API turns one into the other.

The forecast answers from the first stored bar's close to the data's end (`data_end`, the last
bar's close) + the horizon. The grid's knots sit at the data's interval (`step`) over the
hindcast's last 90 days and the forecast's first 30, two per origin before, a day apart after
(`cryptopredict.artifact.arrays.StoredGrid`); the answers keep the data's interval throughout,
on the regular axis `first + index * step`, and values between knots are interpolated
linearly. Up to the data's end each point is a hindcast (what the pipeline said before that
instant, from an earlier origin), after it the forecast made when the data ended; each holds a
band at every level of `LEVELS`. A range is read at the data's interval or at a coarser
`every`, a whole multiple of it. Every answer is a few reads of memory-mapped arrays: no model
runs here.

Where the API has read a price newer than the data's end (`LatestPrice`, from
`cryptopredict.api.latest`), every instant after it is answered from that price
(`from_latest`): the point is the price itself; the band is the band the model issued for the
lead that remains (`band_ratios`), around that price: the band conditional on the price at that
instant. Instants up to it, and every instant when no newer price is known, are answered as the
model issued them, anchored at its data's end. A forecast whose starting price is older than
`note_after` says so in its `note` (NOTE_AFTER_HOURS).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from msgspec import UNSET, UnsetType

from cryptopredict.api.errors import OutOfRangeError, TooManyPointsError
from cryptopredict.api.types.common import Kind, Level
from cryptopredict.api.types.forecast import Anchor, AnchorSource, Prediction
from cryptopredict.artifact.read import Artifact
from cryptopredict.candles import Interval
from cryptopredict.freshness import FRESH_PRICES, in_words
from cryptopredict.postprocess import price_decimals, round_band
from cryptopredict.utc import iso_utc, show_epoch

DAY = 86_400
HOUR = 3600
# The asset behind `/bitcoin` and `/bitcoin/forecast`, and the default one (the dashboard's
# first view, `/model`, the top of `/healthz`) when it is served.
BITCOIN = "btc-usd"
Epoch = TypeVar("Epoch", int, float, np.ndarray)


def closing(opened: Epoch, step: int) -> Epoch:
    """The instant a bar (or a row) labelled by its open time `opened` closes: its price's."""
    return opened + step


def opening(instant: Epoch, step: int) -> Epoch:
    """The label (open time) of the bar that closes at `instant`."""
    return instant - step


@dataclass(frozen=True)
class LatestPrice:
    """A price the API read: the instant it is the price of, and where it came from."""

    epoch: int
    price: float
    source: AnchorSource
    detail: str


def no_price() -> LatestPrice | None:
    return None


@dataclass(frozen=True)
class Point:
    prediction: float
    low: float
    high: float
    data_until: int  # the instant the data the answer had seen ended (its origin bar's close)


@dataclass(frozen=True)
class Points:
    ds: np.ndarray  # int64 epoch seconds: instants
    values: np.ndarray  # (len(ds), 3): prediction, low, high
    actual: np.ndarray  # the price at each instant (a bar's close), else NaN


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


class Forecast:
    """The grid of one artifact; instants are answered from the first bar's close (`first`) to
    `end`: the grid's end, or `max_horizon_days` past the data's end if that comes first.
    `latest` gives the latest price the API read (at once, never waiting on a source); a forecast
    whose starting price is older than `note_after_hours` says so."""

    def __init__(
        self,
        artifact: Artifact,
        *,
        max_horizon_days: float,
        latest: Callable[[], LatestPrice | None] = no_price,
        note_after_hours: float = math.inf,
    ) -> None:
        self.latest = latest
        self.note_after = note_after_hours * HOUR
        self.model_version = artifact.manifest.model_version
        grid = self.grid = artifact.grid_file
        self.step = step = grid.step
        self.first = closing(grid.first, step)
        self.grid_end = closing(grid.last, step)
        self.interval = Interval.parse(artifact.manifest.interval)  # checked by open_artifact
        self.interval_width = artifact.manifest.interval_width
        self.history = artifact.history
        self.last_bar = self.history.last_bar  # its open time
        self.data_end = closing(self.last_bar, step)
        self.last_close = self.history.last_close
        # The band's settings were chosen on outcomes up to here (None: trained without a
        # backtest, so on none): hindcast points up to it are not out of sample for that choice.
        boundary = artifact.manifest.backtest_boundary
        self.band_chosen_until = (
            None
            if boundary is None
            else closing(int(boundary.last_validation_outcome.timestamp()), step)
        )
        self.end = min(self.grid_end, self.data_end + round(max_horizon_days * DAY))

    def ds_of(self, index: np.ndarray) -> np.ndarray:
        return self.first + self.step * np.asarray(index, dtype=np.int64)

    def check(self, name: str, epoch: float) -> None:
        """OutOfRangeError unless the instant `epoch` lies between `first` and `end`."""
        if epoch < self.first:
            raise OutOfRangeError(
                f"{name} {show_epoch(epoch)} is before the history; {self.valid_range()}"
            )
        if epoch > self.end:
            raise OutOfRangeError(
                f"{name} {show_epoch(epoch)} is too far ahead; {self.valid_range()}"
            )

    def valid_range(self) -> str:
        return f"valid dates run from {iso_utc(self.first)} to {iso_utc(self.end)}"

    def at(self, epoch: float, level: int) -> Point:
        """The forecast and the `level`% band at a checked instant `epoch`, interpolated between
        the two knots around it; its data's end is the later of theirs (never after `epoch`)."""
        grid, label = self.grid, np.array([opening(epoch, self.step)])
        centre, low, high = grid.values_at(label, level)[0].tolist()
        (before,), (after,), (fraction,) = grid.between(label)
        knots = (before, after) if fraction > 0 else (before,)
        origin = max(int(grid.time[knot]) - int(grid.lead[knot]) for knot in knots)
        return Point(centre, low, high, closing(origin, self.step))

    def in_history(self, epoch: float) -> bool:
        return self.first <= epoch <= self.data_end

    def band_chosen_later(self, ds: np.ndarray) -> np.ndarray:
        """Per instant: a hindcast no later than the last outcome the band's settings were
        chosen on, so chosen with hindsight of it."""
        if self.band_chosen_until is None:
            return np.zeros(len(ds), dtype=bool)
        return (ds <= self.band_chosen_until) & (ds <= self.data_end)

    def actual_at(self, epoch: float) -> float | None:
        """The price at a checked instant `epoch` inside the history: the close of the bar that
        ends then, interpolated between two bars' closes between them.

        None in a gap (a bar missing from the history on either side).
        """
        label = opening(epoch, self.step)
        history = self.history
        opened = history.first_bar + math.floor((label - history.first_bar) / self.step) * self.step
        before = history.close_at(opened) if opened <= history.last_bar else None
        if before is None or label == opened:
            return before
        following = history.close_at(opened + self.step) if opened < history.last_bar else None
        if following is None:
            return None
        return before + (following - before) * (label - opened) / self.step

    def count(self, start: float, end: float) -> int:
        """How many points of the axis lie in `[start, end]`."""
        return max(0, self._last_index(end) - self._first_index(start) + 1)

    def series(
        self, start: float, end: float, max_points: int, level: int, every: Interval | None = None
    ) -> Points:
        """Every instant of the axis in `[start, end]` (both checked) with its `level`% band, at
        most `max_points` of them; with `every` (a whole multiple of the grid's interval), only
        the instants that open an `every` bar: every day's 00:00 UTC for `1d`, as candles of
        that width open."""
        if every is None:
            first, count, stride = self._first_index(start), self.count(start, end), 1
        else:
            opens = every.open_time(start, math.ceil)
            first = self._first_index(opens)
            count = max(0, (every.open_time(end) - opens) // every.seconds + 1)
            stride = every.seconds // self.step
        if count > max_points:
            raise TooManyPointsError(
                f"{iso_utc(start)} to {iso_utc(end)} holds {count} points "
                f"{every or self.interval} apart; at most {max_points} per request, so narrow "
                "the range or ask for a coarser step"
            )
        ds = self.ds_of(first + stride * np.arange(count))
        return Points(ds, self.values_at(ds, level), self._actual(ds))

    def values_at(self, ds: np.ndarray, level: int) -> np.ndarray:
        """Prediction, low and high at each of the instants `ds` (checked: answered),
        interpolated between the knots around it, as `at` gives them one at a time."""
        return self.grid.values_at(opening(np.asarray(ds), self.step), level)

    def band_ratios(self, leads: np.ndarray, level: int) -> np.ndarray:
        """The `level`% band's bounds `leads` seconds (each up to `end - data_end`) after the
        data's end, as ratios to the point forecast there: the band the model issued for that
        lead. Below one bar, the first bar's, its log distances shrunk as sqrt(lead)."""
        step = self.step
        values = self.values_at(self.data_end + np.maximum(leads, step), level)
        logs = np.log(values[:, 1:] / values[:, :1])
        shrink = np.sqrt(np.clip(np.asarray(leads) / step, 0.0, 1.0))
        return np.exp(logs * shrink[:, None])

    def _first_index(self, epoch: float) -> int:
        return math.ceil((epoch - self.first) / self.step)

    def _last_index(self, epoch: float) -> int:
        return math.floor((epoch - self.first) / self.step)

    def _actual(self, ds: np.ndarray) -> np.ndarray:
        """The price at each of the instants `ds` where a bar closes then, else NaN."""
        return self.history.closes_at(opening(ds, self.step))

    def from_latest(self, ds: np.ndarray, level: int) -> FromLatest | None:
        """The instants of `ds` (ascending) after the latest price, if it is newer than the
        data, answered from it: the price then, and the model's `level`% band for the lead from
        it. None if no instant is; `latest` is asked only when one lies past the data's end."""
        if not len(ds) or ds[-1] <= self.data_end:
            return None
        price = self.latest()
        if price is None or price.epoch <= self.data_end:
            return None
        after = ds > price.epoch
        if not after.any():
            return None
        ratios = self.band_ratios(ds[after] - price.epoch, level)
        values = price.price * np.column_stack([np.ones(len(ratios)), ratios])
        return FromLatest(price, after, values)

    def answer(self, at: float, level: int) -> Prediction:
        """The answer at the instant `at` (OutOfRangeError outside the valid range): from the
        latest price after it, else as the model issued it; a hindcast with the price then."""
        self.check("date", at)
        live = self.from_latest(np.array([at]), level)
        answer = self.prediction(at, level, live=live)
        if answer.kind is Kind.FORECAST:
            answer.note = self.note(live)
        else:
            actual = self.actual_at(at)
            answer.actual = None if actual is None else round(actual, price_decimals(actual))
            answer.band_chosen_later = bool(self.band_chosen_later(np.array([at]))[0])
        return answer

    def prediction(self, epoch: float, level: int, live: FromLatest | None = None) -> Prediction:
        """The forecast at a checked instant `epoch` with its `level`% band, and what it is: a
        hindcast (inside the history) or the forecast, from data that ended at `data_until`,
        `lead_hours` before; answered from the latest price when `live`."""
        if live is None:
            point = self.at(epoch, level)
            anchor = self.model_anchor(point.data_until)
        else:
            centre, low, high = live.values[0].tolist()
            point = Point(centre, low, high, data_until=live.latest.epoch)
            anchor = live.anchor
        shown, low, high = round_band(point.prediction, point.low, point.high)
        data_until = point.data_until
        return Prediction(
            date=iso_utc(epoch),
            prediction=shown,
            prediction_low=low,
            prediction_high=high,
            interval_width=level / 100,
            level=Level(level),
            kind=Kind.HINDCAST if self.in_history(epoch) else Kind.FORECAST,
            data_until=iso_utc(data_until),
            lead_hours=round((epoch - data_until) / HOUR, 2),
            model_version=self.model_version,
            anchor=anchor,
        )

    def note(self, live: FromLatest | None) -> str | UnsetType:
        """What a forecast from the latest price `live` (else from the data's end) says of the
        price it starts from, when that is older than `note_after`."""
        since = self.data_end if live is None else live.latest.epoch
        age = time.time() - since
        if age <= self.note_after:
            return UNSET
        said = f"This forecast starts from a price {in_words(age)} old ({iso_utc(since)}): "
        if live is None:
            return f"{said}no newer price is seen. {FRESH_PRICES}"
        return f"{said}the market feed has read none newer (`/healthz` says why)."

    def model_anchor(self, data_until: int) -> Anchor:
        """The end of the data a model's answer had seen (`data_until`): the forecast's, or a
        hindcast's origin."""
        if data_until == self.data_end:
            price: float | None = self.last_close
            detail = "the close of the last bar of the model's data"
        else:
            price = self.actual_at(data_until)
            detail = "the close of the bar this hindcast's data ended with"
        return Anchor(
            date=iso_utc(data_until),
            price=None if price is None else round(price, price_decimals(price)),
            source=AnchorSource.MODEL,
            detail=detail,
        )
