"""`CRYPTOPREDICT_FAIL_ON_SKIP=1` turns every skip into a failure that says why it skipped
(tests/fail_on_skip.py), tried on a suite of its own in a pytest process of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fail_on_skip import VARIABLE
from tests.paths import ROOT

pytestmark = pytest.mark.slow

SUITE = """
import pytest

def test_runs():
    pass

@pytest.mark.skipif(True, reason="wrk is not installed")
def test_needs_wrk():
    pass

@pytest.fixture
def postgres():
    pytest.skip("PostgreSQL is not installed")

def test_needs_postgres(postgres):
    pass

@pytest.mark.xfail(strict=True, reason="a bar the model misses")
def test_missed_bar():
    assert False
"""

MODULE_SKIP = """
import pytest

pytest.importorskip("no_such_module_anywhere")

def test_never_collected():
    pass
"""


def run_suite(tmp_path: Path, source: str, fail_on_skip: str | None) -> subprocess.CompletedProcess:
    (tmp_path / "test_suite.py").write_text(source)
    env = {key: value for key, value in os.environ.items() if key != VARIABLE}
    if fail_on_skip is not None:
        env[VARIABLE] = fail_on_skip
    env["PYTHONPATH"] = str(ROOT)
    # Only the plugin under test: the environment's others (schemathesis, xdist, ...) cost
    # seconds of start-up and play no part here.
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    command = [sys.executable, "-m", "pytest", "-p", "tests.fail_on_skip", "-p", "no:cacheprovider"]
    return subprocess.run(
        [*command, "-rA", "--rootdir", str(tmp_path), str(tmp_path)],
        cwd=tmp_path,
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("value", [None, "0"])
def test_unset_skips_stay_skips(tmp_path, value):
    done = run_suite(tmp_path, SUITE, value)
    assert done.returncode == 0, done.stdout
    assert "1 passed, 2 skipped, 1 xfailed" in done.stdout


def test_set_every_skip_fails_saying_why(tmp_path):
    done = run_suite(tmp_path, SUITE, "1")
    assert done.returncode == 1, done.stdout
    # Both skip at setup (a skipif mark, a fixture), so both fail there: errors.
    assert "1 passed, 1 xfailed, 2 errors" in done.stdout
    assert "skipped: wrk is not installed" in done.stdout
    assert "skipped: PostgreSQL is not installed" in done.stdout
    assert f"{VARIABLE}=1 fails every skipped test" in done.stdout
    assert "skipped" not in done.stdout.splitlines()[-1]


def test_set_a_module_skipped_at_import_fails_the_collection(tmp_path):
    done = run_suite(tmp_path, MODULE_SKIP, "1")
    assert done.returncode != 0, done.stdout
    assert "skipped: could not import 'no_such_module_anywhere'" in done.stdout
