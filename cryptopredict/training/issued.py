"""What a release issues of a model into its track record (`artifact/record_rows.py`): at fixed
leads after the data's end (the band's calibrated hours, every day to 30, 90 days and a year,
those the forecast reaches), the forecast as the point answers give it, every band's bounds,
and naive's (the last price, with naive's band at the lead), rounded alike.
"""

from __future__ import annotations

import numpy as np

from cryptopredict.artifact.read import Artifact
from cryptopredict.artifact.record_rows import RecordIssue
from cryptopredict.artifact.schema import DEFAULT_LEVEL, LEVELS
from cryptopredict.postprocess import empirical_offsets, round_band

HOUR = 3600
DAY = 86_400
DAY_LEADS = (*range(24, 30 * 24 + 1, 24), 90 * 24, 365 * 24)


def lead_hours(band_hours: tuple[float, ...]) -> list[int]:
    return sorted({round(hours) for hours in band_hours if hours >= 1} | set(DAY_LEADS))


def issue_of(artifact: Artifact, issued_at: int, *, max_horizon_days: float) -> RecordIssue:
    """`artifact`'s forecast as the API answers it at each lead it reaches, no close known."""
    grid, manifest = artifact.grid_file, artifact.manifest
    data_end = artifact.history.last_bar + grid.step
    end = min(grid.last + grid.step, data_end + round(max_horizon_days * DAY))
    hours = np.array(lead_hours(manifest.postprocess.band_hours), dtype=np.int64)
    leads = hours[data_end + hours * HOUR <= end] * HOUR
    labels = data_end + leads - grid.step  # the grid's rows: the bars closing at each instant
    served = {level: grid.values_at(labels, level) for level in LEVELS}
    naive = manifest.naive
    naive_bands = {}
    if naive is not None:
        for level in LEVELS:
            key, at = str(level), leads / HOUR
            low = empirical_offsets(at, naive.hours, naive.lower[key], upper=False)
            high = empirical_offsets(at, naive.hours, naive.upper[key], upper=True)
            naive_bands[level] = naive.price * np.exp(np.column_stack([0 * low, low, high]))
    return RecordIssue(
        model_version=manifest.model_version,
        data_until=data_end,
        issued_at=issued_at,
        leads=leads.tolist(),
        served=as_answered(served),
        naive=as_answered(naive_bands) if naive is not None else None,
        closes=[None] * len(leads),
    )


def as_answered(bands: dict[int, np.ndarray]) -> list[list[float]]:
    """`VALUES` at each lead from each level's (point, low, high), rounded as answered."""
    rows = []
    for at in range(len(bands[DEFAULT_LEVEL])):
        row = [0.0]
        for level in LEVELS:
            point, low, high = round_band(*bands[level][at].tolist())
            row += [low, high]
            if level == DEFAULT_LEVEL:
                row[0] = point
        rows.append(row)
    return rows
