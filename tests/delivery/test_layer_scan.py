"""The secret scan finds a secret wherever a layer could hide it, and only then."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zipfile

import pytest

from ci.layer_scan import main, scan_image
from tests.release.oci_registry import tarred as layer

SECRET = b"canary-0123456789abcdef"


def zipped(name: str, content: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, content)
    return buffer.getvalue()


@pytest.fixture
def image(tmp_path):
    """An OCI layout with a clean config and a clean layer; tests add what they need."""
    blobs = tmp_path / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    (tmp_path / "index.json").write_text('{"schemaVersion": 2}')
    (blobs / "config").write_text('{"history": [{"created_by": "RUN pip install"}]}')
    (blobs / "clean").write_bytes(gzip.compress(layer({"app/api.py": b"print('hi')\n"})))
    return tmp_path


def test_a_clean_image_passes_and_everything_was_searched(image):
    report = scan_image(image, SECRET)
    assert report.hits == []
    assert report.blobs == 3
    assert report.members == 1


@pytest.mark.parametrize(
    ("where", "blob"),
    [
        ("a plain file in a layer", layer({"app/key": SECRET})),
        ("a file in a gzip layer", gzip.compress(layer({"app/key": b"k=" + SECRET}))),
        ("a gzip file in a layer", layer({"app/key.gz": gzip.compress(SECRET)})),
        ("a bzip2 file in a layer", layer({"app/key.bz2": bz2.compress(SECRET)})),
        ("an xz file in a layer", layer({"app/key.xz": lzma.compress(SECRET)})),
        ("a deflated zip member", layer({"app/grid.npz": zipped("a.npy", b"x" + SECRET)})),
        ("the image config", b'{"history": [{"created_by": "ARG KEY=' + SECRET + b'"}]}'),
    ],
)
def test_the_secret_is_found(image, where, blob):
    (image / "blobs" / "sha256" / "suspect").write_bytes(blob)
    report = scan_image(image, SECRET)
    assert report.hits, f"missed the secret in {where}"
    assert all("suspect" in hit for hit in report.hits)


def test_the_main_entry_point_fails_and_names_the_file(image, tmp_path_factory, capsys):
    (image / "blobs" / "sha256" / "leaky").write_bytes(layer({"run/secrets/x": SECRET}))
    secret_file = tmp_path_factory.mktemp("secret") / "canary"
    secret_file.write_bytes(SECRET + b"\n")
    assert main([str(image), str(secret_file)]) == 1
    out = capsys.readouterr().out
    assert "leaky:run/secrets/x" in out
    assert out.count("\n  ") == 2  # the layer blob, and the file inside it


def test_a_short_secret_is_refused_rather_than_matched_everywhere(image):
    with pytest.raises(ValueError, match="too short"):
        scan_image(image, b"abc")


def test_the_report_names_what_was_searched_for(image, tmp_path_factory, capsys):
    bundle = tmp_path_factory.mktemp("host") / "ca.crt"
    bundle.write_bytes(b"-----BEGIN CERTIFICATE-----\nproxy\n-----END CERTIFICATE-----\n")
    assert main([str(image), str(bundle), "the machine's CA bundle"]) == 0
    assert "the machine's CA bundle is in none of them" in capsys.readouterr().out
