"""The band search `make panel` runs (`tools/panel.py`'s `Search`), its steps and options fixed
before any run (docs/model.md, "Bands, chosen by score", says each and why); what it chose is
`cryptopredict/model/panel_choice.json`, which training reads. Only horizons whose validation
span holds at least `MIN_WINDOWS` independent windows decide; a longer horizon takes the
settings of the longest one that decides.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from cryptopredict.artifact.schema import BandSpec
from cryptopredict.model.band_spec import named, scaled
from cryptopredict.model.plan import HORIZON_HOURS as HOURS

MIN_WINDOWS = 20  # independent windows a horizon's validation needs to decide a setting
WINDOWS = (1, 7, 30)
POOL_DAYS = (90, 180, 365)
SHARED = (False, True)
MIX_WEIGHTS = (0.0, 0.5, 1.0)
ADAPT_STEPS = (0.0, 0.0025, 0.005, 0.01)
PROFILE_POWERS = (1.0, 0.5, 0.0)
FAST_HALF_LIVES = (4.0, 6.0, 8.0)  # hours; beside them the short window's variance
FAST_WEIGHTS = (0.8, 1.0)  # the fast variance's weight at the next hour
HAR_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)  # HAR-RV's spread's in the band's, in logs
# What the search starts from and keeps (issue 33's choice of the volatility model's other
# parts): the hour-of-week profile, a half-life of a day, five width bins, the 10% floor.
START = scaled(1, 24, True, width_bins=5, floor=0.1)


def deciding(validation_days: float) -> list[str]:
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


Option = Any  # a pool (days, shared), a weight or an adaptive step


def with_pools(spec: BandSpec, pools: tuple[tuple[int, tuple[int, bool]], ...]) -> BandSpec:
    return named(
        spec,
        horizon_pools=tuple((h, int(days)) for h, (days, _) in pools),
        horizon_shared=tuple((h, bool(shared)) for h, (_, shared) in pools),
    )


def with_mix(spec: BandSpec, mix: tuple[tuple[int, float], ...]) -> BandSpec:
    return named(spec, horizon_mix=tuple((h, float(w)) for h, w in mix))


def own_at_hour(spec: BandSpec, days: int) -> BandSpec:
    """`spec` calibrated an hour ahead on each pair's own `days` of errors, so within the pair's
    own width bins (a shared pool's bins are of spreads relative to the year's)."""
    return named(
        spec,
        horizon_pools=((1, days), *((h, d) for h, d in spec.horizon_pools if h > 1)),
        horizon_shared=((1, False), *((h, s) for h, s in spec.horizon_shared if h > 1)),
    )


def held_where_wide(
    options: list[BandSpec], scores: dict[BandSpec, dict[str, float]], held: dict[str, dict]
) -> BandSpec:
    """Of `options` whose 1h band holds at every width fifth and pair (`held`, by name:
    `panel_figures.where_wide`), the lowest 1h score; where none does, the first."""
    holding = [each for each in options if held[each.name]["holds"]] or options[:1]
    return min(holding, key=lambda each: scores[each]["1h"])


def uniform_pool(spec: BandSpec, days: int, shared: bool = False) -> BandSpec:
    return with_pools(spec, tuple((h, (days, shared)) for h in HOURS.values()))


def uniform_mix(spec: BandSpec, weight: float) -> BandSpec:
    return named(spec, horizon_mix=tuple((h, weight) for h in HOURS.values()))


def with_har(spec: BandSpec, weights: tuple[tuple[int, float], ...]) -> BandSpec:
    """`spec` with HAR-RV's spread averaged in at `weights` (none where every weight is 0)."""
    return named(spec, horizon_har=weights if any(w for _, w in weights) else ())


def with_binned_adapt(spec: BandSpec) -> BandSpec:
    return named(spec, adapt_binned=True)
