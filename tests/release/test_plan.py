"""What a release run does (`plan_run`: a run on main whose head is tagged tags nothing; what
the others do, as the workflow reads it: test_cli's next-version and test_workflow_runs) and
the one guard before its image tags move (`check_publish`, issue 103), which refuses, one test
each way, a tag a newer release tag overtook (the remote's tags, as the workflow's step reads
them), a `latest` holding a higher version, and a `latest` holding a newer build (another tag
refused: test_workflow_runs' first minute)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.release.scratch_git import ScratchRepo, checkout_run
from tools.release.cli import main
from tools.release.plan import RefusedError, check_publish, plan_run
from tools.release.version import Published, Version

FIRST = Version(0, 1, 0)
TAGS = ["v0.4.2", "v0.4.10", "nightly", "v1.0.0-rc.1"]
BUILT = datetime(2026, 3, 9, 18, 0, 7, tzinfo=UTC)


def test_a_run_on_main_whose_head_is_tagged_tags_nothing():
    plan = plan_run("refs/heads/main", TAGS, ["v0.4.10"], "", FIRST)
    assert (plan.tag, plan.newest, str(plan.version)) == ("", "v0.4.10", "0.4.10")


def published(version: str | None, created: datetime | None) -> Published:
    return Published(version and Version.parse(version), created)


@pytest.mark.parametrize(
    "latest", [None, published("0.4.9", BUILT - timedelta(hours=6)), published("0.4.10", BUILT)]
)
def test_the_newest_tags_build_publishes_over_an_older_latest_or_its_own(latest):
    said = check_publish("v0.4.10", TAGS, BUILT, latest)
    assert said == "v0.4.10 is the newest release tag, and no newer build is `latest`"


def test_the_guard_refuses_when_latest_holds_a_higher_version():
    with pytest.raises(RefusedError, match=r"`latest` is already 0\.5\.0"):
        check_publish("v0.4.10", TAGS, BUILT, published("0.5.0", BUILT - timedelta(days=1)))


def test_the_guard_refuses_an_older_build_than_latests():
    """A re-run of an older run's publish: the same tag, built before `latest`'s."""
    newer = published("0.4.10", BUILT + timedelta(hours=6))
    with pytest.raises(RefusedError, match="`latest` points at a newer build, made 2026-03-10"):
        check_publish("v0.4.10", TAGS, BUILT, newer)


def test_check_publish_reads_the_tags_the_remote_holds_now(tmp_path, monkeypatch, capsys):
    """The workflow's step: the checkout's tags are as of the job's start; a tag pushed since
    is the remote's (git ls-remote), and the guard's answer is the output the deploy reads."""
    remote = ScratchRepo(tmp_path / "remote")
    commit = remote.commit("a", tag="v0.4.10")
    monkeypatch.chdir(checkout_run(remote, tmp_path / "run", commit, "refs/tags/v0.4.10").path)
    (tmp_path / "latest.json").write_text("")
    args = ["check-publish", "--tag", "v0.4.10", "--created", BUILT.isoformat()]
    args += ["--latest-index", str(tmp_path / "latest.json")]
    assert main(args) == 0
    assert capsys.readouterr().out == "published=true\n"
    remote.commit("b", tag="v0.4.11")
    assert main(args) == 1
    assert "the newest release tag is v0.4.11" in capsys.readouterr().err
