"""The track record a release bakes beside its artifacts: `<model_dir>/track-record/`, a file a
pair (`<slug>.json.gz`) and `index.json`, what each file holds.

A pair's record is every forecast a release issued of it (`RecordIssue`: its point and bounds
at fixed leads after its data ended, and naive's), each lead beside the close of the hourly
bar ending at its instant, once a later release fetched that bar (`closes`, None until then).
Releases only add: an issue, or a close. `scored_until` is the data's end of the last release
that looked the closes up: every lead due by then that has none fell in a gap of the exchange's
bars. `started` says when and why the record began; `absent` why the pair's newest release did
not train it (it left the market, or it failed), its issues kept.

The index counts each pair's issues and scored leads, so that a reader can tell a file cut
short or lost from one that was never written (`read_records`), and a writer refuses to write
a record shorter than the one it read (`write_record`). Every slug read, in the index or a
record, is a pair's name (`SLUG_PATTERN`) before a path is made of it: a record read from a
previous image never names a file outside its directory.

Every format a release ever wrote is read (`READS`, each kept as a test fixture under
`tests/records/`): a new format adds its number with the function that brings the one before
it up to date, so a release always extends what the release before it published.
"""

from __future__ import annotations

import gzip
import re
import zlib
from pathlib import Path
from typing import TypeVar

import msgspec

from cryptopredict.artifact.schema import LEVELS, SLUG_PATTERN
from cryptopredict.atomic import replacing

RECORD_DIR = "track-record"
INDEX = "index.json"
RECORD_VERSION = 1
READS = (1,)  # every record_version a release wrote, each read by this code
SUFFIX = ".json.gz"
# The values kept at each lead, of the served forecast and of naive's alike.
VALUES = ("point", *(f"{side}_{level}" for level in LEVELS for side in ("low", "high")))
MAX_BYTES = 512 * 1024 * 1024  # a pair's record, decompressed


class RecordError(Exception):
    """A published record that cannot be read, or a record that would shrink."""


class RecordIssue(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One forecast as a release issued it. Per lead (seconds after `data_until`): `VALUES` of
    the served forecast, of naive's (None: the artifact kept no naive band), and the close of
    the hourly bar ending at `data_until + lead` (None: not fetched yet)."""

    model_version: str
    data_until: int  # the close of the model's last bar, epoch seconds
    issued_at: int  # when the release issued it
    leads: list[int]
    served: list[list[float]]
    naive: list[list[float]] | None
    closes: list[float | None]

    @property
    def scored(self) -> int:
        return sum(close is not None for close in self.closes)


class RecordNote(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    at: int  # epoch seconds
    why: str


class PairRecord(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A pair's track record (see the module's doc)."""

    record_version: int
    asset: str
    symbol: str
    started: RecordNote
    scored_until: int
    issues: list[RecordIssue]
    absent: RecordNote | None = None

    @property
    def count(self) -> RecordCount:
        return RecordCount(len(self.issues), sum(issue.scored for issue in self.issues))


class RecordCount(msgspec.Struct, frozen=True, array_like=True):
    issues: int
    scored: int


class _RecordIndex(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    record_version: int
    assets: dict[str, RecordCount]


Versioned = TypeVar("Versioned", PairRecord, _RecordIndex)


def record_dir(model_dir: Path) -> Path:
    return Path(model_dir) / RECORD_DIR


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
    return {slug: read_record(model_dir, slug, count) for slug, count in index.items()}


def read_record(model_dir: Path, slug: str, count: RecordCount | None = None) -> PairRecord:
    """`slug`'s record (at least `count` long, when given); RecordError saying what is wrong."""
    file = record_dir(model_dir) / f"{slug}{SUFFIX}"
    try:
        with gzip.open(file) as opened:
            data = opened.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise RecordError(f"{file}: missing, though the index lists it") from None
    except (OSError, EOFError, zlib.error) as error:
        raise RecordError(f"{file}: unreadable ({error})") from None
    if len(data) > MAX_BYTES:
        raise RecordError(f"{file}: larger than {MAX_BYTES:,} bytes decompressed")
    found = _decoded(file, data, PairRecord)
    if found.asset != slug:
        raise RecordError(f"{file}: the record of {found.asset}, not of {slug}")
    _check_shape(file, found)
    if count is not None and _shorter(found.count, count):
        raise RecordError(
            f"{file}: cut short: {found.count.issues} issues and {found.count.scored} scored "
            f"leads, where the index counts {count.issues} and {count.scored}"
        )
    return found


def write_record(model_dir: Path, record: PairRecord, previous: PairRecord | None) -> None:
    """Write `record` and enter it in the index; RecordError, writing nothing, when it would
    hold fewer issues or scored leads than `previous` (the record it extends)."""
    if previous is not None and _shorter(record.count, previous.count):
        raise RecordError(
            f"{record.asset}: the new record ({record.count.issues} issues, "
            f"{record.count.scored} scored leads) is shorter than the one it extends "
            f"({previous.count.issues}, {previous.count.scored}): nothing written"
        )
    directory = record_dir(model_dir)
    with replacing(directory / f"{record.asset}{SUFFIX}") as temporary:
        temporary.write_bytes(gzip.compress(msgspec.json.encode(record), mtime=0))
        temporary.chmod(0o644)  # the server may run as another user
    index = _read_index(directory) or {}
    index[record.asset] = record.count
    with replacing(directory / INDEX) as temporary:
        encoded = _RecordIndex(RECORD_VERSION, dict(sorted(index.items())))
        temporary.write_bytes(msgspec.json.format(msgspec.json.encode(encoded)) + b"\n")
        temporary.chmod(0o644)


def _read_index(directory: Path) -> dict[str, RecordCount] | None:
    file = directory / INDEX
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise RecordError(f"{file}: unreadable ({error.strerror})") from None
    assets = _decoded(file, data, _RecordIndex).assets
    for slug in assets:
        if not re.fullmatch(SLUG_PATTERN, slug):
            raise RecordError(
                f"{file}: {slug!r} is not a pair's name (<base>-<quote>, e.g. btc-usd): refused "
                "before any path is made of it"
            )
    return dict(assets)


class _Version(msgspec.Struct):
    record_version: int


def _decoded(file: Path, data: bytes, kind: type[Versioned]) -> Versioned:
    """`data` as `kind`, its format read first: one this code does not read is named as such."""
    try:
        version = msgspec.json.decode(data, type=_Version).record_version
        if version not in READS:
            raise RecordError(
                f"{file}: record_version {version}, which this code does not read (it reads "
                f"{', '.join(map(str, READS))}): it was written by newer code"
            )
        return msgspec.json.decode(data, type=kind)
    except msgspec.DecodeError as error:
        raise RecordError(f"{file}: {error}") from None


def _check_shape(file: Path, record: PairRecord) -> None:
    for issue in record.issues:
        naive = issue.naive if issue.naive is not None else issue.served
        lengths = {len(issue.served), len(naive), len(issue.closes)}
        widths = {len(row) for row in (*issue.served, *naive)}
        if lengths != {len(issue.leads)} or widths - {len(VALUES)}:
            raise RecordError(
                f"{file}: the issue of {issue.model_version} at {issue.data_until} does not "
                f"hold {len(VALUES)} values and a close at each of its {len(issue.leads)} leads"
            )


def _shorter(found: RecordCount, than: RecordCount) -> bool:
    return found.issues < than.issues or found.scored < than.scored
