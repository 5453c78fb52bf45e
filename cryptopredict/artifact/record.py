"""The track record a release bakes: `<model_dir>/track-record/`, a file a pair (format 3:
`PairRecord` as xz-compressed msgpack, its rows as integer columns) and `index.json`, counting
each pair's issues and scored rows (so a file cut short is caught; none is written shorter).
Every earlier format is read (`record_earlier.py`) and rewritten in this one at a write.
"""

from __future__ import annotations

import lzma
import os
import re
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import msgspec
import numpy as np

from cryptopredict.artifact import record_earlier as earlier
from cryptopredict.artifact.arrays import ArtifactError
from cryptopredict.artifact.read import JSON_MAX, read_bytes
from cryptopredict.artifact.record_format import READS
from cryptopredict.artifact.record_rows import (
    PENDING,
    RECORD_VERSION,
    SCORED,
    IssueHead,
    PairRecord,
    RecordCount,
    RecordHead,
    RecordNote,
    Table,
)
from cryptopredict.artifact.schema import SLUG_PATTERN
from cryptopredict.atomic import write_file

RECORD_DIR = "track-record"
INDEX = "index.json"
SUFFIXES = {1: ".json.gz", 2: ".msgpack.xz", 3: ".msgpack.xz"}
SUFFIX = SUFFIXES[RECORD_VERSION]
MAX_BYTES = 512 * 1024 * 1024  # a pair's record, compressed and decompressed
# xz at its strongest, its literal coder conditioned on one bit of the byte before: 2% smaller.
_FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME, "lc": 1, "pb": 0}]


class RecordError(Exception):
    """A published record that cannot be read, or a record that would shrink."""


class _Version(msgspec.Struct):
    record_version: int


class _File(RecordHead, frozen=True, forbid_unknown_fields=True):
    pending: list[list[int]]
    scored: list[list[int]]
    issues: tuple[IssueHead, ...] = ()
    scales: dict[int, int] = msgspec.field(default_factory=dict)
    absent: RecordNote | None = None
    record_version: int = RECORD_VERSION


class _RecordIndex(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    record_version: int
    assets: dict[str, RecordCount]


def record_dir(model_dir: Path) -> Path:
    return Path(model_dir) / RECORD_DIR


def read_records(model_dir: Path) -> dict[str, PairRecord] | None:
    """Every pair's record by slug (None: no record directory); RecordError for the first that
    cannot be read."""
    directory = record_dir(model_dir)
    index = _read_index(directory)
    if index is None:
        if directory.is_dir() and any(directory.iterdir()):
            raise RecordError(f"{directory / INDEX}: missing, though {directory} holds records")
        return None
    version, counts = index
    return {slug: _read_record(directory, slug, version, count) for slug, count in counts.items()}


def read_record(model_dir: Path, slug: str) -> PairRecord | None:
    """`slug`'s record (None where the index lists none); RecordError saying what is wrong."""
    version, counts = _read_index(record_dir(model_dir)) or (RECORD_VERSION, {})
    count = counts.get(slug)
    return None if count is None else _read_record(record_dir(model_dir), slug, version, count)


def _read_record(directory: Path, slug: str, version: int, count: RecordCount) -> PairRecord:
    file = directory / f"{slug}{SUFFIXES[version]}"
    stored = _read(file, MAX_BYTES)
    if stored is None:
        raise RecordError(f"{file}: missing, though the index lists it")
    try:
        unpack = zlib.decompressobj(wbits=31) if version == 1 else lzma.LZMADecompressor()
        data = unpack.decompress(stored, MAX_BYTES + 1)
        if len(data) > MAX_BYTES or not unpack.eof:
            raise EOFError(f"cut short, or past {MAX_BYTES:,} bytes decompressed")
    except (EOFError, zlib.error, lzma.LZMAError) as error:
        raise RecordError(f"{file}: unreadable ({error})") from None
    decode = msgspec.json.decode if version == 1 else msgspec.msgpack.decode
    written, stored_record = _decoded(file, data, decode)
    try:
        found = _READERS[written][1](stored_record)
    except ValueError as error:
        raise RecordError(f"{file}: {error}") from None
    if found.asset != slug:
        raise RecordError(f"{file}: the record of {found.asset}, not of {slug}")
    if _shorter(found.count, count):
        raise RecordError(
            f"{file}: cut short: {found.count.issues} issues and {found.count.scored} scored "
            f"rows, where the index counts {count.issues} and {count.scored}"
        )
    return found


def _read(file: Path, largest: int) -> bytes | None:
    """`file`'s bytes (None: no such file); RecordError as `read_bytes` refuses it."""
    if not os.path.lexists(file):
        return None
    try:
        return read_bytes(file, largest)
    except ArtifactError as error:
        raise RecordError(str(error)) from None


def write_record(model_dir: Path, record: PairRecord, previous: PairRecord | None) -> None:
    """Write and index `record`; RecordError, writing nothing, where it is shorter than
    `previous`, the one it extends."""
    if previous is not None and _shorter(record.count, previous.count):
        raise RecordError(
            f"{record.asset}: the new record ({record.count.issues} issues, "
            f"{record.count.scored} scored rows) is shorter than the one it extends "
            f"({previous.count.issues}, {previous.count.scored}): nothing written"
        )
    directory = record_dir(model_dir)
    index = _read_index(directory)
    counts = {} if index is None else index[1]
    if index is not None and index[0] != RECORD_VERSION:
        for slug, older in (read_records(model_dir) or {}).items():
            _write_file(directory, older)
            counts[slug] = older.count  # what it holds in this format
            if SUFFIXES[index[0]] != SUFFIX:
                (directory / f"{slug}{SUFFIXES[index[0]]}").unlink()
    _write_file(directory, record)
    counts[record.asset] = record.count
    encoded = msgspec.json.encode(_RecordIndex(RECORD_VERSION, dict(sorted(counts.items()))))
    write_file(directory / INDEX, msgspec.json.format(encoded) + b"\n")


def _write_file(directory: Path, record: PairRecord) -> None:
    fields = msgspec.structs.asdict(record)
    for table in ("pending", "scored"):
        fields[table] = fields[table].whole.T.tolist()
    encoded = msgspec.msgpack.encode(_File(**fields))
    write_file(directory / f"{record.asset}{SUFFIX}", lzma.compress(encoded, filters=_FILTERS))


def _record_of(stored: _File) -> PairRecord:
    fields = msgspec.structs.asdict(stored)
    for table, width in (("pending", PENDING), ("scored", SCORED)):
        columns = fields[table]
        if len(columns) != 2 + width or len({len(column) for column in columns}) != 1:
            raise ValueError(f"its {table} rows are not {2 + width} columns of one length")
        fields[table] = Table(np.array(columns).reshape(2 + width, -1).T)
    record = PairRecord(**fields)
    issue = np.concatenate([record.pending.issue, record.scored.issue])
    leads = set(np.concatenate([record.pending.lead, record.scored.lead]).tolist())
    if not ((issue >= 0) & (issue < len(record.issues))).all() or leads - record.scales.keys():
        raise ValueError("its rows name issues or leads it does not hold")
    return record


_READERS: dict[int, tuple[type, Callable[[Any], PairRecord]]] = {
    1: (earlier.FileV1, earlier.upgraded_v1),
    2: (earlier.FileV2, earlier.upgraded_v2),
    3: (_File, _record_of),
}


def _read_index(directory: Path) -> tuple[int, dict[str, RecordCount]] | None:
    file = directory / INDEX
    if directory.is_symlink():
        raise RecordError(f"{directory}: is a symbolic link; a record is read only where written")
    data = _read(file, JSON_MAX)
    if data is None:
        return None
    index = cast(_RecordIndex, _decoded(file, data, msgspec.json.decode, _RecordIndex)[1])
    for slug in index.assets:
        if not re.fullmatch(SLUG_PATTERN, slug):
            raise RecordError(
                f"{file}: {slug!r} is not a pair's name (<base>-<quote>, e.g. btc-usd): refused "
                "before any path is made of it"
            )
    return index.record_version, dict(index.assets)


def _decoded(
    file: Path, data: bytes, decode: Callable[..., Any], kind: type | None = None
) -> tuple[int, Any]:
    """`data`'s format, and `data` as `kind` (default: its format's file); RecordError else."""
    try:
        version = decode(data, type=_Version).record_version
    except msgspec.DecodeError as error:
        raise RecordError(f"{file}: {error}") from None
    if version not in READS:
        raise RecordError(
            f"{file}: record_version {version}, which this code does not read (it reads "
            f"{', '.join(map(str, READS))}): it was written by newer code"
        )
    try:
        return version, decode(data, type=kind or _READERS[version][0])
    except msgspec.ValidationError as error:
        raise RecordError(
            f"{file}: record_version {version}, but not in the shape this code reads as format "
            f"{version} ({error}): written by code whose format {version} differed (a "
            f"development main's, before the format was frozen in tests/records/v{version}); "
            "start the record anew (the release's start-anew input)"
        ) from None
    except msgspec.DecodeError as error:
        raise RecordError(f"{file}: {error}") from None


def _shorter(found: RecordCount, than: RecordCount) -> bool:
    return found.issues < than.issues or found.scored < than.scored
