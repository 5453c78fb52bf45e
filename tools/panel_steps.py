"""The band search `make panel` runs (`tools/panel.py`'s `Search`), its steps and options fixed
before any run; what it chose is `cryptopredict/model/panel_choice.json`, which training reads.

The search, fixed before any run (issue 43), over the scaled band with an hour-of-week profile,
a half-life of 24 hours, five width bins and the pool's 10% floor; each step by the figure the
panel reports, the 80% interval score relative to the naive band's, pooled over the pairs'
validation origins, lower is better:

1. the short volatility window, 1, 7 or 30 days (`WINDOWS`), by the mean over the horizons that
   decide, calibrated on each pair's own last 180 days of errors;
2. per horizon, the calibration pool: the last 90, 180 or 365 days (`POOL_DAYS`) of errors,
   each pair's own or shared by every pair of the panel (`SHARED`);
3. per horizon, the weight of the empirical band's quantiles averaged in (`MIX_WEIGHTS`);
4. per horizon, the adaptive step of the band's scale (`ADAPT_STEPS`, 0: none; `adaptive.py`):
   the band widened after its own misses and narrowed after its hits, as they become known;
5. the strength of the hour-of-week profile, its power 1 (as measured), 0.5 (its square root)
   or 0 (flat) (`PROFILE_POWERS`), by the mean over the horizons that decide: a year's hour of
   the week is 52 noisy returns, and a quiet hour measured too quiet leaves the band too narrow
   there (issue 60: the narrowest fifth of 1 h bands held 77.6%).
6. a second, fast variance (`bands.py`) with today's variances measured by absolute returns,
   its half-life (`FAST_HALF_LIVES`) and its weight at the next hour (`FAST_WEIGHTS`), beside
   the band as it stands, by the mean over the horizons that decide: the day's variance
   averaged with the week's reacts too slowly for the next hour (issue 70: GARCH(1,1)-t beat
   it at 1 h);
7. the profile as the hour of the day's times the day of the week's, at each power of
   `PROFILE_POWERS` but 0, beside the band as it stands, by the mean;
8. the adaptive step's state kept per width bin up to a day (`with_binned_adapt`), beside the
   band as it stands, by the mean: each bin's band widened after its own misses and narrowed
   after its own hits, a calibration of the spread's dispersion (issue 78: on the evaluation
   origins the 1-day band's coverage rose from its narrowest fifth to its widest). Served
   only where the band with it passes every clause of the panel's bars on the evaluation
   origins (`tools/panel_bars.py`), else measured beside the band without it.

Only horizons whose validation span holds at least `MIN_WINDOWS` independent windows decide;
a longer horizon takes the settings of the longest one that decides.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from cryptopredict.artifact.schema import BandSpec
from cryptopredict.model.band_spec import named, scaled
from cryptopredict.model.plan import HORIZONS

MIN_WINDOWS = 20  # independent windows a horizon's validation needs to decide a setting
WINDOWS = (1, 7, 30)
POOL_DAYS = (90, 180, 365)
SHARED = (False, True)
MIX_WEIGHTS = (0.0, 0.5, 1.0)
ADAPT_STEPS = (0.0, 0.0025, 0.005, 0.01)
PROFILE_POWERS = (1.0, 0.5, 0.0)
FAST_HALF_LIVES = (4.0, 6.0, 8.0)  # hours; beside them the short window's variance
FAST_WEIGHTS = (0.8, 1.0)  # the fast variance's weight at the next hour
# What the search starts from and keeps (issue 33's choice of the volatility model's other
# parts): the hour-of-week profile, a half-life of a day, five width bins, the 10% floor.
START = scaled(1, 24, True, width_bins=5, floor=0.1)
HOURS = {label: int(h.total_seconds() // 3600) for label, h in HORIZONS.items()}


def deciding(validation_days: float) -> list[str]:
    """The horizons whose validation span holds at least MIN_WINDOWS independent windows."""
    return [label for label, hours in HOURS.items() if validation_days * 24 / hours >= MIN_WINDOWS]


def best(scores: dict[BandSpec, dict[str, float]], labels: Sequence[str]) -> BandSpec:
    """The spec with the lowest mean score over `labels`."""
    return min(scores, key=lambda spec: float(np.mean([scores[spec][lab] for lab in labels])))


def per_horizon(
    scores: Mapping[Option, dict[str, float]], labels: Sequence[str]
) -> tuple[tuple[int, Option], ...]:
    """Per horizon, the option with the lowest score there; horizons beyond the deciding ones
    take the last deciding one's."""
    chosen: list[tuple[int, Option]] = []
    for label, hours in HOURS.items():
        if label in labels:
            pick = min(scores, key=lambda option: scores[option][label])
        else:
            pick = chosen[-1][1] if chosen else min(scores)
        chosen.append((hours, pick))
    return tuple(chosen)


Option = Any  # a pool (days, shared), a mix weight or an adaptive step


def with_pools(spec: BandSpec, pools: tuple[tuple[int, tuple[int, bool]], ...]) -> BandSpec:
    return named(
        spec,
        horizon_pools=tuple((h, int(days)) for h, (days, _) in pools),
        horizon_shared=tuple((h, bool(shared)) for h, (_, shared) in pools),
    )


def with_mix(spec: BandSpec, mix: tuple[tuple[int, float], ...]) -> BandSpec:
    return named(spec, horizon_mix=tuple((h, float(w)) for h, w in mix))


def with_adapt(spec: BandSpec, steps: tuple[tuple[int, float], ...]) -> BandSpec:
    return named(spec, horizon_adapt=tuple((h, float(step)) for h, step in steps))


def with_window(spec: BandSpec, days: float) -> BandSpec:
    return named(spec, window_days=days)


def uniform_pool(spec: BandSpec, days: int, shared: bool = False) -> BandSpec:
    return with_pools(spec, tuple((h, (days, shared)) for h in HOURS.values()))


def uniform_mix(spec: BandSpec, weight: float) -> BandSpec:
    return named(spec, horizon_mix=tuple((h, weight) for h in HOURS.values()))


def uniform_adapt(spec: BandSpec, step: float) -> BandSpec:
    return named(spec, horizon_adapt=tuple((h, step) for h in HOURS.values()))


def with_profile_power(spec: BandSpec, power: float) -> BandSpec:
    return named(spec, profile_power=power)


def with_fast(spec: BandSpec, half_life_hours: float, weight: float) -> BandSpec:
    """A fast variance, today's variances from absolute returns."""
    return named(
        spec, fast_half_life_hours=half_life_hours, fast_weight=weight, robust_variance=True
    )


def with_factored_profile(spec: BandSpec, power: float) -> BandSpec:
    return named(spec, profile_factored=True, profile_power=power)


def with_binned_adapt(spec: BandSpec) -> BandSpec:
    return named(spec, adapt_binned=True)
