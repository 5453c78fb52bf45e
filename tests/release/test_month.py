"""The simulated month's harness (tests/release/month.py, issue 82): its fault scripts, and a
few cycles of it, run as `make month` runs the whole month."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.release import month, month_tools
from tests.release.month_report import bar, mentions, report, said_words, summary
from tests.release.month_world import EXCHANGE_KINDS, KINDS, Fault, World

OTHERS = [month.FAULTS.with_name(f"month_faults_{name}.json") for name in ("another", "stranger")]
REAL = month.FAULTS.with_name("month_faults_real.json")
CATCH_ALL = {kind for kind, (_, words) in KINDS.items() if words == "production-stale"}


def kinds(path) -> list[str]:
    return [fault["kind"] for fault in month.read_script(path)["faults"]]


@pytest.mark.parametrize("other", OTHERS, ids=lambda path: path.stem)
def test_other_fault_scripts_hold_every_kind_in_another_order(other):
    """Bar 2: scripts in the documented format, every kind, in another order."""
    ours, theirs = kinds(month.FAULTS), kinds(other)
    assert set(ours) == set(theirs) == set(KINDS) - set(EXCHANGE_KINDS), "none a build can't meet"
    assert set(kinds(REAL)) >= CATCH_ALL >= set(EXCHANGE_KINDS), "BUILD=real's: the exchanges'"
    assert list(dict.fromkeys(ours)) != list(dict.fromkeys(theirs)), "another order"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('{"faults": [{"kind": "outage", "hour": 3}]}', "`kind` must be one of gh-503"),
        ('{"faults": [{"kind": "gh-503", "hour": 720}]}', "within the month's 720 hours"),
        ('{"faults": [{"kind": "gh-503", "hour": 3, "minute": 3}]}', "field `minute` - at"),
        ('{"faults": [{"kind": "gh-503", "hour": "3"}]}', "got `str` - at `$.faults[0].hour`"),
        ('{"faults": [{"kind": "gh-503", "hour": 3, "count": 0}]}', "- at `$.faults[0].count`"),
        ('{"faults": [{"kind": "advisory", "hour": 3, "package": "flask"}]}', "its `id`"),
        ('{"faults": [{"kind": "advisory", "hour": 3, "package": "leftpad", "id": "X"}]}', "pins"),
        ('{"faults": [{"kind": "rollback", "hour": 3, "person": {}}]}', "field `after_hours`"),
        ('{"faults": [], "start": "2026-12-01T00:00:00"}', "timezone component - at `$.start`"),
        ('{"faults": [], "pushes": [3, 800]}', "`pushes` must be within the month's 720 hours"),
        ('{"faults": [{"kind": "gh-503", "hour": 3}', "truncated"),
    ],
)
def test_a_fault_script_it_cannot_read_is_refused_naming_where(tmp_path, capsys, text, said):
    script = tmp_path / "faults.json"
    script.write_text(text)
    assert month.main(["--faults", str(script), "--out", str(tmp_path / "out")]) == 2
    assert said in capsys.readouterr().err
    assert not (tmp_path / "out").exists(), "nothing is simulated, nothing written"


@pytest.mark.slow  # a few workflow runs against a real registry: under a minute
def test_a_short_month_judges_each_fault_as_the_whole_month_does(tmp_path, capsys):
    """Two cycles and a push: each release one issue of the record, and Docker Hub refusing
    the test job's container three times (all of GitHub's runner's tries) on the second cycle's
    rebuild, healed by the next run; GitHub's 503s to its first three tries to start that
    rebuild, the fourth within the dispatch job's 5 minutes (the shipped back-off, issue 93)."""
    if shutil.which("docker-registry") is None:
        pytest.skip("docker-registry is not installed (make test installs it as root)")
    script = tmp_path / "faults.json"
    script.write_text(json.dumps({
        "cycles": 2, "pushes": [8.1],
        "faults": [{"kind": "base-image-429", "hour": 1, "count": 3},
                   {"kind": "gh-503", "hour": 1, "call": "workflow run", "count": 3}],
    }))  # fmt: skip
    assert month.main(["--faults", str(script), "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "month.json").read_text())
    assert result["hours"] == 12
    assert result["bar_1"]["holds"] is True
    assert result["fresh_share"] == 1.0, "a push at hour 8 fills the cycle the fault cost"
    assert result["stale_hours"] == []
    assert [hour for hour, _ in result["data_age"]] == list(range(12))
    assert max(age for _, age in result["data_age"]) <= 12
    [push] = result["pushes"]
    assert push["within_two_cycles"] is True
    assert result["pushes_within_two_cycles"] is True
    assert result["record_issues_equal_releases"] is True
    assert result["releases"] == result["record_issues"] >= 3, "the first, a push, a cycle"
    fault, gh = result["faults"]
    assert [hit["run"][:21] for hit in gh["struck"]] == ["schedule at hour 6.38"] * 3
    assert "dispatch at hour 6.48" in {r["run"][:21] for r in result["runs"]}
    assert fault["struck"][0]["run"].startswith(("dispatch at hour 6.", "schedule at hour 6."))
    assert fault["ok"] is True
    assert (fault["kind"], fault["hour"]) == ("base-image-429", 1)
    assert fault["healed_by"].startswith("push at hour 8.1"), "the next run released"
    assert isinstance(fault["said_in"], list)
    assert (tmp_path / "month.html").stat().st_size > 100_000, "the plot, plotly.js inside"
    assert summary(result) in capsys.readouterr().out


@pytest.mark.slow  # the release's own training in five builds: two minutes or so
def test_a_short_real_month_meets_each_exchange_fault_and_heals_it(tmp_path):
    """Issue 93, item 2: each build runs the Dockerfile's training on the stand-in exchanges.
    Binance's 451 to ETH/USDT (its market-data host refused too) fails the first cycle's build;
    the push at hour 3 trains BTC/USD from Binance while Alpaca answers 503; Alpaca's bars in
    another shape and Binance's that stopped at hour 3.5 fail the second cycle's (BTC/USD has
    no fresh source: REQUIRE_FRESH_HOURS); each healed by the next push."""
    if shutil.which("docker-registry") is None:
        pytest.skip("docker-registry is not installed (make test installs it as root)")
    script = tmp_path / "faults.json"
    script.write_text(json.dumps({
        "cycles": 2, "pushes": [3, 8.1], "start": "2026-06-01T00:00:00+00:00",
        "faults": [{"kind": "exchange-451", "hour": 0, "call": "ETHUSDT", "hours": 1},
                   {"kind": "exchange-outage", "hour": 2, "call": "alpaca", "hours": 2},
                   {"kind": "exchange-stale", "hour": 3.5, "call": "BTCUSDT", "hours": 5.5},
                   {"kind": "exchange-shape", "hour": 5, "call": "alpaca", "hours": 2}],
    }))  # fmt: skip
    assert month.main(["--faults", str(script), "--out", str(tmp_path), "--build", "real"]) == 0
    result = json.loads((tmp_path / "month.json").read_text())
    faults = result["faults"]
    assert result["bar_1"]["holds"] is True, faults
    assert result["fresh_share"] == 1.0
    assert [b[2:] for b in result["builds"]] == [
        ["alpaca", "2026-05-31T18:00:00Z"], ["binance", "2026-06-01T03:00:00Z"],
        ["alpaca", "2026-06-01T08:00:00Z"]
    ], "each build's source and newest bar: the hour its run started"  # fmt: skip
    assert [(f["kind"], f["struck"][0]["run"][:13], f["healed_by"][:24]) for f in faults] == [
        ("exchange-451", "dispatch at h", "push at hour 3 (refs/hea"),
        ("exchange-outage", "push at hour ", "push at hour 3 (refs/hea"),
        ("exchange-stale", "dispatch at h", "push at hour 8.1 (refs/h"),
        ("exchange-shape", "dispatch at h", "push at hour 8.1 (refs/h"),
    ]
    failed = [run["failed"] for run in result["runs"] if run["failed"]]
    assert ["eth-usdt" in failed[0], "btc-usd" in failed[1]] == [True, True], failed


def fault(ok: bool | None, **more) -> dict:
    return {"kind": "gh-503", "hour": 3, "ok": ok, "needs_a_person_unmarked": False, **more}


@pytest.mark.parametrize(
    ("faults", "fails"),
    [
        ([fault(True), fault(None)], "every_fault_struck"),
        ([fault(True, advises_starting_anew="a run")], "none_advises_starting_anew"),
        ([fault(False)], "every_fault_healed_or_said"),
    ],
    ids=["a fault that never struck", "advice to start anew", "neither healed nor said"],
)
def test_the_bar_fails_on_a_fault_that_proves_nothing_or_loses_the_record(faults, fails):
    """Issue 93: a fault that never struck proves nothing; advice to start the track record
    anew (which loses it) fails the bar even where the fault was said."""
    holds = bar(1.0, [], faults, record_equals_releases=True)
    assert holds["holds"] is False
    assert [part for part, ok in holds.items() if not ok] == [fails, "holds"]
    assert bar(1.0, [], [fault(True)], record_equals_releases=True)["holds"] is True


@pytest.mark.parametrize(
    ("kind", "text", "said"),
    [
        ("retention-refusal", "give this repository the role Admin in the package", True),
        ("retention-refusal", "the Administration permission is missing", False),
        ("gh-503", "Re-run the failed jobs", True),
        ("gh-503", "pre-running", False),
    ],
)
def test_a_topics_word_is_matched_as_a_word(kind, text, said):
    words = said_words(None, Fault(kind, 3, KINDS[kind][0], 1, {}), None)  # type: ignore[arg-type]
    assert mentions(text, words) is said


@pytest.mark.slow  # the registry's stand-in
def test_a_deleted_package_versions_id_is_never_another_versions():
    """Issue 93: the ids retention keeps and deletes by, unique as GitHub's: an id given
    again after a deletion kept every older build its new holder's id shielded."""
    world = World()
    for digest in ("sha256:a", "sha256:b", "sha256:c"):
        world.pushed(digest)
        world.versions.pop("sha256:a", None)  # as deleting it does
    world.stop()
    assert [number for number, _ in world.versions.values()] == [1001, 1002]


@pytest.mark.slow  # three cycles of the release against a real registry: about a minute
def test_a_push_gh_failed_through_two_runs_is_released_by_the_third(tmp_path):
    """Issue 93: GitHub's 503s through a push's run and the next scheduled one (four tries
    each) are transient: the third run releases the push, through the whole gate (issue 82's
    failed push, released by a scheduled run), rather than giving it up. (The fault
    is neither healed by the next cycle nor said in the issue: the bar says so.)"""
    script = tmp_path / "faults.json"
    script.write_text(json.dumps({
        "cycles": 3, "pushes": [2],
        "faults": [{"kind": "gh-503", "hour": 2, "call": "attestation", "count": 8}],
    }))  # fmt: skip
    assert month.main(["--faults", str(script), "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "month.json").read_text())
    runs = {run["run"].split(" (")[0]: run for run in result["runs"]}
    assert all(
        "not be verified now" in runs[r]["failed"]
        for r in ("push at hour 2", "schedule at hour 6.38")
    )
    assert runs["schedule at hour 12.38"]["released"], "the third run releases the push"
    assert "dispatch at hour 12.48" not in runs, "rather than rebuilding the old tag"
    [push] = result["pushes"]
    assert (push["in_production_after_hours"], push["within_two_cycles"]) == (11.38, True)


@pytest.mark.slow  # four cycles of the release against a real registry: about a minute
def test_production_stale_whatever_the_cause_is_said_and_healed_by_a_fresh_deploy(tmp_path):
    """Issue 93, the catch-all: GitHub dropping the first cycle's scheduled run, then Docker Hub
    refusing every pull for ten hours (no topic of their own) leave production's data older
    than 12 h; the runs say it in the one issue with the runs that failed and their last words,
    and the first fresh deploy, a scheduled run GitHub started 30 minutes late, heals it."""
    script = tmp_path / "faults.json"
    script.write_text(json.dumps({"cycles": 4, "faults": [
        {"kind": "schedule-dropped", "hour": 0},
        {"kind": "base-image-429", "hour": 6, "person": {"after_hours": 10}},
        {"kind": "schedule-delayed", "hour": 18, "minutes": 30},
    ]}))  # fmt: skip
    simulated = month.Month(month.read_script(script), tmp_path)
    try:
        simulated.simulate()
        faults = report(simulated, str(script))["faults"]
    finally:
        simulated.world.stop()
    said = {run.label.split(" (")[0]: run for run in simulated.runs}
    assert "schedule at hour 0.38" not in said
    assert "No release run failed since" in said["schedule at hour 6.38"].issues[0]
    [issue] = said["schedule at hour 12.38"].issues
    assert "### production-stale" in issue
    assert "serves data older than its promise of 12 hours (STALE_AFTER_HOURS)" in issue
    assert "test: Docker pull failed with exit code 1" in issue
    assert "### Needs you: production-stale" in said["schedule at hour 12.38"].summary
    assert said["dispatch at hour 18.98"].released
    assert said["dispatch at hour 18.98"].issues == []
    closed = [e for e in simulated.issue_events if e["what"] == "closed"]
    assert [e["run"].split(" (")[0] for e in closed] == ["dispatch at hour 18.98"]
    assert [(f["kind"], f["ok"]) for f in faults if f["kind"].startswith("schedule")] == [
        ("schedule-dropped", True), ("schedule-delayed", True)
    ]  # fmt: skip


def test_docker_and_skopeo_stand_ins_ask_once_and_skopeo_reads_a_blobs_status(
    tmp_path, server, monkeypatch
):
    """Issue 93: as the real tools, docker and skopeo try a registry request once, and skopeo
    fails on a blob answered 503, naming it, where its stand-in wrote the 503's body."""
    server.answer(503, '{"errors": [{"code": "UNAVAILABLE"}]}')
    assert month_tools.registry("u:p", server.url).get("/v2/o/n/blobs/sha256:l").status == 503
    assert len(server.requests) == 1
    index = b'{"manifests": [{"digest": "sha256:m"}]}'
    layer = b'{"layers": [{"digest": "sha256:l"}]}'
    monkeypatch.setattr(month_tools, "manifest", lambda r: index if r.endswith("i") else layer)
    monkeypatch.setattr(month_tools, "registry", lambda: month_tools.Once(server.url, ""))
    with pytest.raises(SystemExit, match="fetching blob: received unexpected HTTP status: 503"):
        month_tools.skopeo(["copy", "docker://ghcr.io/o/n@sha256:i", f"oci:{tmp_path}/oci"])


@pytest.mark.slow  # two cycles and a push against a real registry: half a minute each
@pytest.mark.parametrize(
    ("fault", "struck", "said"),
    [
        ({"kind": "render-hook-refused"}, "dispatch", "hook answered HTTP 404 (regenerate the"),
        ({"kind": "render-keeps-old-image", "count": 3}, "dispatch", "healthz did not report"),
        ({"kind": "render-unhealthy"}, "schedule", ""),
        ({"kind": "github-api-5xx", "count": 2}, "schedule", ""),
        ({"kind": "registry-push-503"}, "dispatch", "push ghcr.io/octo/cryptopredict: 503 Serv"),
        ({"kind": "attestation-outage"}, "dispatch", "certificate from Fulcio: HTTP 503"),
    ],
    ids=lambda value: value.get("kind", "") if isinstance(value, dict) else "",
)
def test_render_githubs_api_the_push_and_sigstore_failing_are_said_or_healed(
    tmp_path, fault, struck, said
):
    """Issue 93 item 3: each strikes the second cycle (its scheduled run, or the rebuild it
    starts), the run saying what it met, and the push after it releases; a failed deploy, or
    production not answering, said at once in the summary and the one issue."""
    script = tmp_path / "faults.json"
    script.write_text(json.dumps({"cycles": 2, "pushes": [8.1], "faults": [{"hour": 1, **fault}]}))
    assert month.main(["--faults", str(script), "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "month.json").read_text())
    [judged] = result["faults"]
    hour = {"schedule": "6.38", "dispatch": "6.48"}[struck]
    assert {hit["run"][:21] for hit in judged["struck"]} == {f"{struck} at hour {hour}"}
    assert len(judged["struck"]) == fault.get("count", 1)
    [run] = [run for run in result["runs"] if run["run"].startswith(f"{struck} at hour {hour}")]
    assert said in run["failed"]
    assert judged["healed_by"].startswith(("dispatch at hour 6.48", "push at hour 8.1"))
    assert len(judged["said_in"]) == 2 * (KINDS[fault["kind"]][1].startswith("production"))
    assert result["bar_1"]["holds"] is True
