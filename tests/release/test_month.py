"""The simulated month's harness (tests/release/month.py, issue 82): its fault scripts, and a
few cycles of it, run as `make month` runs the whole month."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.release import month
from tests.release.month_report import summary
from tests.release.month_world import KINDS

ANOTHER = month.FAULTS.with_name("month_faults_another.json")


def kinds(path) -> list[str]:
    return [fault["kind"] for fault in month.read_script(path)["faults"]]


def test_both_fault_scripts_hold_every_kind_in_another_order():
    """Bar 2: a second script in the documented format, written in another order."""
    ours, another = kinds(month.FAULTS), kinds(ANOTHER)
    assert set(ours) == set(another) == set(KINDS)
    assert ours != another
    first = list(dict.fromkeys(ours))
    assert first != list(dict.fromkeys(another)), "the kinds come in another order"


@pytest.mark.parametrize(
    ("fault", "said"),
    [
        ({"kind": "outage", "hour": 3}, "fault 1: `kind` must be one of gh-503"),
        ({"kind": "gh-503", "hour": 720}, "fault 1: `hour` must be a number of hours in [0, 720)"),
        ({"kind": "advisory", "hour": 3, "package": "flask"}, "names its `package` and its `id`"),
        ({"kind": "rollback", "hour": 3, "person": {}}, "`person` gives `after_hours`"),
    ],
)
def test_a_fault_script_it_cannot_read_is_refused_naming_where(tmp_path, capsys, fault, said):
    script = tmp_path / "faults.json"
    script.write_text(json.dumps({"faults": [fault]}))
    assert month.main(["--faults", str(script), "--out", str(tmp_path / "out")]) == 2
    assert said in capsys.readouterr().err
    assert not (tmp_path / "out").exists(), "nothing is simulated, nothing written"


@pytest.mark.slow  # a dozen workflow runs against a real registry: about a minute
def test_a_short_month_judges_each_fault_as_the_whole_month_does(tmp_path, capsys):
    """Three cycles and a push: each release one issue of the record, and a base image refused
    once, on the second cycle's rebuild, healed by the next cycle."""
    if shutil.which("docker-registry") is None:
        pytest.skip("docker-registry is not installed (make test installs it as root)")
    script = tmp_path / "faults.json"
    script.write_text(json.dumps({
        "cycles": 3, "pushes": [8.1],
        "faults": [{"kind": "base-image-429", "hour": 1}],
    }))  # fmt: skip
    assert month.main(["--faults", str(script), "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "month.json").read_text())
    assert result["hours"] == 18
    [push] = result["pushes"]
    assert push["within_two_cycles"] is True
    assert result["pushes_within_two_cycles"] is True
    assert result["record_issues_equal_releases"] is True
    assert result["releases"] == result["record_issues"] >= 4, "the first, a push, two cycles"
    [fault] = result["faults"]
    assert fault["struck"][0]["run"].startswith(("dispatch at hour 6.", "schedule at hour 6."))
    assert fault["ok"] is True
    assert fault["healed_by"], "the next cycle released"
    assert (tmp_path / "month.html").stat().st_size > 100_000, "the plot, plotly.js inside"
    assert summary(result) in capsys.readouterr().out
