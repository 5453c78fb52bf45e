"""What `make panel` decided for every pair (`tools/panel.py`; docs/model.md says how), which
training reads: the damping every pair serves and the band every hourly pair serves, in
`panel_choice.json`, and the pool of errors the panel's pairs share (`stored_pools`), in
`panel_pool.npz`, both beside this module."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cryptopredict.artifact.schema import BandSpec, ModelConfig
from cryptopredict.model.band_spec import named
from cryptopredict.model.calibration import Stored

PANEL_CHOICE = Path(__file__).with_name("panel_choice.json")
PANEL_POOL = Path(__file__).with_name("panel_pool.npz")
FIELDS = ("weeks", "tables", "edges", "floors")  # each horizon's arrays in it, `<hours>_<field>`
INTERVAL = pd.Timedelta(hours=1)  # the panel's bars


def panel_band(interval: pd.Timedelta = INTERVAL, path: Path = PANEL_CHOICE) -> BandSpec | None:
    """The panel's band for bars of `interval`, or None where no panel has chosen one for them
    (the panel is of hourly pairs: a daily pair chooses its own band)."""
    if interval != INTERVAL or not path.exists():
        return None
    band = {key: _tuples(value) for key, value in _choice(path)["band"].items()}
    return named(BandSpec(**band))


def panel_damping(path: Path = PANEL_CHOICE) -> float | None:
    """The damping (tau, hours) the panel chose for every pair; None: Prophet's move undamped."""
    damping = _choice(path).get("damping")
    if damping is None:
        raise ValueError(f"{path} holds no damping: run `make panel`")
    chosen: float | None = damping["chosen"]
    return chosen


def served_config(path: Path = PANEL_CHOICE) -> ModelConfig:
    """The served configuration: the default one with the panel's damping."""
    return ModelConfig(damping_hours=panel_damping(path))


def _tuples(value: Any) -> Any:
    """JSON's arrays as tuples, its numbers as written: the manifests repeat the panel's band,
    whose 1-day window msgspec would read as 1.0."""
    return tuple(map(_tuples, value)) if isinstance(value, list) else value


@functools.cache
def _choice(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


@functools.cache
def stored_pools(path: Path = PANEL_POOL) -> dict[int, Stored] | None:
    """By horizon (hours), the shared pool's calibrations `make panel` stored (None: none
    stored)."""
    if not path.exists():
        return None
    with np.load(path) as arrays:
        hours = sorted({int(name.split("_", 1)[0]) for name in arrays.files})
        return {h: Stored(*(np.asarray(arrays[f"{h}_{field}"]) for field in FIELDS)) for h in hours}
