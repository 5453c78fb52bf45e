"""A pair's track record in memory (its file: `artifact/record.py`): the forecasts releases
issued of it (`IssueHead`), a row an issue at each of its leads, pending until a release
fetches the close at its instant and then scored (`PairRecord.issued`, `PairRecord.scored_on`;
a row's numbers: `artifact/outcomes.py`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Self

import msgspec
import numpy as np
from msgspec.structs import replace

from cryptopredict.artifact.outcomes import (
    BAND_STEP,
    DITHERED,
    OUTCOME_STEPS,
    OUTCOMES,
    dither,
    from_steps,
    inside_bits,
    outcomes,
    to_steps,
)
from cryptopredict.artifact.schema import LEVELS

# The values kept at each lead, of the served forecast and of naive's alike.
VALUES = ("point", *(f"{side}_{level}" for level in LEVELS for side in ("low", "high")))
SCALE_LEVEL = 80  # a lead's scale: the served band's log width at this level
SCALE_STEPS = 16  # a scale is kept as a power of 2 ** (1 / SCALE_STEPS)
RECORD_VERSION = 2  # the format `record.py` writes
_BAND_SALT, _OUTCOME_SALT = 1, 2


class RecordIssue(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One forecast as a release issues it (and as format 1 kept it). Per lead (seconds after
    `data_until`): `VALUES` of the served forecast, of naive's (None: the artifact kept no
    naive band), and the close of the hourly bar ending at `data_until + lead` (None: not
    fetched yet)."""

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


class RecordCount(msgspec.Struct, frozen=True, array_like=True):
    issues: int
    scored: int


class Table:
    """Rows of a record, ordered by lead, then issue: each an issue (its index in the record's
    issues) at a lead (seconds), with its numbers in whole steps (`artifact/outcomes.py`).
    Stored as `Packed` (`packed`, `table_of`), its steps differenced down the rows where
    `DIFFERENCED` says."""

    COLUMNS: ClassVar[int]
    DIFFERENCED: ClassVar[bool]
    __slots__ = ("issue", "lead", "steps")

    def __init__(self, issue: np.ndarray, lead: np.ndarray, steps: np.ndarray) -> None:
        self.issue, self.lead = issue, lead
        self.steps = steps.reshape(len(issue), self.COLUMNS)  # int64

    @classmethod
    def empty(cls) -> Self:
        empty = np.empty(0, np.int64)
        return cls(empty, empty, np.empty((0, cls.COLUMNS), np.int64))

    def __len__(self) -> int:
        return len(self.issue)

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is type(self)
            and np.array_equal(self.issue, other.issue)
            and np.array_equal(self.lead, other.lead)
            and np.array_equal(self.steps, other.steps)
        )

    __hash__ = None  # type: ignore[assignment]

    def where(self, mask: np.ndarray) -> Self:
        return type(self)(self.issue[mask], self.lead[mask], self.steps[mask])

    def joined(self, other: Table) -> Self:
        issue = np.concatenate([self.issue, other.issue])
        lead = np.concatenate([self.lead, other.lead])
        order = np.lexsort((issue, lead))
        steps = np.concatenate([self.steps, other.steps])[order]
        return type(self)(issue[order], lead[order], steps)


class Bands(Table):
    """Pending rows: the served values (`VALUES`), then naive's, as issued; neighbouring issues
    of a lead keep them nearly alike, so they are stored differenced."""

    COLUMNS = 2 * len(VALUES)
    DIFFERENCED = True


class Outcomes(Table):
    """Scored rows: their `OUTCOMES`, then which bands held the close (`inside_bits`)."""

    COLUMNS = len(OUTCOMES) + 1
    DIFFERENCED = False


class Packed(msgspec.Struct, frozen=True, array_like=True):
    """A table as a record file stores it: its columns (issue, lead, steps) one after another,
    the issue and lead columns differenced down the rows and the steps where the table says,
    each column's int64 bytes planes apart, which the compression takes to little more than
    their spread."""

    rows: int
    data: bytes


def packed(table: Table) -> Packed:
    whole = np.column_stack([table.issue, table.lead, table.steps]).astype("<i8")
    spread = slice(None) if table.DIFFERENCED else slice(0, 2)
    whole[:, spread] = np.diff(whole[:, spread], axis=0, prepend=0)
    return Packed(len(whole), whole.T.copy().view(np.uint8).reshape(-1, 8).T.tobytes())


def table_of(kind: type[Table], stored: Packed) -> Table:
    """ValueError where `stored` does not hold `kind`'s rows."""
    width = kind.COLUMNS + 2
    if len(stored.data) != 8 * stored.rows * width:
        raise ValueError(f"{len(stored.data)} bytes for {stored.rows} rows of {width} columns")
    planes = np.frombuffer(stored.data, np.uint8).reshape(8, -1).T.copy()
    whole = planes.view("<i8").reshape(width, stored.rows).T.copy()
    spread = slice(None) if kind.DIFFERENCED else slice(0, 2)
    whole[:, spread] = np.cumsum(whole[:, spread], axis=0)
    return kind(whole[:, 0].copy(), whole[:, 1].copy(), whole[:, 2:].copy())


class RecordHead(msgspec.Struct, frozen=True):
    """What every format of a pair's record holds first: whose it is, when and why it began,
    and the data's end of the last release that looked its closes up."""

    asset: str
    symbol: str
    started: RecordNote
    scored_until: int


class PairRecord(RecordHead, frozen=True, forbid_unknown_fields=True):
    """A pair's track record (see the module's doc), as its file holds it too (`record.py`);
    `scales` holds each lead's scale (see `unit`)."""

    issues: tuple[IssueHead, ...] = ()
    scales: dict[int, int] = msgspec.field(default_factory=dict)
    pending: Bands = msgspec.field(default_factory=Bands.empty)
    scored: Outcomes = msgspec.field(default_factory=Outcomes.empty)
    absent: RecordNote | None = None
    record_version: int = RECORD_VERSION

    @property
    def count(self) -> RecordCount:
        return RecordCount(len(self.issues), len(self.scored))

    def data_until(self, rows: Table) -> np.ndarray:
        ends = np.array([issue.data_until for issue in self.issues], dtype=np.int64)
        return ends[rows.issue]

    def issued(self, issue: RecordIssue) -> PairRecord:
        """This record with `issue` added, its rows pending (unchanged where it holds an issue of
        that model version and data's end)."""
        if any(
            (held.model_version, held.data_until) == (issue.model_version, issue.data_until)
            for held in self.issues
        ):
            return self
        served = np.array(issue.served, dtype=np.float64).reshape(len(issue.leads), len(VALUES))
        naive = (
            np.full_like(served, np.nan)
            if issue.naive is None
            else np.array(issue.naive, dtype=np.float64).reshape(served.shape)
        )
        leads = np.array(issue.leads, dtype=np.int64)
        scales = dict(self.scales)
        low, high = VALUES.index(f"low_{SCALE_LEVEL}"), VALUES.index(f"high_{SCALE_LEVEL}")
        for lead, row in zip(issue.leads, served, strict=True):
            if lead not in scales:
                width = float(np.log(row[high] / row[low]))
                usable = width if np.isfinite(width) and width > 0 else 1e-3
                scales[lead] = round(SCALE_STEPS * np.log2(usable))
        anchor = float(served[0, 0]) if len(served) else 1.0
        ratios = np.log(np.hstack([served, naive]) / anchor)
        offsets = dither(np.full(len(leads), issue.data_until), leads, Bands.COLUMNS, _BAND_SALT)
        kept = to_steps(np.nan_to_num(ratios), unit(scales, leads) * BAND_STEP, offsets)
        if issue.naive is None:
            kept[:, len(VALUES) :] = _NO_NAIVE
        head = IssueHead(issue.model_version, issue.data_until, issue.issued_at, anchor)
        rows = Bands(np.full(len(leads), len(self.issues), dtype=np.int64), leads, kept)
        return replace(
            self, issues=(*self.issues, head), scales=scales, pending=self.pending.joined(rows)
        )

    def scored_on(self, closes: Mapping[int, float]) -> PairRecord:
        """This record with each pending row whose close `closes` (by the instant each hourly
        bar ends) holds scored."""
        rows = self.pending
        valid_at = self.data_until(rows) + rows.lead
        close = np.array([closes.get(at, np.nan) for at in valid_at.tolist()], dtype=np.float64)
        found = np.isfinite(close) & (close > 0)
        if not found.any():
            return self
        now = rows.where(found)
        served, naive = self.bands(now)
        bits = inside_bits(served, naive, close[found])
        values = outcomes(served, naive, close[found])
        steps = self.outcome_steps(now)
        until = self.data_until(now)
        offsets = dither(until, now.lead, len(OUTCOMES), _OUTCOME_SALT) * DITHERED
        kept = np.column_stack([to_steps(values, steps, offsets), bits])
        return replace(
            self,
            pending=rows.where(~found),
            scored=self.scored.joined(Outcomes(now.issue, now.lead, kept)),
        )

    def bands(self, rows: Table) -> tuple[np.ndarray, np.ndarray]:
        """The served and naive values of pending `rows`, as issued (naive's NaN where not kept)."""
        until = self.data_until(rows)
        offsets = dither(until, rows.lead, Bands.COLUMNS, _BAND_SALT)
        ratios = from_steps(rows.steps, unit(self.scales, rows.lead) * BAND_STEP, offsets)
        anchor = np.array([issue.anchor for issue in self.issues], dtype=np.float64)[rows.issue]
        values = anchor[:, None] * np.exp(ratios)
        no_naive = (rows.steps[:, len(VALUES) :] == _NO_NAIVE).all(axis=1)
        values[no_naive, len(VALUES) :] = np.nan
        return values[:, : len(VALUES)], values[:, len(VALUES) :]

    def outcome_steps(self, rows: Table) -> np.ndarray:
        return unit(self.scales, rows.lead) * OUTCOME_STEPS[None, :]

    def outcomes(self) -> tuple[np.ndarray, np.ndarray]:
        """The scored rows' `OUTCOMES`, as kept, and their inside bits."""
        rows = self.scored
        until = self.data_until(rows)
        offsets = dither(until, rows.lead, len(OUTCOMES), _OUTCOME_SALT) * DITHERED
        values = from_steps(rows.steps[:, : len(OUTCOMES)], self.outcome_steps(rows), offsets)
        error = OUTCOMES.index("error")
        values[:, error] = np.maximum(values[:, error], 0.0)  # within half a step of 0 or more
        return values, rows.steps[:, len(OUTCOMES)]


_NO_NAIVE = -(2**62)  # naive's values of an issue that kept no naive band


def unit(scales: Mapping[int, int], lead: np.ndarray) -> np.ndarray:
    """(rows, 1): each row's unit, its steps' common factor: its lead's scale, kept as a power
    of 2 ** (1 / SCALE_STEPS)."""
    exponent = np.array([scales[value] for value in lead.tolist()], dtype=np.float64)
    return (2.0 ** (exponent / SCALE_STEPS))[:, None]
