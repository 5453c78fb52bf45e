"""The calibration pool the panel's pairs share, as `make panel` stores it for training: at each
calibrated horizon where the panel's band calibrates on it (`BandSpec.shared_for`), the pool's
quantiles at every week start (`calibration.Stored`), from the standardized errors of the 16
spot pairs of the whole history (`tools/panel_search.store_pools` writes them). A pair trained
alone calibrates there on them as the panel did; past the last week stored, on the last one.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from cryptopredict.model.calibration import Stored

PANEL_POOL = Path(__file__).with_name("panel_pool.npz")
FIELDS = ("weeks", "tables", "edges", "floors")


@functools.cache
def stored_pools(path: Path = PANEL_POOL) -> dict[int, Stored] | None:
    """By horizon (hours), the shared pool's calibrations `make panel` stored (None: none
    stored)."""
    if not path.exists():
        return None
    with np.load(path) as arrays:
        hours = sorted({int(name.split("_", 1)[0]) for name in arrays.files})
        return {h: Stored(*(np.asarray(arrays[f"{h}_{field}"]) for field in FIELDS)) for h in hours}
