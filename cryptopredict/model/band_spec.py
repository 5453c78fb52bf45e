"""What a band candidate is (`BandSpec`), named as the model card says it, and the candidates
a pair's own backtest chooses among; how each is calibrated is `bands.py`'s.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from cryptopredict.artifact.schema import BandRecipe
from cryptopredict.model.market import YEAR_DAYS

# Mondrian calibration by band width applies up to this horizon: beyond it a year of origins
# 7 hours apart holds too few independent outcomes per width bin (fewer than 70 per fifth).
WIDTH_BIN_HOURS = 24
WIDTH_BINS = 5  # the scaled candidates calibrate within fifths of band width
FLOOR = 0.1  # ... and keep the spread above the pool's calmest tenth


@dataclass(frozen=True)
class BandSpec:
    kind: str  # "empirical" or "scaled"
    window_days: float | None = None  # scaled: the short volatility window
    half_life_hours: float | None = None  # scaled: None keeps the short volatility for ever
    profile: bool = False  # scaled: follow the hour-of-week volatility profile
    drift: bool = False  # keep the median of past returns / errors in the band
    pool_days: int | None = 365  # scaled: calibrate on errors known in these days (None: all)
    # scaled: (hours, days) pairs, hours ascending, overriding `pool_days` per horizon: each
    # calibrated horizon takes the days of the first pair whose hours reach it (`pool_for`).
    horizon_pools: tuple[tuple[int, int | None], ...] = ()
    # scaled: (hours, weight) pairs, hours ascending: the band's quantiles averaged with the
    # empirical band's (Vincentization) with this weight on the empirical band at each
    # calibrated horizon (`mix_at`; between them the band follows `along_lead`).
    horizon_mix: tuple[tuple[int, float], ...] = ()
    # scaled: (hours, shared) pairs, hours ascending, as `horizon_pools`: where `shared`, the
    # calibration pool at a horizon is the panel's, shared by its pairs (each pair's errors
    # scaled by its own expected spread; binned and floored by the spread relative to the
    # year's), as `make panel` stores it (`panel_pool.py`); else the pair's own (`shared_for`).
    horizon_shared: tuple[tuple[int, bool], ...] = ()
    # scaled: calibrate separately within this many bins of the band's width (Mondrian), at
    # the calibrated horizons up to WIDTH_BIN_HOURS; 1: one pool for every width.
    width_bins: int = 1
    # scaled: the band's spread at each calibrated horizon is at least this quantile of the
    # spreads in its calibration pool (None: no floor): today's band is never narrower than
    # the calm periods of the pool's year were.
    floor: float | None = None
    # (hours, step) pairs, hours ascending, as `horizon_pools`: the adaptive step at each
    # calibrated horizon (`adapt_for`; `adaptive.py`), 0: none.
    horizon_adapt: tuple[tuple[int, float], ...] = ()

    def mix_at(self, lead_hours: np.ndarray) -> np.ndarray:
        """The weight of the empirical band at each lead (0: the scaled band alone)."""
        if not self.horizon_mix:
            return np.zeros(len(lead_hours))
        hours, weights = zip(*self.horizon_mix, strict=True)
        return np.interp(lead_hours, hours, weights)

    def shared_for(self, hours: float) -> bool:
        """Whether the pool calibrating the quantiles at `hours` ahead is the panel's."""
        return next((shared for reach, shared in self.horizon_shared if hours <= reach), False)

    def pool_for(self, hours: float) -> int | None:
        """How many days of errors calibrate the quantiles at `hours` ahead (None: all)."""
        for reach, days in self.horizon_pools:
            if hours <= reach:
                return days
        return self.pool_days

    def adapt_for(self, hours: float) -> float:
        """The adaptive step of the band's scale at `hours` ahead (0: none)."""
        return next((step for reach, step in self.horizon_adapt if hours <= reach), 0.0)

    @property
    def name(self) -> str:
        if self.kind == "empirical":
            parts = ["empirical returns, 365 days"]
        else:
            fades = (
                "never fades"
                if self.half_life_hours is None
                else f"half-life {self.half_life_hours:g} h"
            )
            window = f"{self.window_days:g}-day volatility"
            if self.window_days is not None and self.window_days < 7:
                window += " (averaged with the week's)"
            parts = [f"scaled: {window}, {fades}"]
            if self.profile:
                parts.append("hour-of-week profile")
            if self.horizon_pools:
                per = (
                    f"{_pool(days)}{' of the panel' * self.shared_for(reach)} at {_horizon(reach)}"
                    for reach, days in self.horizon_pools
                )
                parts.append(f"calibrated on {', '.join(per)}")
            else:
                parts.append(f"calibrated on {_pool(self.pool_days)}")
            if self.width_bins > 1:
                parts.append(
                    f"calibrated within {self.width_bins} width bins up to "
                    f"{_horizon(WIDTH_BIN_HOURS)}"
                )
            if self.floor is not None:
                parts.append(f"spread floored at the pool's {self.floor:.0%} quantile")
            if any(weight for _, weight in self.horizon_mix):
                per = (f"{_weight(w)} at {_horizon(reach)}" for reach, w in self.horizon_mix)
                parts.append(f"empirical band's quantiles averaged in: {', '.join(per)}")
            if any(step for _, step in self.horizon_adapt):
                per = (f"{step:g} at {_horizon(reach)}" for reach, step in self.horizon_adapt)
                parts.append(f"scale adapted to its own misses, step {', '.join(per)}")
        parts.append("with drift" if self.drift else "no drift")
        return ", ".join(parts)

    def to_dict(self) -> dict:
        return {**asdict(self), "name": self.name}

    def setting(self) -> BandRecipe:
        """As the artifact records it."""
        return BandRecipe(**self.to_dict())

    @classmethod
    def from_setting(cls, setting: BandRecipe) -> BandSpec:
        """The spec of a recorded setting (a candidate's too: its scores are ignored)."""
        return cls.from_dict(setting.to_builtins())

    @classmethod
    def from_dict(cls, data: dict) -> BandSpec:
        fields = {key: data[key] for key in cls.__dataclass_fields__ if key in data}
        if "horizon_pools" in fields:  # JSON gives lists
            fields["horizon_pools"] = tuple((int(h), d) for h, d in fields["horizon_pools"])
        if "horizon_mix" in fields:
            fields["horizon_mix"] = tuple((int(h), float(w)) for h, w in fields["horizon_mix"])
        if "horizon_adapt" in fields:
            fields["horizon_adapt"] = tuple((int(h), float(g)) for h, g in fields["horizon_adapt"])
        if "horizon_shared" in fields:
            fields["horizon_shared"] = tuple((int(h), bool(s)) for h, s in fields["horizon_shared"])
        return cls(**fields)


def _pool(days: int | None) -> str:
    return "all past errors" if days is None else f"{days}-day errors"


def _weight(weight: float) -> str:
    return {0.0: "none", 1.0: "all"}.get(weight, f"{weight:.0%}")


def _horizon(hours: int) -> str:
    return f"{hours // 24}d" if hours % 24 == 0 else f"{hours}h"


NAIVE_BAND = BandSpec("empirical", drift=True)
# The band trained without a backtest (`--no-backtest`) on bars the panel's band is not for
# (`panel_band.py`: hourly bars serve the panel's).
DEFAULT_BAND = BandSpec(
    "scaled", window_days=1, half_life_hours=24, profile=True, width_bins=WIDTH_BINS, floor=FLOOR
)


def candidates(
    windows: tuple[float, ...] = (1, 7, 30),
    half_lives: tuple[float | None, ...] = (24, 168, 720, None),
) -> list[BandSpec]:
    """The drift-free candidates: the empirical band, and every scaled combination."""
    specs = [BandSpec("empirical")]
    for profile in (False, True):
        specs.append(
            BandSpec("scaled", YEAR_DAYS, None, profile, width_bins=WIDTH_BINS, floor=FLOOR)
        )
        specs += [
            BandSpec("scaled", window, half_life, profile, width_bins=WIDTH_BINS, floor=FLOOR)
            for window in windows
            for half_life in half_lives
        ]
    return specs
