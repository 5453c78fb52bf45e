"""The track record a release keeps (`artifact/record.py`): the previous release's, read; as
each artifact is written, its earlier issues scored on the closes its history now holds, its
own issue appended, and written beside it; at the end, the record of a pair not trained carried
forward, saying why.

What a release issues of a model (`issue_of`): at fixed leads after the data's end (the band's
calibrated hours, every day to 30, 90 days and a year, those the forecast reaches), the forecast
as the point answers give it, every band's bounds, and naive's (the last price, with naive's
band at the lead), rounded alike (`artifact/record_rows.py`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import KW_ONLY, dataclass
from pathlib import Path

import numpy as np
from msgspec.structs import replace

from cryptopredict.artifact.index import artifact_dirs
from cryptopredict.artifact.read import Artifact, open_artifact
from cryptopredict.artifact.record import RecordError, read_records, write_record
from cryptopredict.artifact.record_rows import PairRecord, RecordIssue, RecordNote
from cryptopredict.artifact.schema import DEFAULT_LEVEL, LEVELS
from cryptopredict.postprocess import empirical_offsets, round_band

log = logging.getLogger(__name__)

HOUR = 3600
DAY = 86_400
DAY_LEADS = (*range(24, 30 * 24 + 1, 24), 90 * 24, 365 * 24)


def issue_of(artifact: Artifact, issued_at: int, *, max_horizon_days: float) -> RecordIssue:
    """`artifact`'s forecast as the API answers it at each lead it reaches, no close known."""
    grid, manifest = artifact.grid_file, artifact.manifest
    data_end = artifact.history.last_bar + grid.step
    end = min(grid.last + grid.step, data_end + round(max_horizon_days * DAY))
    band_hours = {round(hours) for hours in manifest.postprocess.band_hours if hours >= 1}
    hours = np.array(sorted(band_hours | set(DAY_LEADS)), dtype=np.int64)
    leads = hours[data_end + hours * HOUR <= end] * HOUR
    labels = data_end + leads - grid.step  # the grid's rows: the bars closing at each instant
    knots = grid.between(labels)
    served = {level: grid.values_at(knots, level) for level in LEVELS}
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


@dataclass
class RecordKeeper:
    """The records of one run: `previous` (by slug) extended into `out`."""

    previous: dict[str, PairRecord]
    _: KW_ONLY
    out: Path
    start: str  # why a pair's record with no previous one starts (at its issue)
    max_horizon_days: float
    now: int

    @classmethod
    def open(
        cls,
        previous_dir: Path,
        *,
        out: Path,
        afresh: str | None,
        max_horizon_days: float,
        image: str | None = None,
    ) -> RecordKeeper:
        """The records published in `previous_dir` (the model directory of the release `image`,
        when given); with `afresh` (why), none: every record starts anew, saying why.
        RecordError when a published record cannot be read, or `image` holds none."""
        found = None if afresh else read_records(previous_dir)
        if afresh:
            log.warning("track record: started afresh, as TRACK_RECORD_AFRESH says: %s", afresh)
            start = f"started afresh: {afresh}"
        elif found is None and image:
            raise RecordError(
                f"the release image {image} holds no track record in {previous_dir}: a release "
                "image always does, so it was lost or the image is not a release's"
            )
        elif found is None:
            log.info(
                "track record: none was published in %s; each pair's starts with this "
                "release's issue",
                previous_dir,
            )
            start = "no earlier track record was published"
        else:
            log.info("track record: %d pairs' records read from %s", len(found), previous_dir)
            start = "first issued by this release"
        return cls(
            found or {},
            out=out,
            start=start,
            max_horizon_days=max_horizon_days,
            now=int(time.time()),
        )

    def issued(self, slug: str, path: Path) -> PairRecord:
        """`slug`'s record scored on the artifact at `path`, its issue appended, and written."""
        artifact = open_artifact(path)
        history, symbol = artifact.history, artifact.manifest.symbol
        ends = history.ds + history.step  # each bar's close, the instant it is the price at
        closes = dict(zip(ends.tolist(), history["close"].tolist(), strict=True))
        previous = self.previous.get(slug)
        new = issue_of(artifact, self.now, max_horizon_days=self.max_horizon_days)
        base = previous or PairRecord(
            slug, symbol, RecordNote(new.data_until, self.start), new.data_until
        )
        record = replace(
            base.scored_on(closes).issued(new),
            symbol=symbol,
            scored_until=max(new.data_until, base.scored_until),
            absent=None,
        )
        write_record(self.out, record, previous)
        count = record.count
        log.info("%s: track record of %d issues, %d leads scored", slug, count.issues, count.scored)
        return record

    def carry(self, failed: dict[str, str]) -> None:
        """After the run: each previous record whose pair has no artifact in `out`, written into
        `out` saying why (a pair with one, this release's or from before, keeps its own)."""
        present = {path.name for path in artifact_dirs(self.out)}
        for slug, previous in self.previous.items():
            if slug in present:
                continue
            why = failed.get(slug, "not among this release's pairs")
            absent = previous.absent or RecordNote(self.now, why)
            carried = replace(previous, absent=absent)
            write_record(self.out, carried, previous)
            log.info("%s: track record carried forward: %s", slug, absent.why)
