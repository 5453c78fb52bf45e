"""Search every blob of an exported image for a secret: `python -m ci.layer_scan DIR FILE [WHAT]`.

DIR is an image written by `buildah push IMAGE oci:DIR` (or `dir:DIR`). Every blob is searched:
the config (history, labels, environment) and each layer, decompressed, and inside each layer
every file, itself decompressed when it is a gzip, bzip2, xz or zip archive.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

_MAX_NESTED = 512 * 1024 * 1024


@dataclass(frozen=True)
class ScanReport:
    blobs: int
    members: int
    scanned_bytes: int
    hits: list[str]


def scan_image(directory: Path, secret: bytes) -> ScanReport:
    if len(secret) < 8:
        raise ValueError("the secret is too short to search for without false alarms (< 8 bytes)")
    blobs = members = scanned = 0
    hits: list[str] = []
    for blob in sorted(path for path in Path(directory).rglob("*") if path.is_file()):
        blobs += 1
        data = _decompressed(blob.read_bytes())
        scanned += len(data)
        if secret in data:
            hits.append(str(blob))
        for name, content in _tar_members(data):
            members += 1
            scanned += len(content)
            if secret in content:
                hits.append(f"{blob}:{name}")
    return ScanReport(blobs, members, scanned, sorted(set(hits)))


def _tar_members(data: bytes) -> Iterator[tuple[str, bytes]]:
    """Each regular file of a tar stream, decompressed when it is an archive; nothing if not tar."""
    if data[257:262] != b"ustar":  # the POSIX tar magic; image layers always carry it
        return
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as archive:
        for member in archive:
            if not member.isfile():
                continue
            extracted = archive.extractfile(member)
            if extracted is None:
                continue
            content = extracted.read()
            yield member.name, content
            for inner_name, inner in _archive_contents(content):
                yield f"{member.name}!{inner_name}", inner


def _archive_contents(content: bytes) -> Iterator[tuple[str, bytes]]:
    if content[:2] == b"PK":
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                for info in archive.infolist():
                    if info.file_size <= _MAX_NESTED:
                        yield info.filename, archive.read(info)
        except (zipfile.BadZipFile, OSError, NotImplementedError):
            return
        return
    expanded = _decompressed(content)
    if expanded is not content:
        yield "(decompressed)", expanded


def _decompressed(data: bytes) -> bytes:
    """`data` decompressed if it starts with a gzip, bzip2 or xz signature, else `data` itself."""
    openers = {b"\x1f\x8b": gzip.decompress, b"BZh": bz2.decompress, b"\xfd7zXZ": lzma.decompress}
    for magic, decompress in openers.items():
        if data.startswith(magic):
            try:
                return decompress(data)
            except (OSError, EOFError, lzma.LZMAError, ValueError):
                return data
    return data


def main(argv: list[str]) -> int:
    """Scan DIR for the content of FILE; WHAT names it in the report (default: the secret)."""
    directory, secret_file = Path(argv[0]), Path(argv[1])
    what = argv[2] if len(argv) > 2 else "the secret"
    report = scan_image(directory, secret_file.read_bytes().strip())
    size = report.scanned_bytes / 1e6
    print(
        f"layer scan: {report.blobs} blobs, {report.members} files, {size:.0f} MB searched",
        end="; ",
    )
    if report.hits:
        print(f"{what} IS in the image:")
        for hit in report.hits:
            print(f"  {hit}")
        return 1
    print(f"{what} is in none of them")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
