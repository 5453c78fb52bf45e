"""ci/manifest_git_sha.py, run as the image checks run it: fed to python on standard input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "ci" / "manifest_git_sha.py"
SHA = "0123456789abcdef0123456789abcdef01234567"


def run(model_dir: Path, expected: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-", expected],
        stdin=SCRIPT.open(),
        capture_output=True,
        text=True,
        env={"MODEL_DIR": str(model_dir)},
        check=False,
    )


def write(model_dir: Path, asset: str, git_sha: str | None) -> None:
    (model_dir / asset).mkdir(parents=True)
    manifest = {"schema_version": 2, "model_version": "0.1.0-20260101000000", "git_sha": git_sha}
    (model_dir / asset / "manifest.json").write_text(json.dumps(manifest))


def test_every_manifest_recording_the_commit_passes(tmp_path):
    write(tmp_path, "btc-usd", SHA)
    write(tmp_path, "eth-usd", SHA)
    done = run(tmp_path, SHA)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"git_sha: btc-usd records {SHA}",
        f"git_sha: eth-usd records {SHA}",
    ]


def test_a_model_without_the_commit_fails_naming_it(tmp_path):
    write(tmp_path, "btc-usd", SHA)
    write(tmp_path, "eth-usd", None)
    done = run(tmp_path, SHA)
    assert done.returncode == 1
    assert "eth-usd/manifest.json records None" in done.stderr


def test_no_model_at_all_fails(tmp_path):
    done = run(tmp_path, SHA)
    assert done.returncode == 1
    assert "no manifest" in done.stderr
