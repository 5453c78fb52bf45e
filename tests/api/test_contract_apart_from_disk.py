"""Issue 54, bar 3: the HTTP answers are declared for themselves, so renaming the fields of the
on-disk manifest (in a copy of the package) leaves `/openapi.json` as it was."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.paths import ROOT

pytestmark = pytest.mark.slow

# The served document, and the manifest's field names, as the package at PYTHONPATH has them.
DOCUMENT = """
import json, msgspec
from cryptopredict.api import create_app
from cryptopredict.artifact.schema import Manifest
from cryptopredict.artifact.store import open_artifacts
from cryptopredict.config import ApiSettings
settings = ApiSettings.from_env()
app = create_app(open_artifacts(settings.model_dir), settings)
print(json.dumps({
    "manifest": [field.name for field in msgspec.structs.fields(Manifest)],
    "openapi": app.test_client().get("/openapi.json").get_json(),
}))
"""
MANIFEST = re.compile(r"^class Manifest\(.*?(?=^\S)", re.MULTILINE | re.DOTALL)
FIELD = re.compile(r"^    (\w+): ", re.MULTILINE)


def _served(package_root: Path, artifact_dir: Path, tmp_path: Path) -> dict:
    environ = {
        **os.environ,
        "PYTHONPATH": str(package_root),
        "MODEL_DIR": str(artifact_dir),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'market.db'}",
    }
    done = subprocess.run(
        [sys.executable, "-c", DOCUMENT],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_renaming_the_manifest_s_fields_on_disk_leaves_the_openapi_document_as_it_was(
    artifact_dir, tmp_path
):
    copy = tmp_path / "copy"
    shutil.copytree(
        ROOT / "cryptopredict", copy / "cryptopredict", ignore=shutil.ignore_patterns("__pycache__")
    )
    schema = copy / "cryptopredict" / "artifact" / "schema.py"
    text = schema.read_text()
    manifest = MANIFEST.search(text)
    assert manifest is not None
    renamed = FIELD.sub(r"    disk_\1: ", manifest.group())
    schema.write_text(text.replace(manifest.group(), renamed))

    before = _served(ROOT, artifact_dir, tmp_path)
    after = _served(copy, artifact_dir, tmp_path)
    assert after["manifest"] == [f"disk_{name}" for name in before["manifest"]]
    assert "interval" in before["manifest"]
    assert after["openapi"] == before["openapi"]
