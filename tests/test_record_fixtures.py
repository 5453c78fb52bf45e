"""Every track record format is frozen once released (issue 76): `tests/records/v<N>/` keeps a
record of each format this code reads (`READS`), its bytes pinned here, its `WRITTEN_BY` naming
the commit whose code wrote it; and this code writes the current format exactly as its fixture
holds it, so a change of the written shape fails here until it bumps `RECORD_VERSION` with a new
fixture and the migration to it (`tests/training/test_record_formats.py` reads and extends each
with `train.py --previous`)."""

from __future__ import annotations

import hashlib
import lzma
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from cryptopredict.artifact.record import (
    INDEX,
    READS,
    SUFFIX,
    read_records,
    record_dir,
    write_record,
)
from cryptopredict.artifact.record_rows import RECORD_VERSION

RECORDS = Path(__file__).parent / "records"
# A new format's fixture is added here once, with its hashes: no line of this ever changes.
FROZEN = {
    "v1/WRITTEN_BY": "c70aaf5159ae3fa41c34a1b8cc0bb926c9b15b10c38391269f17dc70b893c315",
    "v1/track-record/btc-usd.json.gz": (
        "dd0ab4a748afd53430ad0eb24e47f2789d1234ecd75be4c4b6e5068503f134e7"
    ),
    "v1/track-record/eth-usd.json.gz": (
        "9de901623261a899c962e51ec7d9a355d75072357b634149d24c1678bea2a89b"
    ),
    "v1/track-record/index.json": (
        "db4b6ffeffcdd87333b72350ccdaa6a2d4d72ff18c4848cae6cf60764967920f"
    ),
    "v2/WRITTEN_BY": "3d9bbeedf001c72cbe2f4557fc48875432ba476d829a2143d46f534c01cd387a",
    "v2/track-record/btc-usd.msgpack.xz": (
        "257c27dc2d5e7572b060f4d778cdef3fdeed34a11919f34eec3ae2f8bd462858"
    ),
    "v2/track-record/eth-usd.msgpack.xz": (
        "b4888abe4b53f691a8aa1baedeeda84db5caef116b719acd9682952b165e4760"
    ),
    "v2/track-record/index.json": (
        "23414e8c2fc841b48263c4b34e6a35fb6186b1d3c76dd10f387551ee3f974df9"
    ),
    "v3/WRITTEN_BY": "8ef608b2fc3c54d3cabee74ca7dca5a0ed387114f836d90d53bb60f639ba1305",
    "v3/track-record/btc-usd.msgpack.xz": (
        "b08e71db0895345c712bd9bac1a11e7faf27e4d6d876e896085a50c1efddd42e"
    ),
    "v3/track-record/eth-usd.msgpack.xz": (
        "35812ff2ec5c74bd46f192adca486303f5ed8486dc2e066b7c2414f67799a2f8"
    ),
    "v3/track-record/index.json": (
        "9ece218eac5e9294880d1007f31f0ed07903f6c9ab4432eedf06509d385d96dc"
    ),
}


def test_a_fixture_is_kept_for_every_format_read():
    assert sorted(int(path.name[1:]) for path in RECORDS.glob("v*")) == sorted(READS)
    assert READS[-1] == RECORD_VERSION


def test_every_byte_of_every_fixture_is_pinned():
    found = {
        path.relative_to(RECORDS).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(RECORDS.rglob("*"))
        if path.is_file()
    }
    assert found == FROZEN


def test_each_fixture_names_the_commit_that_wrote_it():
    for version in READS:
        written_by = (RECORDS / f"v{version}" / "WRITTEN_BY").read_text()
        assert re.fullmatch(r"[0-9a-f]{40}\n", written_by), f"v{version}: {written_by!r}"


def test_this_code_writes_the_current_format_as_frozen(tmp_path):
    """The current format's fixture is the first format's records brought up to date and written
    by this code: byte for byte (decompressed), so neither the shape nor the numbers of the
    format it writes can change unnoticed."""
    shutil.copytree(RECORDS / "v1", tmp_path / "v1")
    for record in (read_records(tmp_path / "v1") or {}).values():
        write_record(tmp_path / "written", record, None)
    frozen = record_dir(RECORDS / f"v{RECORD_VERSION}")
    written = record_dir(tmp_path / "written")
    assert sorted(path.name for path in written.iterdir()) == sorted(
        path.name for path in frozen.iterdir()
    )
    assert (written / INDEX).read_bytes() == (frozen / INDEX).read_bytes()
    for file in frozen.glob(f"*{SUFFIX}"):
        assert lzma.decompress((written / file.name).read_bytes()) == lzma.decompress(
            file.read_bytes()
        ), file.name


def test_format_2_is_brought_up_to_date_as_format_1_is():
    """The v2 fixture holds the v1 fixture's records as format 2 kept them (one scored row a
    lead, which its carry kept exact): brought to this format, every number is the v1 records'
    within a step (rounded twice), the issued bands within half of format 2's step (10 of this
    format's, and one for the anchor format 2 kept in 4 bytes), and whether each band held the
    close exactly."""
    first, second = (read_records(RECORDS / f"v{version}") or {} for version in (1, 2))
    assert first.keys() == second.keys() == {"btc-usd", "eth-usd"}
    for slug, exact in first.items():
        kept = second[slug]
        assert (kept.scales, kept.started, kept.count) == (exact.scales, exact.started, exact.count)
        assert [issue.anchor for issue in kept.issues] == pytest.approx(
            [issue.anchor for issue in exact.issues], rel=1e-7
        )
        assert kept.pending.issue.tolist() == exact.pending.issue.tolist()
        assert np.abs(kept.pending.steps - exact.pending.steps).max(initial=0) <= 11
        assert kept.scored.lead.tolist() == exact.scored.lead.tolist()
        assert np.abs(kept.scored.steps[:, :-1] - exact.scored.steps[:, :-1]).max(initial=0) <= 1
        assert kept.scored.steps[:, -1].tolist() == exact.scored.steps[:, -1].tolist()
