"""The shipped Prometheus rule file (`monitoring/alerts.yml`, issue 55): `promtool check rules`
passes, and `promtool test rules` shows the track record's coverage alert firing on a series
that falls to 50% and staying quiet at 80%, without a standard error, with a wide one and for
another band (`monitoring/alerts.test.yml`)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.paths import ROOT

MONITORING = ROOT / "monitoring"
needs_promtool = pytest.mark.skipif(
    shutil.which("promtool") is None,
    reason="promtool is not installed (Debian's prometheus package; `make test` installs it "
    "as root, or do without it: make test WITHOUT=prometheus)",
)
pytestmark = needs_promtool


def promtool(*args: str, cwd: Path = MONITORING) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["promtool", *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def test_the_rule_file_checks():
    done = promtool("check", "rules", "alerts.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 2 rules found" in done.stdout


def test_the_coverage_alert_fires_at_50_percent_and_not_at_80():
    done = promtool("test", "rules", "alerts.test.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_the_unit_test_fails_where_the_rule_would_be_wrong(tmp_path):
    """The unit test can fail: the same series against a rule that forgets the standard error
    (it fires for DOGE/USDT too), one that reads every band's coverage (the 50% band's
    30% of BTC/USD), and one that
    waits longer than the test's hour."""
    rules = (MONITORING / "alerts.yml").read_text()
    cases = {
        "no standard error": rules.replace(
            '+ 2 * cryptopredict_track_record_coverage_se{level="80"} < 0.80',
            "< 0.80",
        ),
        "every level": rules.replace('{level="80"}', ""),
        "too slow": rules.replace("for: 10m", "for: 90m"),
    }
    for why, changed in cases.items():
        assert changed != rules, why
        (tmp_path / "alerts.yml").write_text(changed)
        shutil.copy(MONITORING / "alerts.test.yml", tmp_path)
        done = promtool("test", "rules", "alerts.test.yml", cwd=tmp_path)
        assert done.returncode != 0, why
        assert "FAILED" in done.stdout + done.stderr, why
