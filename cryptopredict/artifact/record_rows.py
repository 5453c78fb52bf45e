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
    CARRY_STEPS,
    DITHERED,
    OUTCOME_STEPS,
    OUTCOMES,
    dither,
    from_steps,
    inside_bits,
    outcomes,
    to_steps,
    widening,
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


class Columns:
    """Whole numbers a record stores side by side (`whole`) as `Packed`, the columns
    `DIFFERENCED` names differenced down the rows: two columns, then a block (`parts`)."""

    WIDTH: ClassVar[int]
    DIFFERENCED: ClassVar[slice]

    def __init__(self, first: np.ndarray, second: np.ndarray, block: np.ndarray) -> None:
        raise NotImplementedError

    def parts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        raise NotImplementedError

    def whole(self) -> np.ndarray:
        return np.column_stack(self.parts()).astype(np.int64)

    @classmethod
    def of_whole(cls, whole: np.ndarray) -> Self:
        return cls(whole[:, 0].copy(), whole[:, 1].copy(), whole[:, 2:].copy())

    def __len__(self) -> int:
        return len(self.parts()[0])

    @classmethod
    def empty(cls) -> Self:
        return cls.of_whole(np.empty((0, cls.WIDTH), np.int64))

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and np.array_equal(self.whole(), other.whole())

    __hash__ = None  # type: ignore[assignment]


class Table(Columns):
    """Rows of a record, ordered by lead, then issue: each an issue (its index in the record's
    issues) at a lead (seconds), with its numbers in whole steps (`artifact/outcomes.py`)."""

    COLUMNS: ClassVar[int]
    __slots__ = ("issue", "lead", "steps")

    def __init__(self, issue: np.ndarray, lead: np.ndarray, steps: np.ndarray) -> None:
        self.issue, self.lead = issue, lead
        self.steps = steps.reshape(len(issue), self.COLUMNS)  # int64

    def parts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.issue, self.lead, self.steps

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
    WIDTH = COLUMNS + 2
    DIFFERENCED = slice(None)


class Outcomes(Table):
    """Scored rows: their `OUTCOMES`, then which bands held the close (`inside_bits`)."""

    COLUMNS = len(OUTCOMES) + 1
    WIDTH = COLUMNS + 2
    DIFFERENCED = slice(0, 2)


class Leads(Columns):
    """Every lead a record holds, in order: its scale (`unit`), and per outcome its carry, what
    rounding took off its scored rows' values, summed, in whole `CARRY_STEPS`ths of a step
    (`artifact/outcomes.py`)."""

    WIDTH = len(OUTCOMES) + 2
    DIFFERENCED = slice(0, 2)
    __slots__ = ("carry", "lead", "scale")

    def __init__(self, lead: np.ndarray, scale: np.ndarray, carry: np.ndarray) -> None:
        self.lead, self.scale = lead, scale
        self.carry = carry.reshape(len(lead), len(OUTCOMES))  # int64

    def parts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.lead, self.scale, self.carry

    def index(self, lead: np.ndarray) -> np.ndarray:
        """Each of `lead`'s position in this table (KeyError where it holds none)."""
        at = np.searchsorted(self.lead, lead)
        if len(lead) and (at.max() >= len(self.lead) or (self.lead[at] != lead).any()):
            raise KeyError(f"leads {sorted(set(lead.tolist()) - set(self.lead.tolist()))}")
        return at

    def with_leads(self, lead: np.ndarray, scale: np.ndarray) -> Leads:
        """These leads and `lead` (new ones) with their `scale`, in order, carrying nothing."""
        carry = np.zeros((len(lead), len(OUTCOMES)), np.int64)
        whole = np.vstack([self.whole(), Leads(lead, scale, carry).whole()])
        return Leads.of_whole(whole[np.argsort(whole[:, 0], kind="stable")])

    def carrying(self, lead: np.ndarray, taken: np.ndarray) -> Leads:
        """These leads, each carrying besides what `taken` (per row at `lead`, in steps) sums to
        at it."""
        added = np.zeros(self.carry.shape, np.float64)
        np.add.at(added, self.index(lead), taken * CARRY_STEPS)
        return Leads(self.lead, self.scale, self.carry + np.round(added).astype(np.int64))


class Packed(msgspec.Struct, frozen=True, array_like=True):
    """Columns as a record file stores them: one after another, differenced down the rows where
    their kind says, zigzagged (small numbers of either sign to small unsigned ones), each
    column's int64 bytes planes apart, which the compression takes to little more than their
    spread."""

    rows: int
    data: bytes


def packed(columns: Columns) -> Packed:
    whole = columns.whole()
    whole[:, columns.DIFFERENCED] = np.diff(whole[:, columns.DIFFERENCED], axis=0, prepend=0)
    zigzag = (whole << 1) ^ (whole >> 63)
    planes = zigzag.astype("<i8").T.copy().view(np.uint8).reshape(-1, 8).T
    return Packed(len(whole), planes.tobytes())


def table_of(kind: type[Columns], stored: Packed) -> Columns:
    """ValueError where `stored` does not hold `kind`'s rows."""
    width = kind.WIDTH
    if len(stored.data) != 8 * stored.rows * width:
        raise ValueError(f"{len(stored.data)} bytes for {stored.rows} rows of {width} columns")
    planes = np.frombuffer(stored.data, np.uint8).reshape(8, -1).T.copy()
    zigzag = planes.view("<u8").reshape(width, stored.rows).T
    whole = ((zigzag >> np.uint64(1)) ^ (np.uint64(0) - (zigzag & np.uint64(1)))).view(np.int64)
    whole[:, kind.DIFFERENCED] = np.cumsum(whole[:, kind.DIFFERENCED], axis=0)
    return kind.of_whole(whole)


class RecordHead(msgspec.Struct, frozen=True):
    """What every format of a pair's record holds first: whose it is, when and why it began,
    and the data's end of the last release that looked its closes up."""

    asset: str
    symbol: str
    started: RecordNote
    scored_until: int


class PairRecord(RecordHead, frozen=True, forbid_unknown_fields=True):
    """A pair's track record (see the module's doc), as its file holds it too (`record.py`);
    `leads` holds each lead's scale and carries (`Leads`)."""

    issues: tuple[IssueHead, ...] = ()
    leads: Leads = msgspec.field(default_factory=Leads.empty)
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
        new = ~np.isin(leads, self.leads.lead)
        low, high = VALUES.index(f"low_{SCALE_LEVEL}"), VALUES.index(f"high_{SCALE_LEVEL}")
        with np.errstate(divide="ignore", invalid="ignore"):
            width = np.log(served[new, high] / served[new, low])
        usable = np.where(np.isfinite(width) & (width > 0), width, 1e-3)
        known = self.leads.with_leads(
            leads[new], np.round(SCALE_STEPS * np.log2(usable)).astype(np.int64)
        )
        anchor = float(np.float32(served[0, 0])) if len(served) else 1.0  # 4 bytes are enough
        ratios = np.log(np.hstack([served, naive]) / anchor)
        offsets = band_dither(np.full(len(leads), issue.data_until), leads)
        kept = to_steps(np.nan_to_num(ratios), unit(known, leads) * BAND_STEP, offsets)
        if issue.naive is None:
            kept[:, len(VALUES) :] = _NO_NAIVE
        head = IssueHead(issue.model_version, issue.data_until, issue.issued_at, anchor)
        rows = Bands(np.full(len(leads), len(self.issues), dtype=np.int64), leads, kept)
        return replace(
            self, issues=(*self.issues, head), leads=known, pending=self.pending.joined(rows)
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
        kept = to_steps(values, steps, offsets)
        taken = values / steps - (kept + offsets)
        return replace(
            self,
            leads=self.leads.carrying(now.lead, taken),
            pending=rows.where(~found),
            scored=self.scored.joined(Outcomes(now.issue, now.lead, np.column_stack([kept, bits]))),
        )

    def bands(self, rows: Table) -> tuple[np.ndarray, np.ndarray]:
        """The served and naive values of pending `rows`, as issued (naive's NaN where not kept)."""
        until = self.data_until(rows)
        offsets = band_dither(until, rows.lead)
        ratios = from_steps(rows.steps, unit(self.leads, rows.lead) * BAND_STEP, offsets)
        anchor = np.array([issue.anchor for issue in self.issues], dtype=np.float64)[rows.issue]
        values = anchor[:, None] * np.exp(ratios)
        no_naive = (rows.steps[:, len(VALUES) :] == _NO_NAIVE).all(axis=1)
        values[no_naive, len(VALUES) :] = np.nan
        return values[:, : len(VALUES)], values[:, len(VALUES) :]

    def outcome_steps(self, rows: Table) -> np.ndarray:
        return unit(self.leads, rows.lead) * widening(rows.lead) * OUTCOME_STEPS[None, :]

    def outcomes(self) -> tuple[np.ndarray, np.ndarray]:
        """The scored rows' `OUTCOMES`, as kept, each lead's carry shared evenly among its rows
        (their mean is the exact one), and their inside bits."""
        rows = self.scored
        until = self.data_until(rows)
        offsets = dither(until, rows.lead, len(OUTCOMES), _OUTCOME_SALT) * DITHERED
        at = self.leads.index(rows.lead)
        share = self.leads.carry[at] / CARRY_STEPS / np.bincount(at)[at][:, None]
        steps = self.outcome_steps(rows)
        return from_steps(
            rows.steps[:, : len(OUTCOMES)], steps, offsets
        ) + share * steps, rows.steps[:, len(OUTCOMES)]


def band_dither(data_until: np.ndarray, lead: np.ndarray) -> np.ndarray:
    """A pending row's offsets (`artifact/outcomes.py`), naive's values taking the served ones':
    where they are equal as issued (naive's point, where the served point is the last close)
    they are equal as kept."""
    return np.tile(dither(data_until, lead, len(VALUES), _BAND_SALT), 2)


_NO_NAIVE = -(2**62)  # naive's values of an issue that kept no naive band


def unit(leads: Leads, lead: np.ndarray) -> np.ndarray:
    """(rows, 1): each row's unit, its steps' common factor: its lead's scale, kept as a power
    of 2 ** (1 / SCALE_STEPS)."""
    return (2.0 ** (leads.scale[leads.index(lead)] / SCALE_STEPS))[:, None]
