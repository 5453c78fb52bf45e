"""ci/scan-pushed-image.sh, which the release's scan job runs on the pushed image (issue 42,
bar 4), with a stand-in skopeo copying an image directory made here. A leak found in a real
layer is tested in tests/release/test_workflow_runs.py, through the workflow."""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "ci" / "scan-pushed-image.sh"
REF = "ghcr.io/octo/cryptopredict@sha256:" + "ab" * 32


def scan(tmp_path: Path, secrets: dict[str, str], *, skopeo: bool = True):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in ("mktemp", "rm", "cp", "mkdir", "dirname"):
        (bin_dir / tool).unlink(missing_ok=True)
        (bin_dir / tool).symlink_to(shutil.which(tool) or tool)
    (bin_dir / "python3").unlink(missing_ok=True)
    (bin_dir / "python3").symlink_to(sys.executable)
    if skopeo:
        (bin_dir / "skopeo").write_text(
            '#!/bin/bash\necho "skopeo $*" >>"$SKOPEO_LOG"\n'
            'target=${@: -1}; mkdir -p "${target#oci:}"; cp -r "$IMAGE_DIR"/. "${target#oci:}"\n'
        )
        (bin_dir / "skopeo").chmod(stat.S_IRWXU)
    image = tmp_path / "image"
    (image / "blobs").mkdir(parents=True, exist_ok=True)
    (image / "blobs" / "config").write_text('{"config": {"Env": ["PORT=8080"]}}')
    return subprocess.run(
        [shutil.which("bash") or "bash", str(SCRIPT), REF, *secrets],
        env={
            "PATH": str(bin_dir),
            "SKOPEO_LOG": str(tmp_path / "skopeo.log"),
            "IMAGE_DIR": str(image),
            **{name: value for name, value in secrets.items() if value},
        },
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_clean_image_passes_naming_what_was_searched(tmp_path):
    result = scan(
        tmp_path, {"ALPACA_API_KEY": "alpaca-key-0123456789", "DASK_SCHEDULER_ADDRESS": ""}
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "DASK_SCHEDULER_ADDRESS is not set" in result.stdout
    assert f"{REF} holds none of ALPACA_API_KEY" in result.stdout
    assert (
        (tmp_path / "skopeo.log")
        .read_text()
        .startswith(f"skopeo copy --quiet --all docker://{REF} oci:")
    )


def test_no_secret_set_means_nothing_to_search_for(tmp_path):
    result = scan(tmp_path, {"ALPACA_API_KEY": "", "ALPACA_SECRET_KEY": ""})
    assert result.returncode == 0
    assert "no secret was set" in result.stdout
    assert not (tmp_path / "skopeo.log").exists(), "nothing pulled"


def test_a_secret_too_short_to_search_for_fails_naming_it(tmp_path):
    result = scan(tmp_path, {"ALPACA_API_KEY": "short"})
    assert result.returncode == 1
    assert "ALPACA_API_KEY is shorter than 8 characters" in result.stderr
    assert "short" not in result.stderr.replace("shorter", "")


def test_without_skopeo_the_scan_fails_saying_so(tmp_path):
    result = scan(tmp_path, {"ALPACA_API_KEY": "alpaca-key-0123456789"}, skopeo=False)
    assert result.returncode == 1
    assert "needs skopeo" in result.stderr
