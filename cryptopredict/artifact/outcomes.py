"""The numbers a track record keeps a row of (format 2, `artifact/record.py`), in whole steps.

A row is one issue at one lead. Until its close is fetched it keeps the band as issued
(`band_steps`: the served and naive point and bounds, as log ratios to the issue's anchor); once
scored, only what the track record's figures are means of (`OUTCOMES`: the point's absolute
percentage error and its difference with naive's, and per band its interval score and the
difference with naive's, as `api/serving/track_record.py` averages them) and whether each band
held the price (`inside_bits`).

Every number is kept in whole steps of its row's unit (`record_rows.unit`: its lead's scale, the
served 80% band's log width at that lead when the record first held it), rounded with a
subtractive dither (Schuchman 1964): a pseudo-random offset in [-1/2, 1/2) of a step, the same
for the writer and the reader (a hash of the row's issue, lead and column), added before
rounding and taken off after. The error left is uniform within half a step and independent of
the value, so means over many rows carry no rounding bias: at a twentieth of the unit for
errors and scores and an eightieth for differences (which spread less), a figure's mean moves
by at most about 0.05 of its standard error (`python -m bench.record_size`). The difference of
the point errors alone is rounded plainly (`DITHERED`).
"""

from __future__ import annotations

import numpy as np

from cryptopredict.artifact.schema import LEVELS
from cryptopredict.band_scores import inside, interval_score

OUTCOMES = (
    "error",
    "error_difference",
    *(f"score_{level}" for level in LEVELS),
    *(f"score_difference_{level}" for level in LEVELS),
)
# Each outcome's step, as a share of its lead's scale: differences spread less than what they
# are differences of, so they are kept finer.
OUTCOME_STEPS = np.array(
    [1 / 20 if "difference" not in name else 1 / 80 for name in OUTCOMES], dtype=np.float64
)
# Rounded with the dither, but the difference of the point errors: it is exactly 0 wherever the
# served point is naive's (the panel's damping at tau 0), and a dither would show a difference
# where there is none.
DITHERED = np.array([name != "error_difference" for name in OUTCOMES])
BAND_STEP = 1 / 10000  # the issued band's values, as a share of the lead's scale
NAIVE_BIT = 1 << (2 * len(LEVELS))  # set where naive's band was kept


def dither(data_until: np.ndarray, lead: np.ndarray, columns: int, salt: int) -> np.ndarray:
    """(rows, columns) offsets in [-1/2, 1/2), a function of each row's issue (its data's end),
    lead and column alone (SplitMix64's finaliser over them)."""
    with np.errstate(over="ignore"):
        x = (
            np.asarray(data_until, np.uint64)[:, None] * np.uint64(0x9E3779B97F4A7C15)
            + np.asarray(lead, np.uint64)[:, None] * np.uint64(0xBF58476D1CE4E5B9)
            + np.arange(columns, dtype=np.uint64)[None, :] * np.uint64(0x94D049BB133111EB)
            + np.uint64(salt)
        )
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return (x >> np.uint64(11)).astype(np.float64) / 2.0**53 - 0.5


def to_steps(values: np.ndarray, steps: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    return np.round(values / steps - offsets).astype(np.int64)


def from_steps(kept: np.ndarray, steps: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    return (kept + offsets) * steps


def outcomes(served: np.ndarray, naive: np.ndarray, close: np.ndarray) -> np.ndarray:
    """`OUTCOMES` of each row (`served` and `naive` in `VALUES` order, naive NaN where not kept,
    its differences then 0)."""
    has_naive = np.isfinite(naive).all(axis=1)
    naive = np.where(has_naive[:, None], naive, served)
    error = np.abs(close - served[:, 0]) / close
    columns = [error, error - np.abs(close - naive[:, 0]) / close]
    scores, differences = [], []
    for index, level in enumerate(LEVELS):
        low, high = 1 + 2 * index, 2 + 2 * index
        score = interval_score(close, served[:, low], served[:, high], level)
        scores.append(score)
        differences.append(score - interval_score(close, naive[:, low], naive[:, high], level))
    return np.column_stack([*columns, *scores, *differences])


def inside_bits(served: np.ndarray, naive: np.ndarray, close: np.ndarray) -> np.ndarray:
    """Per row: bit k set where the served band k (`LEVELS` order) held the close, bit
    len(LEVELS) + k where naive's did, and `NAIVE_BIT` where naive's band was kept."""
    bits = np.zeros(len(close), dtype=np.int64)
    for index in range(len(LEVELS)):
        low, high = 1 + 2 * index, 2 + 2 * index
        bits |= inside(close, served[:, low], served[:, high]).astype(np.int64) << index
        naive_held = inside(close, naive[:, low], naive[:, high])
        bits |= naive_held.astype(np.int64) << (len(LEVELS) + index)
    return bits | np.where(np.isfinite(naive).all(axis=1), NAIVE_BIT, 0)


def held(bits: np.ndarray, level: int, *, naive: bool = False) -> np.ndarray:
    """Whether the band at `level` (naive's with `naive`) held the close, per row's bits."""
    return (bits >> (LEVELS.index(level) + (len(LEVELS) if naive else 0))) & 1 == 1
