"""Every workflow and .github/dependabot.yml are valid against SchemaStore's schemas, as
`make lint` checks them with check-jsonschema (which vendors the schemas: no network)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
RELEASE = ROOT / ".github" / "workflows" / "release.yml"
DEPENDABOT = ROOT / ".github" / "dependabot.yml"

pytestmark = pytest.mark.slow  # check-jsonschema runs as a process of its own


def check(schema: str, *files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_every_workflow_is_valid():
    done = check("vendor.github-workflows", *WORKFLOWS)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok -- validation done" in done.stdout


def test_the_vendored_schema_knows_the_concurrency_queue_and_its_values(tmp_path):
    text = RELEASE.read_text()
    assert "  queue: max\n" in text
    bogus = tmp_path / "release.yml"
    bogus.write_text(text.replace("  queue: max\n", "  queue: bogus\n", 1))
    done = check("vendor.github-workflows", bogus)
    assert done.returncode == 1
    assert "'bogus' is not one of ['single', 'max']" in done.stdout


def test_an_unknown_key_in_a_workflow_fails(tmp_path):
    bogus = tmp_path / "release.yml"
    bogus.write_text(RELEASE.read_text().replace("  cancel-in-progress: false\n", "  cancel: no\n"))
    done = check("vendor.github-workflows", bogus)
    assert done.returncode == 1
    assert "$.concurrency" in done.stdout


def test_dependabot_yml_is_valid_and_a_wrong_ecosystem_fails(tmp_path):
    done = check("vendor.dependabot", DEPENDABOT)
    assert done.returncode == 0, done.stdout + done.stderr
    bogus = tmp_path / "dependabot.yml"
    bogus.write_text(DEPENDABOT.read_text().replace("docker-compose", "docker-composer"))
    assert check("vendor.dependabot", bogus).returncode == 1


def test_make_lint_runs_both_checks():
    makefile = (ROOT / "Makefile").read_text()
    assert "check-jsonschema --builtin-schema vendor.github-workflows $(WORKFLOWS)" in makefile
    assert "check-jsonschema --builtin-schema vendor.dependabot .github/dependabot.yml" in makefile
