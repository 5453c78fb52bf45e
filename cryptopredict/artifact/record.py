"""The track record a release bakes beside its artifacts: `<model_dir>/track-record/`, a file a
pair (`<slug>.msgpack.xz`) and `index.json`, what each file holds.

A pair's record (`PairRecord`, in memory: `artifact/record_rows.py`) is every forecast a
release issued of it (`IssueHead`), a row an issue at each of its leads after its data ended.
A row is pending until a later release fetches the close of
the hourly bar ending at its instant, keeping the forecast as issued (the served point and
bounds, and naive's); then it is scored, keeping only what the record's figures are means of
(`artifact/outcomes.py`: the errors, the interval scores and whether each band held the price,
in whole steps of the lead's scale). Releases only add: an issue, or a scored row.
`scored_until` is the data's end of the last release that looked the closes up: every row due
by then still pending fell in a gap of the exchange's bars. `started` says when and why the
record began; `absent` why the pair's newest release did not train it (it left the market, or
it failed), its issues kept.

The index counts each pair's issues and scored rows, so that a reader can tell a file cut
short or lost from one that was never written (`read_records`), and a writer refuses to write
a record shorter than the one it read (`write_record`). Every slug read, in the index or a
record, is a pair's name (`SLUG_PATTERN`) before a path is made of it: a record read from a
previous image never names a file outside its directory.

Every format a release ever wrote is read (`READS`, each kept as a test fixture under
`tests/records/`): a new format adds its number with the function that brings the one before
it up to date (`_upgraded`), so a release always extends what the release before it published.
Format 1 (gzipped JSON) kept every row whole, about 2.3 KB an issue; format 2 keeps a scored row
in whole steps, each lead carrying what rounding took off (`artifact/outcomes.py`), 76 to 200
bytes an issue (`python -m bench.record_size`).
"""

from __future__ import annotations

import functools
import lzma
import os
import re
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar, cast

import msgspec
import numpy as np

from cryptopredict.artifact.arrays import ArtifactError
from cryptopredict.artifact.read import JSON_MAX, read_bytes
from cryptopredict.artifact.record_rows import (
    RECORD_VERSION,
    VALUES,
    Columns,
    Packed,
    PairRecord,
    RecordCount,
    RecordHead,
    RecordIssue,
    RecordNote,
    packed,
    table_of,
)
from cryptopredict.artifact.schema import SLUG_PATTERN
from cryptopredict.atomic import replacing

RECORD_DIR = "track-record"
INDEX = "index.json"
READS = (1, 2)  # every record_version a release wrote, each read by this code
SUFFIXES = {1: ".json.gz", 2: ".msgpack.xz"}
SUFFIX = SUFFIXES[RECORD_VERSION]
MAX_BYTES = 512 * 1024 * 1024  # a pair's record, decompressed
# xz at its strongest, its literal coder conditioned on a single bit of the byte before (the
# packed columns' bytes say little about their neighbours): 1% smaller than the default.
_FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME, "lc": 1, "pb": 0}]


class RecordError(Exception):
    """A published record that cannot be read, or a record that would shrink."""


class _Version(msgspec.Struct):
    record_version: int


class _FileV1(RecordHead, frozen=True, forbid_unknown_fields=True):
    """A pair's record as format 1 stored it (gzipped JSON): every row whole."""

    issues: list[RecordIssue]
    absent: RecordNote | None = None
    record_version: int = 1


def _encoded(value: object) -> Packed:
    if isinstance(value, Columns):
        return packed(value)
    raise NotImplementedError(f"{type(value).__name__} is not kept in a record")


def _decoded_columns(kind: type, value: object) -> Columns:
    if isinstance(kind, type) and issubclass(kind, Columns):
        return table_of(kind, msgspec.convert(value, Packed))
    raise NotImplementedError(f"{kind} is not kept in a record")


_ENCODER = msgspec.msgpack.Encoder(enc_hook=_encoded)
_DECODE = functools.partial(msgspec.msgpack.decode, dec_hook=_decoded_columns)


class _RecordIndex(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    record_version: int
    assets: dict[str, RecordCount]


Decoded = TypeVar("Decoded", PairRecord, _FileV1, _RecordIndex)


def record_dir(model_dir: Path) -> Path:
    return Path(model_dir) / RECORD_DIR


def record_file(model_dir: Path, slug: str) -> Path | None:
    """`slug`'s record file under `model_dir`, of whichever format it was written in; None
    where there is none."""
    for version in reversed(READS):
        file = record_dir(model_dir) / f"{slug}{SUFFIXES[version]}"
        if file.exists():
            return file
    return None


def read_records(model_dir: Path) -> dict[str, PairRecord] | None:
    """Every pair's record under `model_dir`, by slug; None where none was ever written (no
    record directory); RecordError naming the first that is missing, cut short, unreadable or
    another pair's, or the index where records stand without it."""
    directory = record_dir(model_dir)
    index = _read_index(directory)
    if index is None:
        if directory.is_dir() and any(directory.iterdir()):
            raise RecordError(f"{directory / INDEX}: missing, though {directory} holds records")
        return None
    version, counts = index
    return {slug: _read_record(directory, slug, version, count) for slug, count in counts.items()}


def read_record(model_dir: Path, slug: str) -> PairRecord:
    """`slug`'s record, at least as long as the index counts; RecordError saying what is
    wrong."""
    directory = record_dir(model_dir)
    index = _read_index(directory)
    version, counts = index if index is not None else (RECORD_VERSION, {})
    return _read_record(directory, slug, version, counts.get(slug))


def _read_record(directory: Path, slug: str, version: int, count: RecordCount | None) -> PairRecord:
    file = directory / f"{slug}{SUFFIXES[version]}"
    try:
        data = _decompressed(file, version)
    except FileNotFoundError:
        raise RecordError(f"{file}: missing, though the index lists it") from None
    except (OSError, EOFError, zlib.error, lzma.LZMAError) as error:
        raise RecordError(f"{file}: unreadable ({error})") from None
    if len(data) > MAX_BYTES:
        raise RecordError(f"{file}: larger than {MAX_BYTES:,} bytes decompressed")
    found = _upgraded(file, data) if version == 1 else _record_of(file, data)
    if found.asset != slug:
        raise RecordError(f"{file}: the record of {found.asset}, not of {slug}")
    if count is not None and _shorter(found.count, count):
        raise RecordError(
            f"{file}: cut short: {found.count.issues} issues and {found.count.scored} scored "
            f"rows, where the index counts {count.issues} and {count.scored}"
        )
    return found


def _decompressed(file: Path, version: int) -> bytes:
    stored = _read(file, MAX_BYTES)
    if stored is None:
        raise FileNotFoundError(file)
    if version == 1:
        gunzip = zlib.decompressobj(wbits=31)
        data, ended = gunzip.decompress(stored, MAX_BYTES + 1), gunzip.eof
    else:
        unxz = lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
        data, ended = unxz.decompress(stored, max_length=MAX_BYTES + 1), unxz.eof
    if not ended and len(data) <= MAX_BYTES:
        raise EOFError("the compressed stream ends before its end")
    return data


def _read(file: Path, largest: int) -> bytes | None:
    """`file`'s bytes (None where there is none); RecordError naming it for a symbolic link
    (never followed: a previous image's record could lead anywhere), anything but a regular file
    (`/dev/zero` never ends) or a file past `largest` bytes."""
    if not os.path.lexists(file):
        return None
    try:
        return read_bytes(file, largest)
    except ArtifactError as error:
        raise RecordError(str(error)) from None


def write_record(model_dir: Path, record: PairRecord, previous: PairRecord | None) -> None:
    """Write `record` and enter it in the index; RecordError, writing nothing, when it would
    hold fewer issues or scored rows than `previous` (the record it extends). A directory of
    an older format is brought up to date first: its records rewritten in this one."""
    if previous is not None and _shorter(record.count, previous.count):
        raise RecordError(
            f"{record.asset}: the new record ({record.count.issues} issues, "
            f"{record.count.scored} scored rows) is shorter than the one it extends "
            f"({previous.count.issues}, {previous.count.scored}): nothing written"
        )
    directory = record_dir(model_dir)
    index = _read_index(directory)
    counts: dict[str, RecordCount] = {}
    if index is not None and index[0] != RECORD_VERSION:
        for slug, older in (read_records(model_dir) or {}).items():
            _write_file(directory, older)
            (directory / f"{slug}{SUFFIXES[index[0]]}").unlink()
            counts[slug] = older.count
    elif index is not None:
        counts = index[1]
    _write_file(directory, record)
    counts[record.asset] = record.count
    with replacing(directory / INDEX) as temporary:
        encoded = _RecordIndex(RECORD_VERSION, dict(sorted(counts.items())))
        temporary.write_bytes(msgspec.json.format(msgspec.json.encode(encoded)) + b"\n")
        temporary.chmod(0o644)


def _write_file(directory: Path, record: PairRecord) -> None:
    with replacing(directory / f"{record.asset}{SUFFIX}") as temporary:
        encoded = _ENCODER.encode(record)
        temporary.write_bytes(lzma.compress(encoded, filters=_FILTERS))
        temporary.chmod(0o644)  # the server may run as another user


def _record_of(file: Path, data: bytes) -> PairRecord:
    found = _decoded(file, data, PairRecord, _DECODE)
    rows = np.concatenate([found.pending.issue, found.scored.issue])
    leads = set(np.concatenate([found.pending.lead, found.scored.lead]).tolist())
    held = found.leads.lead
    if (
        (len(rows) and not 0 <= rows.min() <= rows.max() < len(found.issues))
        or not leads <= set(held.tolist())
        or (np.diff(held) <= 0).any()
    ):
        raise RecordError(
            f"{file}: its rows name issues or leads it does not hold, or its leads are out of order"
        )
    return found


def _upgraded(file: Path, data: bytes) -> PairRecord:
    """A format 1 record in this format: its issues added in order, then scored on the closes
    they held."""
    old = _decoded(file, data, _FileV1, msgspec.json.decode)
    record = PairRecord(old.asset, old.symbol, old.started, old.scored_until, absent=old.absent)
    closes: dict[int, float] = {}
    for issue in old.issues:
        naive = issue.naive if issue.naive is not None else issue.served
        lengths = {len(issue.served), len(naive), len(issue.closes)}
        if lengths != {len(issue.leads)} or {len(row) for row in (*issue.served, *naive)} - {
            len(VALUES)
        }:
            raise RecordError(
                f"{file}: the issue of {issue.model_version} at {issue.data_until} does not "
                f"hold {len(VALUES)} values and a close at each of its {len(issue.leads)} leads"
            )
        record = record.issued(issue)
        closes.update(
            (issue.data_until + lead, close)
            for lead, close in zip(issue.leads, issue.closes, strict=True)
            if close is not None
        )
    return record.scored_on(closes)


def _read_index(directory: Path) -> tuple[int, dict[str, RecordCount]] | None:
    file = directory / INDEX
    if directory.is_symlink():
        raise RecordError(f"{directory}: is a symbolic link; a record is read only where written")
    data = _read(file, JSON_MAX)
    if data is None:
        return None
    index = _decoded(file, data, _RecordIndex, msgspec.json.decode)
    for slug in index.assets:
        if not re.fullmatch(SLUG_PATTERN, slug):
            raise RecordError(
                f"{file}: {slug!r} is not a pair's name (<base>-<quote>, e.g. btc-usd): refused "
                "before any path is made of it"
            )
    return index.record_version, dict(index.assets)


def _decoded(
    file: Path, data: bytes, kind: type[Decoded], decode: Callable[..., object]
) -> Decoded:
    """`data` as `kind`, its format read first: one this code does not read is named as such,
    and so is a record of a format it reads in a shape it does not."""
    try:
        version = cast(_Version, decode(data, type=_Version)).record_version
    except msgspec.DecodeError as error:
        raise RecordError(f"{file}: {error}") from None
    if version not in READS:
        raise RecordError(
            f"{file}: record_version {version}, which this code does not read (it reads "
            f"{', '.join(map(str, READS))}): it was written by newer code"
        )
    try:
        return cast(Decoded, decode(data, type=kind))
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
