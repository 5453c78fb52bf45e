"""What a release issues of a model, as its track record keeps it (`artifact/record.py`): the
forecast at fixed leads after the model's data ended, with the naive forecast's at the same
leads, as the API answers them.

The leads, in hours after the data's end: the band's own calibrated hours
(`PostprocessRules.band_hours`: 1 to 720 for hourly bars), every day from 1 to 30, 90 days and a
year, those the forecast reaches. At each, the instant `data_until + lead`, and the forecast there
as the point answers give it (`answers.prediction`, so rounded as they round it): the point and the
bounds of every band. Naive's: the last price of the model's data, with naive's band at the same
lead (`NaiveForecast`, as the backtest calibrates it), rounded alike; none for an artifact written
before naive's band was kept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from cryptopredict.api.serving.answers import prediction
from cryptopredict.artifact.record_rows import VALUES, RecordIssue
from cryptopredict.artifact.schema import DEFAULT_LEVEL, LEVELS, NaiveForecast
from cryptopredict.postprocess import empirical_offsets, price_decimals

if TYPE_CHECKING:
    from cryptopredict.api.serving.catalog import CatalogEntry

HOUR = 3600
DAY_LEADS = (*range(24, 30 * 24 + 1, 24), 90 * 24, 365 * 24)


def lead_hours(band_hours: tuple[float, ...]) -> list[int]:
    """Every lead kept, in whole hours, increasing."""
    return sorted({round(hours) for hours in band_hours if hours >= 1} | set(DAY_LEADS))


def issue_of(served: CatalogEntry, issued_at: int) -> RecordIssue:
    """`served`'s forecast as the API answers it at each lead the forecast reaches, no close
    known yet."""
    forecast = served.forecast
    manifest = served.artifact.manifest
    hours = lead_hours(manifest.postprocess.band_hours)
    leads = np.array(
        [h * HOUR for h in hours if forecast.data_end + h * HOUR <= forecast.end], dtype=np.int64
    )
    rows = []
    for lead in leads.tolist():
        at = forecast.data_end + lead
        answers = {
            level: prediction(forecast, at, level, model_version=served.model_version)
            for level in LEVELS
        }
        row = [answers[DEFAULT_LEVEL].prediction]
        for level in LEVELS:
            row += [answers[level].prediction_low, answers[level].prediction_high]
        rows.append(row)
    naive = manifest.naive
    return RecordIssue(
        model_version=served.model_version,
        data_until=forecast.data_end,
        issued_at=issued_at,
        leads=leads.tolist(),
        served=rows,
        naive=None if naive is None else naive_values(naive, leads / HOUR).tolist(),
        closes=[None] * len(leads),
    )


def naive_values(naive: NaiveForecast, hours: np.ndarray) -> np.ndarray:
    """Naive's point and bounds at `hours` after the data's end, rounded as the point answers
    round the served forecast (each band by its lower bound's decimals, the point as the
    default band)."""
    out = np.empty((len(hours), len(VALUES)))
    for column, level in enumerate(LEVELS):
        key = str(level)
        offsets = (
            empirical_offsets(hours, naive.hours, naive.lower[key], upper=False),
            empirical_offsets(hours, naive.hours, naive.upper[key], upper=True),
        )
        lower, upper = (naive.price * np.exp(offset) for offset in offsets)
        for row in range(len(hours)):
            decimals = price_decimals(float(lower[row]))
            out[row, 1 + 2 * column] = round(float(lower[row]), decimals)
            out[row, 2 + 2 * column] = round(float(upper[row]), decimals)
            if level == DEFAULT_LEVEL:
                out[row, 0] = round(naive.price, decimals)
    return out
