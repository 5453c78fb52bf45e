"""The track record's earlier formats, read only: the first release to extend a record one of
them wrote brings it to the current format (`artifact/record.py`) through this module, and
writes it so.

Format 1 (gzipped JSON) kept every issue whole, as issued (`RecordIssue`), with the closes
fetched: its issues are added again in order, then scored on those closes.

Format 2 kept the same rows in coarser steps (`_STEPS`, shares of the same lead's unit, widened
alike; the pending values in 5000ths of it), rounded with a subtractive dither (a pseudo-random
offset a function of the row's issue, lead and column, `_offsets`), what the rounding took off
summed per lead and outcome (its carry, in 128ths of a step) and given back evenly to the
lead's rows; it stored each table differenced down the rows, zigzagged and split into byte
planes (`_whole`). Its values are taken back as format 2 gave them and kept in the current
format's steps: a mean moves by less than half a current step.
"""

from __future__ import annotations

import msgspec
import numpy as np

from cryptopredict.artifact.record_rows import (
    BAND_STEP,
    OUTCOME_STEPS,
    OUTCOMES,
    PENDING,
    SCORED,
    VALUES,
    IssueHead,
    PairRecord,
    RecordHead,
    RecordIssue,
    RecordNote,
    Table,
)

_STEPS = np.array([1 / 10, 1 / 80, 1 / 4, 1 / 2, 1, 1 / 25, 1 / 10, 1 / 3])  # `OUTCOMES`'
_DITHERED = np.array([name != "error_difference" for name in OUTCOMES])
_BAND_STEP = 1 / 5000
_NO_NAIVE = -(2**62)  # naive's values of an issue that kept no naive band


class FileV1(RecordHead, frozen=True, forbid_unknown_fields=True):
    issues: list[RecordIssue]
    absent: RecordNote | None = None
    record_version: int = 1


def upgraded_v1(old: FileV1) -> PairRecord:
    """`old` in the current format; ValueError where an issue does not hold its values."""
    record = PairRecord(old.asset, old.symbol, old.started, old.scored_until, absent=old.absent)
    closes: dict[int, float] = {}
    for issue in old.issues:
        rows = [*issue.served, *(issue.naive or ())]
        if {len(issue.served), len(issue.naive or issue.served), len(issue.closes)} != {
            len(issue.leads)
        } or {len(row) for row in rows} - {len(VALUES)}:
            raise ValueError(
                f"the issue of {issue.model_version} at {issue.data_until} does not hold "
                f"{len(VALUES)} values and a close at each of its {len(issue.leads)} leads"
            )
        record = record.issued(issue)
        closes.update(
            (issue.data_until + lead, close)
            for lead, close in zip(issue.leads, issue.closes, strict=True)
            if close is not None
        )
    return record.scored_on(closes)


class Packed(msgspec.Struct, frozen=True, array_like=True):
    rows: int
    data: bytes


class FileV2(RecordHead, frozen=True, forbid_unknown_fields=True):
    """A pair's record as format 2 stored it: `leads` (lead, scale, and a carry per outcome),
    `pending` and `scored` packed."""

    leads: Packed
    pending: Packed
    scored: Packed
    issues: tuple[tuple[str, int, int, float], ...] = ()  # model version, data's end, issue, anchor
    absent: RecordNote | None = None
    record_version: int = 2


def upgraded_v2(old: FileV2) -> PairRecord:
    """`old` in the current format; ValueError where its tables do not hold their rows, or its
    rows name issues or leads it does not hold."""
    leads = _whole(old.leads, 2 + len(OUTCOMES), differenced=2)
    pending = _whole(old.pending, 2 + PENDING, differenced=2 + PENDING)
    scored = _whole(old.scored, 2 + SCORED, differenced=2)
    rows = np.concatenate([pending[:, 0], scored[:, 0]])
    at = np.searchsorted(leads[:, 0], scored[:, 1])
    held = np.isin(np.concatenate([pending[:, 1], scored[:, 1]]), leads[:, 0])
    if (len(rows) and not 0 <= rows.min() <= rows.max() < len(old.issues)) or not held.all():
        raise ValueError("its rows name issues or leads it does not hold")
    ends = np.array([issue[1] for issue in old.issues], dtype=np.int64)
    values = pending[:, 2:] + np.tile(
        _offsets(ends[pending[:, 0]], pending[:, 1], len(VALUES), 1), 2
    )
    no_naive = (pending[:, 2 + len(VALUES) :] == _NO_NAIVE).all(axis=1)
    values[no_naive, len(VALUES) :] = 0
    offsets = _offsets(ends[scored[:, 0]], scored[:, 1], len(OUTCOMES), 2) * _DITHERED
    share = leads[at, 2:] / 128 / np.bincount(at)[at][:, None]
    outcomes = (scored[:, 2:-1] + offsets + share) * _STEPS / OUTCOME_STEPS
    lacking = set(pending[no_naive, 0].tolist())
    return PairRecord(
        old.asset,
        old.symbol,
        old.started,
        old.scored_until,
        issues=tuple(
            IssueHead(*issue, number not in lacking) for number, issue in enumerate(old.issues)
        ),
        scales=dict(zip(leads[:, 0].tolist(), leads[:, 1].tolist(), strict=True)),
        pending=Table(np.column_stack([pending[:, :2], np.round(values * _BAND_STEP / BAND_STEP)])),
        scored=Table(np.column_stack([scored[:, :2], np.round(outcomes), scored[:, -1]])),
        absent=old.absent,
    )


def _whole(stored: Packed, width: int, *, differenced: int) -> np.ndarray:
    """(rows, width) whole numbers: each column's int64 bytes planes apart, zigzagged, the
    first `differenced` columns differenced down the rows."""
    if len(stored.data) != 8 * stored.rows * width:
        raise ValueError(f"{len(stored.data)} bytes for {stored.rows} rows of {width} columns")
    planes = np.frombuffer(stored.data, np.uint8).reshape(8, -1).T.copy()
    zigzag = planes.view("<u8").reshape(width, stored.rows).T
    whole = ((zigzag >> np.uint64(1)) ^ (np.uint64(0) - (zigzag & np.uint64(1)))).view(np.int64)
    whole[:, :differenced] = np.cumsum(whole[:, :differenced], axis=0)
    return whole


def _offsets(data_until: np.ndarray, lead: np.ndarray, columns: int, salt: int) -> np.ndarray:
    """(rows, columns) offsets in [-1/2, 1/2) of each row's steps, a function of its issue (its
    data's end), lead and column alone (SplitMix64's finaliser over them): the pending values'
    (salt 1, naive's taking the served ones'), the outcomes' (salt 2)."""
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
