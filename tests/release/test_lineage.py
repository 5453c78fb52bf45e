"""A release never puts older code out as `latest` (issue 24, bar 1): checked in a scratch git
repository, with the arguments the workflow passes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.release.scratch_git import ScratchRepo
from tools.release.cli import main
from tools.release.lineage import Git, LineageError, check_publish
from tools.release.version import Release, Version

ROOT = Path(__file__).resolve().parents[2]
# As the workflow runs it: every tag, none on the head commit (a push that is not a re-run).
AS_THE_WORKFLOW = ["--repository", "o/r", "--tags", "v0.1.4 v0.1.5", "--head-tags", ""]


class History:
    """v0.1.4 <- a (push A, its release failed) <- b = v0.1.5 (push B) <- c (push C), and d, a
    commit on another line from a, which never descends from v0.1.5."""

    def __init__(self, repo: ScratchRepo) -> None:
        self.repo = repo
        self.v014 = repo.commit("first release", tag="v0.1.4")
        self.a = repo.commit("push A")
        self.b = repo.commit("push B", tag="v0.1.5")
        self.c = repo.commit("push C")
        repo.checkout(self.a)
        self.d = repo.commit("another line of work, from A")


@pytest.fixture
def history(tmp_path, monkeypatch) -> History:
    monkeypatch.chdir(tmp_path)
    return History(ScratchRepo(tmp_path))


def next_version(capsys, *args: str) -> tuple[int, dict[str, str], str]:
    code = main(["next-version", "--event", "push", *args])
    captured = capsys.readouterr()
    lines = [line.split("=", 1) for line in captured.out.splitlines() if "=" in line]
    return code, dict(lines), captured.err


def test_a_descendant_of_the_latest_tag_gets_the_next_patch(history, capsys):
    history.repo.checkout(history.c)
    code, out, _ = next_version(capsys, *AS_THE_WORKFLOW)
    assert code == 0
    assert (out["version"], out["create-tag"], out["sha"]) == ("0.1.6", "true", history.c)


def test_a_rerun_of_an_older_push_is_refused_naming_both_commits(history, capsys):
    history.repo.checkout(history.a)
    code, out, err = next_version(capsys, *AS_THE_WORKFLOW)
    assert code == 1
    assert out == {}
    assert history.a in err
    assert history.b in err
    assert "v0.1.5" in err
    assert "older than the latest release" in err


def test_a_commit_on_another_line_is_refused_naming_both_commits(history, capsys):
    history.repo.checkout(history.d)
    code, _, err = next_version(capsys, *AS_THE_WORKFLOW)
    assert code == 1
    assert history.d in err
    assert history.b in err
    assert "does not descend from the latest release v0.1.5" in err


@pytest.mark.parametrize("head_tags", ["", "v0.1.5"])
def test_a_rebuild_of_the_newest_tags_own_commit_still_works(history, capsys, head_tags):
    history.repo.checkout(history.b)
    args = ["--repository", "o/r", "--tags", "v0.1.4 v0.1.5", "--head-tags", head_tags]
    code, out, _ = next_version(capsys, *args)
    assert code == 0
    assert (out["version"], out["create-tag"], out["sha"]) == ("0.1.5", "false", history.b)


def test_a_rerun_of_an_older_tagged_push_is_refused_too(history, capsys):
    # Its head carries v0.1.4: rebuilding it would point latest and 0.1.4 at older code.
    history.repo.checkout(history.v014)
    args = ["--repository", "o/r", "--tags", "v0.1.4 v0.1.5", "--head-tags", "v0.1.4"]
    code, _, err = next_version(capsys, *args)
    assert code == 1
    assert history.v014 in err
    assert history.b in err


@pytest.mark.parametrize("event", ["schedule", "workflow_dispatch"])
def test_a_scheduled_or_manual_run_rebuilds_the_latest_tags_commit(history, capsys, event):
    history.repo.checkout(history.c)
    code = main(["next-version", "--event", event, *AS_THE_WORKFLOW])
    out = dict(line.split("=", 1) for line in capsys.readouterr().out.splitlines() if "=" in line)
    assert code == 0
    assert (out["version"], out["create-tag"], out["sha"]) == ("0.1.5", "false", history.b)


def test_the_first_release_builds_the_head_commit(history, capsys):
    history.repo.checkout(history.c)
    code, out, _ = next_version(capsys, "--repository", "o/r", "--tags", "", "--head-tags", "")
    assert code == 0
    assert (out["version"], out["sha"]) == ("0.1.0", history.c)


@pytest.mark.parametrize(
    ("ref", "publish"),
    [
        ("refs/heads/main", "true"),
        ("refs/heads/feature", "false"),
        ("refs/heads/main-old", "false"),
        ("refs/tags/v0.1.5", "false"),
        ("", "false"),
    ],
)
def test_only_a_run_on_main_publishes(history, capsys, ref, publish):
    history.repo.checkout(history.c)
    code, out, err = next_version(capsys, *AS_THE_WORKFLOW, f"--ref={ref}")
    assert code == 0
    assert out["publish"] == publish
    assert ("no tag moves" in err) == (publish == "false")


@pytest.mark.slow  # processes of their own
def test_the_workflows_command_line_in_a_scratch_repository(history):
    command = [sys.executable, "-m", "tools.release", "next-version", "--event", "push"]
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}

    def run(commit: str) -> subprocess.CompletedProcess[str]:
        history.repo.checkout(commit)
        return subprocess.run(
            [*command, *AS_THE_WORKFLOW],
            cwd=history.repo.path,
            env=environment,
            capture_output=True,
            text=True,
            check=False,
        )

    descendant = run(history.c)
    assert descendant.returncode == 0
    assert "version=0.1.6\n" in descendant.stdout
    older = run(history.a)
    assert older.returncode == 1
    assert older.stdout == ""
    assert history.a in older.stderr
    assert history.b in older.stderr
    tagged = run(history.b)
    assert tagged.returncode == 0
    out = dict(line.split("=", 1) for line in tagged.stdout.splitlines() if "=" in line)
    assert (out["version"], out["create-tag"], out["sha"]) == ("0.1.5", "false", history.b)


TAGS = ["v0.1.4", "v0.1.5"]


def test_publishing_a_new_release_that_descends_from_every_tag_goes_ahead(history):
    release = Release(Version(0, 1, 6), create_tag=True)
    assert "is new" in check_publish(release, history.c, TAGS, Git())


def test_publishing_a_version_released_meanwhile_is_refused(history):
    # Run A chose 0.1.5, its build failed; run B released 0.1.5; A's failed jobs are re-run.
    release = Release(Version(0, 1, 5), create_tag=True)
    with pytest.raises(LineageError, match=rf"v0\.1\.5 \(commit {history.b}\) was released since"):
        check_publish(release, history.a, TAGS, Git())


def test_publishing_a_new_release_that_lacks_the_latest_is_refused(history):
    release = Release(Version(0, 1, 6), create_tag=True)
    with pytest.raises(LineageError, match=f"refusing to release commit {history.d}"):
        check_publish(release, history.d, TAGS, Git())


def test_moving_the_tags_to_a_rebuild_of_an_older_release_is_refused(history):
    # A scheduled run that chose v0.1.4, queued behind the push that released v0.1.5.
    release = Release(Version(0, 1, 4), create_tag=False)
    with pytest.raises(LineageError, match=r"the latest release is now v0\.1\.5"):
        check_publish(release, history.v014, TAGS, Git())


def test_a_rebuild_of_the_latest_release_publishes_only_its_own_commit(history):
    release = Release(Version(0, 1, 5), create_tag=False)
    assert "still the latest release" in check_publish(release, history.b, TAGS, Git())
    with pytest.raises(LineageError, match=f"that tag is commit {history.b}"):
        check_publish(release, history.c, TAGS, Git())


def test_check_publish_runs_as_the_workflow_calls_it(history, capsys):
    args = ["check-publish", "--version", "0.1.4", "--create-tag", "false"]
    code = main([*args, "--sha", history.v014, "--tags", "v0.1.4\nv0.1.5"])
    assert code == 1
    assert "the latest release is now v0.1.5" in capsys.readouterr().err
    code = main(["check-publish", "--version", "0.1.6", "--create-tag", "true", "--sha", history.c])
    assert code == 0


def test_outside_a_checkout_with_the_tags_the_message_says_what_is_missing(tmp_path):
    ScratchRepo(tmp_path)
    with pytest.raises(ValueError, match="fetch-depth: 0"):
        Git(tmp_path).commit("refs/tags/v0.1.5")
