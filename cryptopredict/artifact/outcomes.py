"""The numbers a track record keeps a row of (format 2, `artifact/record.py`), in whole steps.

A row is one issue at one lead. Until its close is fetched it keeps the band as issued
(`record_rows.Bands`: the served and naive point and bounds, as log ratios to the issue's
anchor); once scored, only what the track record's figures are means of (`OUTCOMES`: the
point's absolute percentage error and its difference with naive's, and per band its interval
score and the difference with naive's, as `api/serving/track_record.py` averages them) and
whether each band held the price (`inside_bits`).

Every number is kept in whole steps (`OUTCOME_STEPS`: a share of its row's unit, the lead's
scale (`record_rows.unit`: the served 80% band's log width at that lead when the record first
held it), about a quarter of the spread that outcome has at a lead, widened beyond six hours
(the release's cadence) with the square root of the lead in six hours (`widening`): a mean's
standard error there grows with the overlap of issues, the rounding's share of it does not).
A scored row is rounded with a subtractive dither (Schuchman 1964): a pseudo-random offset in
[-1/2, 1/2) of a step, the same for the writer and the reader (a hash of the row's issue, lead
and column), added before rounding and taken off after, so that the error left is uniform
within half a step and independent of the value, and standard errors move little (the
difference of the point errors alone is rounded plainly, `DITHERED`). What the rounding takes
off is summed per lead and outcome (the lead's carry, in `CARRY_STEPS`ths of a step) and given
back evenly to the lead's rows when they are read: every mean over a lead's issues, a single
issue's value included, is the exact one within a 256th of a step
(`python -m bench.record_size`).
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
# Each outcome's step, as a share of its lead's unit: about a quarter of the spread each has at
# a lead in a year of issues (`python -m bench.record_size`), the interval scores' spread growing
# with their level's penalty and the differences with naive's spreading less.
_STEPS = {
    "error": 1 / 10,
    "error_difference": 1 / 80,
    "score_50": 1 / 4,
    "score_80": 1 / 2,
    "score_95": 1,
    "score_difference_50": 1 / 25,
    "score_difference_80": 1 / 10,
    "score_difference_95": 1 / 3,
}
OUTCOME_STEPS = np.array([_STEPS[name] for name in OUTCOMES], dtype=np.float64)
# Rounded with the dither, but the difference of the point errors: it is exactly 0 wherever the
# served point is naive's (the panel's damping at tau 0), and a dither would show a difference
# where there is none.
DITHERED = np.array([name != "error_difference" for name in OUTCOMES])
CARRY_STEPS = 128  # a lead's carry is kept in whole 128ths of a step
# The issued band's values, as a share of the lead's scale: fine enough that a close is seldom
# so near an edge that the band kept and the band issued disagree on whether it held it.
BAND_STEP = 1 / 5000
SPACING = 6 * 3600  # the releases' cadence, seconds
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


def widening(lead: np.ndarray) -> np.ndarray:
    """(rows, 1): how much wider a lead's steps are than at six hours: the square root of its
    length in six hours (how many six-hourly issues share part of one window), 1 within it."""
    return np.sqrt(np.maximum(np.asarray(lead, np.float64) / SPACING, 1.0))[:, None]


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
