"""One asset's forecast, from its artifact's grid and the latest price the API read: at an
instant, over a range, and the answer at an instant.

The forecast at instant t is the price at t, the close of the bar ending at t (a date alone is
00:00 UTC). Training labels a bar, a grid row and a backtest point by the bar's open time:
`closing` and `opening` are the only place the API turns one into the other. Instants lie on the
axis `first + index * step`, interpolated linearly between the grid's knots: hindcasts before the
data's end, the forecast from it on, which starts at the last close (lead 0 at the data's end
itself, no band; no hindcast enters it). Where the API read a price newer than the data's end,
every instant from it on is answered from that price (`from_latest`; at its own instant, the
price), with the band the model issued for the lead that remains (`fan`); a starting price
older than NOTE_AFTER_HOURS is noted, as is a band past the longest lead it was scored at."""

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
NONE_NEWER = "the market feed has read none newer (`/healthz` says why)."
UNTESTED = "The band is untested past {hours:g} hours ahead, the longest lead it was scored at."
Epoch = TypeVar("Epoch", int, float, np.ndarray)


def closing(opened: Epoch, step: int) -> Epoch:
    return opened + step


def opening(instant: Epoch, step: int) -> Epoch:
    return instant - step


@dataclass(frozen=True)
class LatestPrice:
    epoch: int
    price: float
    source: AnchorSource
    detail: str


@dataclass(frozen=True)
class Points:
    ds: np.ndarray  # int64 epoch seconds: instants
    values: np.ndarray  # (len(ds), 3): prediction, low, high
    actual: np.ndarray  # the price at each instant (a bar's close), else NaN


@dataclass(frozen=True)
class FromLatest:
    latest: LatestPrice
    after: np.ndarray  # which instants asked are answered from `latest`
    values: np.ndarray  # their prediction, low and high

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
    """Instants are answered from the first bar's close (`first`) to `end`: the grid's end, or
    `max_horizon_days` past the data's end if that comes first."""

    def __init__(
        self,
        artifact: Artifact,
        *,
        max_horizon_days: float,
        latest: Callable[[], LatestPrice | None] = lambda: None,
        note_after_hours: float = math.inf,
    ) -> None:
        self.latest = latest
        self.note_after = note_after_hours * HOUR
        self.model_version = artifact.manifest.model_version
        grid = self.grid = artifact.grid_file
        self.step = step = grid.step
        self.first = closing(grid.first, step)
        self.interval = Interval.parse(artifact.manifest.interval)  # checked by open_artifact
        self.history = artifact.history
        self.data_end = closing(self.history.last_bar, step)
        # The band's settings were chosen on outcomes up to here (None: on none).
        boundary = artifact.manifest.backtest_boundary
        self.band_chosen_until = (
            None
            if boundary is None
            else closing(int(boundary.last_validation_outcome.timestamp()), step)
        )
        self.end = min(closing(grid.last, step), self.data_end + round(max_horizon_days * DAY))
        self.scored = round(max(artifact.manifest.postprocess.band_hours, default=0.0) * HOUR)

    def check(self, name: str, epoch: float) -> None:
        if not self.first <= epoch <= self.end:
            where = "before the history" if epoch < self.first else "too far ahead"
            raise OutOfRangeError(f"{name} {show_epoch(epoch)} is {where}; {self.valid_range()}")

    def valid_range(self) -> str:
        return f"valid dates run from {iso_utc(self.first)} to {iso_utc(self.end)}"

    def at(self, epoch: float, level: int) -> tuple[list[float], int]:
        """The forecast and band at a checked instant, and the instant the data it had seen
        ended (its origin bar's close): the later knot's; from the data's end on, the data's end."""
        values = self.values_at(np.array([epoch]), level)[0].tolist()
        if epoch >= self.data_end:
            return values, self.data_end
        grid = self.grid
        around = grid.between(np.array([opening(epoch, self.step)]))
        (before,), (after,), (fraction,) = around
        knots = (before, after) if fraction > 0 else (before,)
        origin = max(int(grid.time[knot]) - int(grid.lead[knot]) for knot in knots)
        return values, closing(origin, self.step)

    def band_chosen_later(self, ds: np.ndarray) -> np.ndarray:
        """Per instant: a hindcast whose band was chosen with hindsight of it."""
        if self.band_chosen_until is None:
            return np.zeros(len(ds), dtype=bool)
        return (ds <= self.band_chosen_until) & (ds < self.data_end)

    def actual_at(self, epoch: float) -> float | None:
        """The close of the bar ending at `epoch` (interpolated between two); None in a gap."""
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

    def series(
        self, start: float, end: float, max_points: int, level: int, every: Interval | None = None
    ) -> Points:
        """Every instant of the axis in `[start, end]`, at most `max_points`; with `every`, only
        those that open an `every` bar."""
        if every is None:
            first, stride = self._first_index(start), 1
            count = max(0, math.floor((end - self.first) / self.step) - first + 1)
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
        ds = self.first + self.step * (first + stride * np.arange(count, dtype=np.int64))
        actual = self.history.closes_at(opening(ds, self.step))
        return Points(ds, self.values_at(ds, level), actual)

    def values_at(self, ds: np.ndarray, level: int) -> np.ndarray:
        """Between the grid's knots; from the data's end through the first bar after it, the
        point on its way from the last close to the first bar's, with the band of its `fan`."""
        ds = np.asarray(ds)
        values = self.grid.values_at(self.grid.between(opening(ds, self.step)), level)
        leads = ds - self.data_end
        first = (leads >= 0) & (leads < self.step)
        if first.any():
            close = self.history.last_close
            ahead = self.values_at(np.array([self.data_end + self.step]), level)[0, 0]
            point = close + (ahead - close) * leads[first] / self.step
            values[first] = self.fan(point, leads[first], level)
        return values

    def fan(self, points: np.ndarray, leads: np.ndarray, level: int) -> np.ndarray:
        """`points` with the band issued for `leads` seconds after the data's end, in ratios to
        the point; below one bar, the first bar's shrunk as sqrt(lead) in logs (none at 0)."""
        step = self.step
        values = self.values_at(self.data_end + np.maximum(leads, step), level)
        shrink = np.sqrt(np.clip(np.asarray(leads) / step, 0.0, 1.0))
        return points[:, None] * (values / values[:, :1]) ** shrink[:, None]

    def _first_index(self, epoch: float) -> int:
        return math.ceil((epoch - self.first) / self.step)

    def from_latest(self, ds: np.ndarray, level: int) -> FromLatest | None:
        """The instants of `ds` (ascending) from a latest price newer than the data on, answered
        from it; `latest` is asked only when one lies past the data's end."""
        if not len(ds) or ds[-1] <= self.data_end:
            return None
        price = self.latest()
        if price is None or price.epoch <= self.data_end:
            return None
        after = ds >= price.epoch
        if not after.any():
            return None
        values = self.fan(np.full(after.sum(), price.price), ds[after] - price.epoch, level)
        return FromLatest(price, after, values)

    def answer(self, at: float, level: int) -> Prediction:
        self.check("date", at)
        live = self.from_latest(np.array([at]), level)
        answer = self.prediction(at, level, live=live)
        if answer.kind is Kind.FORECAST:
            answer.note = self.note(live, untested=answer.untested)
        else:
            actual = self.actual_at(at)
            answer.actual = None if actual is None else round(actual, price_decimals(actual))
            answer.band_chosen_later = bool(self.band_chosen_later(np.array([at]))[0])
        return answer

    def prediction(self, epoch: float, level: int, live: FromLatest | None = None) -> Prediction:
        if live is None:
            values, data_until = self.at(epoch, level)
            anchor = self.model_anchor(data_until)
        else:
            values, data_until, anchor = live.values[0].tolist(), live.latest.epoch, live.anchor
        shown, low, high = round_band(*values)
        return Prediction(
            date=iso_utc(epoch),
            prediction=shown,
            prediction_low=low,
            prediction_high=high,
            interval_width=level / 100,
            level=Level(level),
            kind=Kind.HINDCAST if self.first <= epoch < self.data_end else Kind.FORECAST,
            data_until=iso_utc(data_until),
            lead_hours=round((epoch - data_until) / HOUR, 2),
            untested=epoch - data_until > self.scored,
            model_version=self.model_version,
            anchor=anchor,
        )

    def note(self, live: FromLatest | None, *, untested: bool = False) -> str | UnsetType:
        since = self.data_end if live is None else live.latest.epoch
        age = time.time() - since
        said = [UNTESTED.format(hours=self.scored / HOUR)] if untested else []
        if age > self.note_after:
            newer = f"no newer price is seen. {FRESH_PRICES}" if live is None else NONE_NEWER
            old = f"This forecast starts from a price {in_words(age)} old ({iso_utc(since)})"
            said.insert(0, f"{old}: {newer}")
        return " ".join(said) or UNSET

    def model_anchor(self, data_until: int) -> Anchor:
        if data_until == self.data_end:
            price: float | None = self.history.last_close
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
