"""Band methods (`BandSpec`) made and named, and the candidates a pair's backtest chooses among."""

from __future__ import annotations

from typing import Any

import msgspec
import numpy as np

from cryptopredict.artifact.schema import BandSpec
from cryptopredict.candles import span_name
from cryptopredict.model.market import YEAR_DAYS

# Calibration by band width up to this horizon (beyond, too few outcomes per width bin).
WIDTH_BIN_HOURS = 24
WIDTH_BINS = 5  # the scaled candidates calibrate within fifths of band width
FLOOR = 0.1  # ... and keep the spread above the pool's calmest tenth
WINDOWS = (1.0, 7.0, 30.0)  # their volatility windows (days), `candidates`'
HALF_LIVES = (24.0, 168.0, 720.0, None)  # ... and half-lives (hours; None: never fades)


def named(spec: BandSpec, **changes: Any) -> BandSpec:
    """`spec` with `changes`, and the name of what it then is."""
    spec = msgspec.structs.replace(spec, **changes)
    return msgspec.structs.replace(spec, name=", ".join(name_parts(spec)))


def scaled(
    window_days: float, half_life_hours: float | None, profile: bool = False, **settings: Any
) -> BandSpec:
    return named(
        EMPIRICAL,
        kind="scaled",
        window_days=window_days,
        half_life_hours=half_life_hours,
        profile=profile,
        **settings,
    )


def weight_at(weights: tuple[tuple[int, float], ...], lead_hours: np.ndarray) -> np.ndarray:
    """A weight per calibrated horizon (`horizon_mix`, `horizon_har`) at each lead (0: none)."""
    if not weights:
        return np.zeros(len(lead_hours))
    hours, values = zip(*weights, strict=True)
    return np.interp(lead_hours, hours, values)


def name_parts(spec: BandSpec) -> list[str]:
    """What the band is, part by part: its name, joined by commas."""
    if spec.kind == "empirical":
        parts = ["empirical returns, 365 days"]
    else:
        fades = (
            "never fades"
            if spec.half_life_hours is None
            else f"half-life {spec.half_life_hours:g} h"
        )
        window = f"{spec.window_days:g}-day volatility"
        if spec.window_days is not None and spec.window_days < 7:
            window += " (averaged with the week's)"
        if spec.fast_half_life_hours is not None:
            weight = "" if spec.fast_weight is None else f", weight {spec.fast_weight:g}"
            window += f" and the last hours' (half-life {spec.fast_half_life_hours:g} h{weight})"
        if spec.robust_variance or spec.range_variance:
            ranged = " from each hour's high-low range (Parkinson)"
            window += ranged if spec.range_variance else " from absolute returns"
        parts = [f"scaled: {window}, {fades}"]
        if spec.profile:
            power = spec.profile_power
            strength = "" if power is None or power == 1 else f" at power {power:g}"
            kind = "hour-of-day times day-of-week" if spec.profile_factored else "hour-of-week"
            parts.append(f"{kind} profile{strength}")
        if spec.horizon_pools:
            per = (
                f"{_pool(days)}{' of the panel' * spec.shared_for(reach)} at {span_name(reach)}"
                for reach, days in spec.horizon_pools
            )
            parts.append(f"calibrated on {', '.join(per)}")
        else:
            parts.append(f"calibrated on {_pool(spec.pool_days)}")
        if spec.width_bins > 1:
            parts.append(
                f"calibrated within {spec.width_bins} width bins up to {span_name(WIDTH_BIN_HOURS)}"
            )
        if spec.floor is not None:
            parts.append(f"spread floored at the pool's {spec.floor:.0%} quantile")
        averaged = {
            "empirical band's quantiles": spec.horizon_mix,
            "HAR-RV's spread (in logs)": spec.horizon_har,
        }
        parts += [
            f"{what} averaged in: "
            + ", ".join(f"{_weight(w)} at {span_name(h)}" for h, w in weights)
            for what, weights in averaged.items()
            if any(weight for _, weight in weights)
        ]
        if any(step for _, step in spec.horizon_adapt):
            per = (f"{step:g} at {span_name(reach)}" for reach, step in spec.horizon_adapt)
            binned = f" within each width bin up to {span_name(WIDTH_BIN_HOURS)}"
            misses = f"its own misses{binned * spec.adapt_binned}"
            parts.append(f"scale adapted to {misses}, step {', '.join(per)}")
    parts.append("with drift" if spec.drift else "no drift")
    return parts


def _pool(days: int | None) -> str:
    return "all past errors" if days is None else f"{days}-day errors"


def _weight(weight: float) -> str:
    return {0.0: "none", 1.0: "all"}.get(weight, f"{weight:.0%}")


EMPIRICAL = named(
    BandSpec(
        kind="empirical",
        window_days=None,
        half_life_hours=None,
        profile=False,
        drift=False,
        pool_days=365,
        horizon_pools=(),
        horizon_mix=(),
        width_bins=1,
        floor=None,
        name="",
    )
)
NAIVE_BAND = named(EMPIRICAL, drift=True)
# The band without a backtest on bars the panel's band is not for.
DEFAULT_BAND = scaled(1, 24, profile=True, width_bins=WIDTH_BINS, floor=FLOOR)


def candidates() -> list[BandSpec]:
    """The drift-free candidates: the empirical band, and every scaled combination; their numbers
    floats, as their scored entries hold them (the chosen one is recorded as it was scored)."""
    specs = [EMPIRICAL]
    for profile in (False, True):
        specs.append(scaled(float(YEAR_DAYS), None, profile, width_bins=WIDTH_BINS, floor=FLOOR))
        specs += [
            scaled(window, half_life, profile, width_bins=WIDTH_BINS, floor=FLOOR)
            for window in WINDOWS
            for half_life in HALF_LIVES
        ]
    return specs
