"""A Debian tool the suite needs and cannot have stops `make test` naming it, unless WITHOUT
names it (the Makefile's `apt_tool`): run on a PATH that holds none of the tools, with fake
`id` and `apt-get`, so nothing is installed and nothing leaves the machine."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.paths import ROOT

MAKE = shutil.which("make") or "make"  # `make test` runs this suite


def bare_path(tmp_path: Path, uid: int, apt: str | None = None) -> Path:
    """A PATH directory with only `id` (printing `uid`) and, when given, an `apt-get` script."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "id").write_text(f"#!/bin/sh\necho {uid}\n")
    if apt is not None:
        (bin_dir / "apt-get").write_text(f'#!/bin/sh\necho "$@" >> {tmp_path}/apt.log\n{apt}\n')
    for script in bin_dir.iterdir():
        script.chmod(0o755)
    return bin_dir


def make(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MAKE, "--no-print-directory", *args],
        cwd=ROOT,
        check=False,
        env={"PATH": str(path), "HOME": str(path)},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("tool", ["wrk", "chromium", "postgresql"])
def test_a_missing_tool_stops_the_run_naming_it_and_how_to_get_it(tmp_path, tool):
    done = make(bare_path(tmp_path, uid=1000), tool)
    assert done.returncode != 0
    said, stop = done.stderr.strip().splitlines()[-4:-1], done.stderr.strip().splitlines()[-1]
    assert said[0].startswith(f"{tool} is needed for "), done.stderr
    assert f"apt-get install {tool}" in said[1]
    assert f"make test WITHOUT={tool}" in said[2]
    assert stop.startswith("make: *** [Makefile:")
    assert stop.endswith(f"{tool}] Error 1")


@pytest.mark.parametrize("target", ["run", "serve", "live"])
def test_serving_without_haproxy_stops_first_saying_how_to_get_it(tmp_path, target):
    """A newcomer's `make run` (not root) on a machine without HAProxy: stopped before any
    install or training, told how to install it and how to serve without it."""
    done = make(bare_path(tmp_path, uid=1000), target)
    assert done.returncode != 0
    said = done.stderr.strip().splitlines()
    assert said[0].startswith("haproxy is needed for the API's proxy (make run, make serve"), said
    assert "apt-get install haproxy, as root: make does that itself when run as root" in said[1]
    assert said[2] == (
        "or serve without it, for development only: make train, then .venv/bin/python api.py"
        " --alone"
    )
    assert said[3].endswith("haproxy] Error 1")
    assert done.stdout == ""  # nothing installed, nothing trained


def test_as_root_a_tool_apt_did_not_bring_stops_the_run(tmp_path):
    done = make(bare_path(tmp_path, uid=0, apt="exit 0"), "wrk")
    assert done.returncode != 0
    assert (tmp_path / "apt.log").read_text().split() == ["install", "-y", "-qq", "wrk"]
    assert "apt-get install wrk left no wrk on PATH" in done.stderr
    assert "wrk] Error" in done.stderr.splitlines()[-1]


def test_as_root_a_failing_apt_stops_the_run(tmp_path):
    done = make(bare_path(tmp_path, uid=0, apt="exit 100"), "wrk")
    assert done.returncode != 0
    # Installing failed, so it updated the package lists and tried once more.
    assert (tmp_path / "apt.log").read_text().splitlines() == [
        "install -y -qq wrk",
        "update -qq",
    ]
    assert "left no wrk on PATH" in done.stderr


def test_without_names_the_tools_to_do_without(tmp_path):
    done = make(bare_path(tmp_path, uid=1000), "wrk", "postgresql", "WITHOUT=wrk,postgresql")
    assert done.returncode == 0, done.stderr
    assert "doing without wrk, as WITHOUT=wrk,postgresql asks: the soak test" in done.stderr
    assert "doing without postgresql" in done.stderr


def test_without_does_not_cover_a_tool_it_does_not_name(tmp_path):
    done = make(bare_path(tmp_path, uid=1000), "wrk", "chromium", "WITHOUT=wrk")
    assert done.returncode != 0
    assert "doing without wrk" in done.stderr
    assert "chromium is needed for the browser tests" in done.stderr


@pytest.mark.parametrize("named", ["wrkk", "haproxy"])  # the server's proxy: never done without
def test_without_naming_no_tool_of_the_suite_is_an_error(tmp_path, named):
    done = make(bare_path(tmp_path, uid=1000), "wrk", f"WITHOUT={named}")
    assert done.returncode != 0
    assert (
        f"WITHOUT names {named}: it can name only chromium wrk postgresql prometheus "
        "docker-registry" in done.stderr
    )


def dry_run(*args: str) -> str:
    """What `make -n ARGS` would run, with no WITHOUT from this environment."""
    env = {key: value for key, value in os.environ.items() if key != "WITHOUT"}
    done = subprocess.run(
        [MAKE, "-n", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


def test_make_test_checks_the_tools_first_and_reports_what_it_left_out():
    """The recipe `make test` would run (`make -n`) with WITHOUT and without it."""
    strict, lenient = (dry_run("test", *args) for args in ([], ["WITHOUT=wrk"]))
    assert "CRYPTOPREDICT_FAIL_ON_SKIP=1 .venv/bin/pytest" in strict
    assert "CRYPTOPREDICT_FAIL_ON_SKIP=0 .venv/bin/pytest" in lenient
    assert 'echo "left out: wrk (WITHOUT=wrk): the soak test skipped"' in lenient
    assert "left out" not in strict
    # The tools are checked before the linters' minutes.
    assert strict.index("command -v wrk") < strict.index("ruff check")


def test_ci_never_does_without_a_tool_and_fails_on_skips(tmp_path):
    """.ci/run with a `make` that records how it was called, and a WITHOUT in the environment
    that CI must not honour."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "make.log"
    fake = f'#!/bin/sh\necho "$* FAIL_ON_SKIP=$CRYPTOPREDICT_FAIL_ON_SKIP" >> {log}\n'
    (bin_dir / "make").write_text(fake)
    (bin_dir / "make").chmod(0o755)
    subprocess.run(
        [str(ROOT / ".ci" / "run")],
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "WITHOUT": "wrk"},
        check=True,
        timeout=60,
    )
    assert log.read_text().splitlines() == [
        "tools base-image WITHOUT= FAIL_ON_SKIP=1",
        "test e2e image-test WITHOUT= --jobs --output-sync=target --no-print-directory "
        "FAIL_ON_SKIP=1",
    ]


def test_the_make_commands_tests_start_are_not_sub_makes_of_the_one_running_the_suite():
    """`make test` starts the suite from a make, and .ci/run's is `make --jobs
    --output-sync=target`: a `make run` a test starts with that make's options would hold back
    its output until it ends (tests/conftest.py drops them)."""
    assert not {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"} & set(os.environ)
