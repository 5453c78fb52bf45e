"""What a release issues of a model into its track record (`artifact/record_rows.py`): the
forecast at fixed leads after the model's data ended, with the naive forecast's at the same
leads, as the API answers them.

The leads, in hours after the data's end: the band's own calibrated hours
(`PostprocessRules.band_hours`: 1 to 720 for hourly bars), every day from 1 to 30, 90 days and a
year, those the forecast reaches (the grid's end, or the served horizon if that comes first). At
each, the instant `data_until + lead`, and the forecast there as the point answers give it
(`api/serving/forecast.Forecast.prediction`: the grid at the bar closing then, each band rounded
by its lower bound's decimals, the point as the default band): the point and the bounds of every
band. Naive's: the last price of the model's data, with naive's band at the same lead
(`NaiveForecast`, as the backtest calibrates it), rounded alike; none for an artifact written
before naive's band was kept.
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
    """Every lead kept, in whole hours, increasing."""
    return sorted({round(hours) for hours in band_hours if hours >= 1} | set(DAY_LEADS))


def issue_of(artifact: Artifact, issued_at: int, *, max_horizon_days: float) -> RecordIssue:
    """`artifact`'s forecast as the API answers it (serving `max_horizon_days` ahead) at each
    lead the forecast reaches, no close known yet."""
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
    """`VALUES` at each lead, from each level's (point, low, high) there, rounded as the point
    answers round them (`round_band`), the point as the default band's."""
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
