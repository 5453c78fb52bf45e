"""Artifact files edited by hand, as a hostile or careless operator might: a field of another
type in a `.npy` header, and the manifest's digest made to match again."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy.lib.format as npy

from cryptopredict.artifact.schema import MANIFEST


def retyped(file: Path, field: str, new_type: str) -> None:
    """`file` (a .npy record) with `field` declared as `new_type` in its header, the bytes
    after the header left as they are."""
    with file.open("rb") as opened:
        version = npy.read_magic(opened)
        read = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
        _, _, dtype = read(opened)
        data = opened.read()
    descr = [
        (name, new_type, *shape) if name == field else (name, kind, *shape)
        for name, kind, *shape in npy.dtype_to_descr(dtype)
    ]
    header = io.BytesIO()
    npy.write_array_header_2_0(header, {"descr": descr, "fortran_order": False, "shape": ()})
    file.write_bytes(header.getvalue() + data)


def resealed(directory: Path, name: str) -> None:
    """The manifest's sha256 of `name` made to match the file again (an edit that passes the
    digest check)."""
    manifest = json.loads((directory / MANIFEST).read_text())
    manifest["files"][name] = hashlib.sha256((directory / name).read_bytes()).hexdigest()
    (directory / MANIFEST).write_text(json.dumps(manifest))
