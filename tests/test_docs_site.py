"""The documentation site's publication: `.github/workflows/docs.yml` builds the site the way
`make test` does (`make docs`) and publishes exactly the directory that build writes, from main
only."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tests.e2e.readme import mismatches, parse_shown

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


def test_a_docs_example_with_another_number_than_the_api_gives_is_a_mismatch():
    """Issue 35, bar 4: `make e2e` compares every number a docs example shows with the served
    answer (a stale band, 67,212.10 documented and 67,151.93 served, once went unseen)."""
    shown = parse_shown('{"prediction_low":67212.10,"level":50,"date":"...", ...}')
    served = {"prediction_low": 67151.93, "level": 50, "date": "2026-07-20T00:00:00Z", "x": 1}
    assert mismatches(shown, served) == [".prediction_low: 67212.1 in the document, 67151.93 here"]
    assert mismatches(shown, {**served, "prediction_low": 67212.1}) == []
