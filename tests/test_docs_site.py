"""The documentation site's publication: `.github/workflows/docs.yml` builds the site the way
`make test` does (`make docs`) and publishes exactly the directory that build writes, from main
only."""

from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path

import pytest
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


# `gh api repos/<repo>/pages --jq .build_type` as GitHub answers it: Pages off (404), Pages
# publishing from a branch (`legacy`), or from a workflow (`workflow`).
FAKE_GH = """#!/usr/bin/env bash
case "$FAKE_PAGES" in
    off) echo "gh: Not Found (HTTP 404)" >&2; exit 1 ;;
    *) echo "$FAKE_PAGES" ;;
esac
"""


@pytest.mark.parametrize(
    ("pages", "said"),
    [
        ("off", "Pages is not enabled for octo/cryptopredict: in Settings -> Pages"),
        ("legacy", "Pages publishes from a branch (legacy), not from this workflow: in Settings"),
        ("workflow", None),
    ],
)
def test_a_fork_without_pages_set_up_learns_which_setting_first(tmp_path, pages, said):
    """Issue 51: GitHub Pages not enabled is named, with the setting, in the build's first step."""
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "docs.yml").read_text())
    build = workflow["jobs"]["build"]
    first = build["steps"][0]
    assert first["name"] == "Check that GitHub Pages publishes from this workflow"
    assert build["permissions"]["pages"] == "read"
    (tmp_path / "gh").write_text(FAKE_GH)
    (tmp_path / "gh").chmod(stat.S_IRWXU)
    environ = {
        "PATH": f"{tmp_path}:{os.environ['PATH']}",
        "GITHUB_REPOSITORY": "octo/cryptopredict",
        "GH_TOKEN": "t",
        "FAKE_PAGES": pages,
    }
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", first["run"]],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        check=False,
    )
    if said is None:
        assert result.returncode == 0, result.stdout + result.stderr
    else:
        assert result.returncode == 1
        assert result.stdout.startswith("::error title=GitHub Pages::")
        assert said in result.stdout
        assert "set Source to 'GitHub Actions'" in result.stdout


# A machine's own words: its paths, its scheduling wrapper, the sessions sharing it.
MACHINE_WORDS = re.compile(r"/work/|/root/|/home/|\bheavy\b|sessions'? ")


def test_no_page_says_the_machine_it_was_measured_on_but_as_cores_load_and_commit():
    """Issue 96, item 5: docs/ carried a local path to a scheduling wrapper and "other
    sessions"."""
    pages = [ROOT / "README.md", ROOT / "docs" / "measured.json", *(ROOT / "docs").glob("*.md")]
    said = [
        f"{page.name}: {found.group(0)!r}"
        for page in pages
        if page.name != "changelog.md"
        for found in MACHINE_WORDS.finditer(page.read_text().replace("header-heavy", ""))
    ]
    assert said == []
