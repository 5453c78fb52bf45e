"""The track record's earlier formats, read and brought to the current one.

Format 1 (gzipped JSON) kept every issue whole (`RecordIssue`) with its closes: they are issued
and scored again. Format 2 kept the rows in coarser steps (`_STEPS`), rounded with a
subtractive dither (`_offsets`) whose carry per lead and outcome was given back evenly,
differenced, zigzagged and in byte planes (`_whole`): read back as it gave them, kept in the
current steps (a mean moves by less than half a step).
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
    """`leads` (lead, scale, and a carry per outcome), `pending` and `scored` packed."""

    leads: Packed
    pending: Packed
    scored: Packed
    issues: tuple[tuple[str, int, int, float], ...] = ()  # model version, data's end, issue, anchor
    absent: RecordNote | None = None
    record_version: int = 2


def upgraded_v2(old: FileV2) -> PairRecord:
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
    """(rows, width) int64 from byte planes, zigzagged, the first `differenced` cumulated."""
    if len(stored.data) != 8 * stored.rows * width:
        raise ValueError(f"{len(stored.data)} bytes for {stored.rows} rows of {width} columns")
    planes = np.frombuffer(stored.data, np.uint8).reshape(8, -1).T.copy()
    zigzag = planes.view("<u8").reshape(width, stored.rows).T
    whole = ((zigzag >> np.uint64(1)) ^ (np.uint64(0) - (zigzag & np.uint64(1)))).view(np.int64)
    whole[:, :differenced] = np.cumsum(whole[:, :differenced], axis=0)
    return whole


def _offsets(data_until: np.ndarray, lead: np.ndarray, columns: int, salt: int) -> np.ndarray:
    """(rows, columns) dither in [-1/2, 1/2): SplitMix64's finaliser over the row's data's end,
    lead and column (salt 1: pending values, 2: outcomes)."""
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
