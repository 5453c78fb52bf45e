"""A pair's track record (its file: `artifact/record.py`): the forecasts releases issued of it
(`IssueHead`), a row an issue at each lead, pending until a release fetches the close at its
instant, then scored. A row keeps whole numbers of fixed steps, rounded to the nearest, of its
lead's unit (the served 80% band's log width there when the record first held the lead, a power
of 2 ** (1 / 16): `scales`): pending, the served and naive `VALUES` as issued, as log ratios to
the issue's anchor, in `BAND_STEP`s; scored, the track record's `OUTCOMES` in `OUTCOME_STEPS`,
and which bands held the close (`inside_bits`)."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec
import numpy as np
from msgspec.structs import replace

from cryptopredict.artifact.record_format import RECORD_VERSION
from cryptopredict.artifact.schema import LEVELS
from cryptopredict.standard_error import inside, interval_score

# The values kept at each lead, of the served forecast and of naive's alike.
VALUES = ("point", *(f"{side}_{level}" for level in LEVELS for side in ("low", "high")))
OUTCOMES = (
    "error",  # the point's absolute percentage error
    "error_difference",  # minus naive's
    *(f"score_{level}" for level in LEVELS),  # each band's interval score (of log prices)
    *(f"score_difference_{level}" for level in LEVELS),  # minus naive's
)
# Each outcome's step as a share of its lead's unit: rounding moves no mean by 1/20 of its SE
# (`python -m bench.record_size`).
OUTCOME_STEPS = np.array([1 / 160, 1 / 1280, 1 / 64, 1 / 32, 1 / 16, 1 / 400, 1 / 160, 1 / 48])
BAND_STEP = 1 / 100_000  # a pending row's values, as a share of its lead's unit
PENDING, SCORED = 2 * len(VALUES), len(OUTCOMES) + 1  # numbers a pending and a scored row keeps
SCALE_LEVEL, SCALE_STEPS = 80, 16  # the unit: this band's width, as a power of 2 ** (1 / 16)
NAIVE_BIT = 1 << (2 * len(LEVELS))  # set where naive's band was kept


class RecordIssue(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One forecast as issued: per lead (seconds after `data_until`), `VALUES` of the served
    forecast and of naive's (None: not kept), and the close there (None: not fetched yet)."""

    model_version: str
    data_until: int  # the close of the model's last bar, epoch seconds
    issued_at: int  # when the release issued it
    leads: list[int]
    served: list[list[float]]
    naive: list[list[float]] | None
    closes: list[float | None]


class RecordNote(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    at: int  # epoch seconds
    why: str


class IssueHead(msgspec.Struct, frozen=True, array_like=True):
    model_version: str
    data_until: int
    issued_at: int
    anchor: float  # the served point at its first lead: its rows' values are log ratios to it
    has_naive: bool  # whether naive's band was kept


class RecordCount(msgspec.Struct, frozen=True, array_like=True):
    issues: int
    scored: int


class Table:  # noqa: PLW1641 (mutable: no hash)
    """Rows by lead, then issue: the issue's index, the lead (seconds), the whole `steps`."""

    __slots__ = ("issue", "lead", "steps", "whole")

    def __init__(self, whole: np.ndarray) -> None:
        self.whole = np.asarray(whole, dtype=np.int64)  # (rows, 2 + numbers)
        self.issue, self.lead, self.steps = self.whole[:, 0], self.whole[:, 1], self.whole[:, 2:]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Table) and np.array_equal(self.whole, other.whole)

    def where(self, mask: np.ndarray) -> Table:
        return Table(self.whole[mask])

    def joined(self, other: Table) -> Table:
        whole = np.vstack([self.whole, other.whole])
        return Table(whole[np.lexsort((whole[:, 0], whole[:, 1]))])


class RecordHead(msgspec.Struct, frozen=True):
    asset: str
    symbol: str
    started: RecordNote
    scored_until: int


class PairRecord(RecordHead, frozen=True):
    """A pair's track record; `absent`: why its newest release did not train it."""

    issues: tuple[IssueHead, ...] = ()
    scales: dict[int, int] = msgspec.field(default_factory=dict)
    pending: Table = msgspec.field(default_factory=lambda: Table(np.empty((0, 2 + PENDING))))
    scored: Table = msgspec.field(default_factory=lambda: Table(np.empty((0, 2 + SCORED))))
    absent: RecordNote | None = None
    record_version: int = RECORD_VERSION

    @property
    def count(self) -> RecordCount:
        return RecordCount(len(self.issues), len(self.scored.whole))

    def data_until(self, rows: Table) -> np.ndarray:
        return np.array([issue.data_until for issue in self.issues], dtype=np.int64)[rows.issue]

    def unit(self, lead: np.ndarray) -> np.ndarray:
        """(rows, 1): each row's lead's unit."""
        steps = np.array([self.scales[at] for at in lead.tolist()], dtype=np.float64)
        return 2.0 ** (steps[:, None] / SCALE_STEPS)

    def issued(self, issue: RecordIssue) -> PairRecord:
        """This record with `issue` added as pending rows (unless it holds it)."""
        if (issue.model_version, issue.data_until) in {
            (held.model_version, held.data_until) for held in self.issues
        }:
            return self
        served = np.array(issue.served, dtype=np.float64).reshape(len(issue.leads), len(VALUES))
        naive = np.array(issue.naive if issue.naive is not None else np.nan, dtype=np.float64)
        low, high = VALUES.index(f"low_{SCALE_LEVEL}"), VALUES.index(f"high_{SCALE_LEVEL}")
        with np.errstate(divide="ignore", invalid="ignore"):
            width = np.log(served[:, high] / served[:, low])
        scale = np.round(SCALE_STEPS * np.log2(np.where(width > 0, width, 1e-3))).astype(int)
        scales = dict(zip(issue.leads, scale.tolist(), strict=True))
        anchor = float(served[0, 0]) if len(served) else 1.0
        kept_naive = issue.naive is not None
        head = IssueHead(issue.model_version, issue.data_until, issue.issued_at, anchor, kept_naive)
        record = replace(self, issues=(*self.issues, head), scales={**scales, **self.scales})
        leads = np.array(issue.leads, dtype=np.int64)
        ratios = np.log(np.hstack([served, np.broadcast_to(naive, served.shape)]) / anchor)
        kept = np.round(np.nan_to_num(ratios) / (record.unit(leads) * BAND_STEP))
        rows = Table(np.column_stack([np.full(len(leads), len(self.issues)), leads, kept]))
        return replace(record, pending=self.pending.joined(rows))

    def scored_on(self, closes: Mapping[int, float]) -> PairRecord:
        """This record with the pending rows scored whose close `closes` holds."""
        rows = self.pending
        valid_at = self.data_until(rows) + rows.lead
        close = np.array([closes.get(at, np.nan) for at in valid_at.tolist()], dtype=np.float64)
        found = np.isfinite(close) & (close > 0)
        if not found.any():
            return self
        now = rows.where(found)
        served, naive = self.bands(now)
        kept = np.round(outcomes(served, naive, close[found]) / self.outcome_steps(now))
        bits = inside_bits(served, naive, close[found])
        scored = Table(np.column_stack([now.issue, now.lead, kept, bits]))
        return replace(self, pending=rows.where(~found), scored=self.scored.joined(scored))

    def bands(self, rows: Table) -> tuple[np.ndarray, np.ndarray]:
        """The served and naive values of pending `rows` (naive's NaN where not kept)."""
        anchor = np.array([issue.anchor for issue in self.issues])[rows.issue]
        values = anchor[:, None] * np.exp(rows.steps * self.unit(rows.lead) * BAND_STEP)
        naive = np.array([issue.has_naive for issue in self.issues], dtype=bool)[rows.issue]
        values[~naive, len(VALUES) :] = np.nan
        return values[:, : len(VALUES)], values[:, len(VALUES) :]

    def outcome_steps(self, rows: Table) -> np.ndarray:
        return self.unit(rows.lead) * widening(rows.lead) * OUTCOME_STEPS[None, :]

    def outcomes(self) -> tuple[np.ndarray, np.ndarray]:
        """The scored rows' `OUTCOMES` and `inside_bits`."""
        rows = self.scored
        return rows.steps[:, : len(OUTCOMES)] * self.outcome_steps(rows), rows.steps[:, -1]


def widening(lead: np.ndarray) -> np.ndarray:
    """(rows, 1): how much wider a lead's steps are than six hours', as a mean's SE grows."""
    return np.sqrt(np.maximum(np.asarray(lead, np.float64) / (6 * 3600), 1.0))[:, None]


def outcomes(served: np.ndarray, naive: np.ndarray, close: np.ndarray) -> np.ndarray:
    """`OUTCOMES` of each row (naive's differences 0 where not kept)."""
    naive = np.where(np.isfinite(naive).all(axis=1)[:, None], naive, served)
    error, naive_error = (np.abs(close - band[:, 0]) / close for band in (served, naive))
    score, naive_score = (
        np.column_stack(
            [
                interval_score(close, band[:, 2 * k + 1], band[:, 2 * k + 2], level)
                for k, level in enumerate(LEVELS)
            ]
        )
        for band in (served, naive)
    )
    return np.column_stack([error, error - naive_error, score, score - naive_score])


def inside_bits(served: np.ndarray, naive: np.ndarray, close: np.ndarray) -> np.ndarray:
    """Per row: bit k set where the served band k (`LEVELS` order) held the close, bit
    len(LEVELS) + k where naive's did, and `NAIVE_BIT` where naive's band was kept."""
    bits = np.where(np.isfinite(naive).all(axis=1), NAIVE_BIT, 0)
    for k in range(2 * len(LEVELS)):
        band, low = (served, naive)[k // len(LEVELS)], 1 + 2 * (k % len(LEVELS))
        bits |= inside(close, band[:, low], band[:, low + 1]).astype(np.int64) << k
    return bits
