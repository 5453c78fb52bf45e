"""The documentation site's publication: `.github/workflows/docs.yml` builds the site the way
`make test` does (`make docs`) and publishes exactly the directory that build writes, from main
only."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).parents[1]


def test_the_workflow_publishes_what_make_docs_builds_from_main_only():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "docs.yml").read_text())
    site_dir = re.search(r"mkdocs build .*--site-dir (\S+)", (ROOT / "Makefile").read_text())
    assert site_dir is not None
    steps = workflow["jobs"]["build"]["steps"]
    assert "make docs" in [step.get("run") for step in steps]
    [upload] = [s for s in steps if s.get("uses", "").startswith("actions/upload-pages-artifact")]
    assert upload["with"]["path"] == site_dir.group(1)
    assert workflow[True]["push"] == {"branches": ["main"]}  # YAML 1.1 reads `on` as true
    assert workflow["jobs"]["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}
