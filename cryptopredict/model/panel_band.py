"""The band every pair serves: one method, its settings chosen per horizon on the pooled
validation origins of the panel of hourly spot pairs (`make panel`, `tools/panel.py`) and kept
in `panel_band.json` beside this module, which training reads. Every hourly pair, also one
trained alone, uses these settings and records them in its manifest (`band`, and `served.band`
saying where they come from); it calibrates them on its own recent errors. Pairs at another
interval (ETH/USD's daily bars) still choose their own band on their own validation origins.

The choice, by the 80% interval score relative to the naive band's (within fifths of the day
before's volatility, `_Validation.score`), averaged over the pairs:

1. the volatility model (window, half-life, hour-of-week profile) of the scaled band, by the
   mean over the horizons that decide;
2. per horizon, how many days of recent errors calibrate it (`POOL_DAYS`);
3. per horizon, the weight of the empirical band's quantiles averaged in (`MIX_WEIGHTS`).

Only horizons whose validation span holds at least `MIN_WINDOWS` independent windows decide
(on the two-year pairs about 160 days: 1h, 1d and 7d); a longer horizon takes the settings of
the longest one that decides.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from cryptopredict.model.band_spec import BandSpec
from cryptopredict.model.plan import HORIZONS

PANEL_BAND = Path(__file__).with_name("panel_band.json")
INTERVAL = pd.Timedelta(hours=1)  # the panel's bars
MIN_WINDOWS = 20  # independent windows a horizon's validation needs to decide a setting
POOL_DAYS = (90, 180, 365)
MIX_WEIGHTS = (0.0, 0.5, 1.0)
HOURS = {label: int(h.total_seconds() // 3600) for label, h in HORIZONS.items()}


def panel_band(interval: pd.Timedelta = INTERVAL, path: Path = PANEL_BAND) -> BandSpec | None:
    """The panel's band for bars of `interval`, or None where no panel has chosen one for them
    (the panel is of hourly pairs: a daily pair chooses its own band)."""
    if interval != INTERVAL or not path.exists():
        return None
    return BandSpec.from_dict(json.loads(path.read_text())["band"])


def deciding(validation_days: float) -> list[str]:
    """The horizons whose validation span holds at least MIN_WINDOWS independent windows."""
    return [label for label, hours in HOURS.items() if validation_days * 24 / hours >= MIN_WINDOWS]


def pooled(per_pair: Sequence[dict[str, float]]) -> dict[str, float]:
    """Per horizon, the mean over the pairs of each pair's score there."""
    labels = set.intersection(*(set(scores) for scores in per_pair))
    return {label: float(np.mean([scores[label] for scores in per_pair])) for label in labels}


def best(scores: dict[BandSpec, dict[str, float]], labels: Sequence[str]) -> BandSpec:
    """The spec with the lowest mean score over `labels`."""
    return min(scores, key=lambda spec: float(np.mean([scores[spec][lab] for lab in labels])))


def per_horizon(
    scores: dict[float, dict[str, float]], labels: Sequence[str]
) -> tuple[tuple[int, float], ...]:
    """Per horizon, the option with the lowest score there; horizons beyond the deciding ones
    take the last deciding one's."""
    chosen: list[tuple[int, float]] = []
    for label, hours in HOURS.items():
        if label in labels:
            pick = min(scores, key=lambda option: scores[option][label])
        else:
            pick = chosen[-1][1] if chosen else min(scores)
        chosen.append((hours, pick))
    return tuple(chosen)


def with_pools(spec: BandSpec, pools: tuple[tuple[int, float], ...]) -> BandSpec:
    return replace(spec, horizon_pools=tuple((h, int(days)) for h, days in pools))


def with_mix(spec: BandSpec, mix: tuple[tuple[int, float], ...]) -> BandSpec:
    return replace(spec, horizon_mix=tuple((h, float(w)) for h, w in mix))


def uniform_pool(spec: BandSpec, days: int) -> BandSpec:
    return replace(spec, pool_days=days, horizon_pools=())


def uniform_mix(spec: BandSpec, weight: float) -> BandSpec:
    return replace(spec, horizon_mix=tuple((h, weight) for h in HOURS.values()))
