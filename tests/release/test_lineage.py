"""A release never puts older code out as `latest` (issue 24, bar 1; issue 34, bar 2; issue 42,
bar 1): the check just before any tag moves, in a scratch git repository, with the outputs a
re-run reuses, against the remote's `main` and tags as they are when it runs."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.release.scratch_git import ScratchRepo, checkout_run
from tools.release.cli import main
from tools.release.lineage import Git, LineageError, check_publish
from tools.release.version import Published, Release, Version, read_index


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
    """The remote, which the direct calls below also use as their checkout."""
    (tmp_path / "remote").mkdir()
    monkeypatch.chdir(tmp_path / "remote")
    return History(ScratchRepo(tmp_path / "remote"))


# The build times of two runs: a scheduled rebuild at 06:23, the next one at 12:23.
EARLIER = datetime(2026, 3, 10, 6, 23, 5, tzinfo=UTC)
LATER = datetime(2026, 3, 10, 12, 23, 9, tzinfo=UTC)
NOTHING = None


TAGS = ["v0.1.4", "v0.1.5"]


def publish(history: History, release: Release, commit: str, **at: Any) -> str:
    """check_publish on `history`'s main, by default built LATER, nothing published yet."""
    at = {"created": LATER, "published": NOTHING, "tags": TAGS} | at
    return check_publish(release, commit, at.pop("tags"), Git(), main=history.c, **at)


def test_publishing_a_new_release_that_descends_from_every_tag_goes_ahead(history):
    release = Release(Version(0, 1, 6), create_tag=True)
    assert "is new" in publish(history, release, history.c)


def test_publishing_a_version_released_meanwhile_is_refused(history):
    # Run A chose 0.1.5, its build failed; run B released 0.1.5; A's failed jobs are re-run.
    release = Release(Version(0, 1, 5), create_tag=True)
    with pytest.raises(LineageError, match=rf"v0\.1\.5 \(commit {history.b}\) was released since"):
        publish(history, release, history.a)


def test_publishing_a_new_release_that_lacks_the_latest_is_refused(history):
    release = Release(Version(0, 1, 6), create_tag=True)
    with pytest.raises(LineageError, match=f"commit {history.d}\\): main does not contain it"):
        publish(history, release, history.d)


def test_moving_the_tags_to_a_rebuild_of_an_older_release_is_refused(history):
    # A scheduled run that chose v0.1.4, queued behind the push that released v0.1.5.
    release = Release(Version(0, 1, 4), create_tag=False)
    with pytest.raises(LineageError, match=r"the latest release is now v0\.1\.5"):
        publish(history, release, history.v014)


def test_a_rebuild_of_the_latest_release_publishes_only_its_own_commit(history):
    release = Release(Version(0, 1, 5), create_tag=False)
    assert "still the latest release" in publish(history, release, history.b)
    with pytest.raises(LineageError, match=f"that tag is commit {history.b}"):
        publish(history, release, history.c)


def index(version: str, created: datetime) -> str:
    """The raw index `latest` points at, as `imagetools inspect --raw` prints it."""
    annotations = {
        "org.opencontainers.image.version": version,
        "org.opencontainers.image.created": created.isoformat().replace("+00:00", "Z"),
    }
    manifest = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:0"}
    return json.dumps({"schemaVersion": 2, "manifests": [manifest], "annotations": annotations})


def test_re_running_the_publish_of_an_older_rebuild_is_refused(history):
    # Run 1 rebuilt v0.1.5 at 06:23 and failed to publish; run 2 rebuilt it at 12:23 and
    # published. Re-running run 1's publish reuses run 1's outputs: same version and commit.
    release = Release(Version(0, 1, 5), create_tag=False)
    published = read_index(index("0.1.5", LATER))
    with pytest.raises(LineageError, match=r"`latest` points at a newer build, made 2026-03-10T12"):
        publish(history, release, history.b, created=EARLIER, published=published)
    # The newer build itself, or any later one, goes ahead.
    for when in (LATER, datetime(2026, 3, 10, 18, 23, tzinfo=UTC)):
        assert "still the latest" in publish(
            history, release, history.b, created=when, published=published
        )


def test_latest_holding_a_higher_version_refuses_a_lower_one(history):
    release = Release(Version(0, 1, 5), create_tag=False)
    published = Published(Version(0, 1, 6), None)
    with pytest.raises(LineageError, match=r"`latest` is already 0\.1\.6"):
        publish(history, release, history.b, published=published)


def test_the_index_without_annotations_or_at_all_refuses_nothing_by_itself():
    assert read_index("") is None
    assert read_index('{"manifests": []}') == Published(None, None)
    with pytest.raises(ValueError, match="not an image index"):
        read_index('{"schemaVersion": 2}')


def test_a_rerun_of_a_publish_whose_tag_this_run_made_goes_on(history):
    # Run C planned v0.1.6 (a new tag); its tag job made the tag; its publish failed and is
    # re-run with the same outputs: the tag names this very commit.
    history.repo.git("tag", "v0.1.6", history.c)
    release = Release(Version(0, 1, 6), create_tag=True)
    tags = [*TAGS, "v0.1.6"]
    said = publish(history, release, history.c, tags=tags)
    assert "v0.1.6 already names this commit" in said
    # The same tag on another commit is somebody else's release.
    history.repo.git("tag", "--force", "v0.1.6", history.b)
    with pytest.raises(LineageError, match=r"v0\.1\.6 \(commit .*\) was released since"):
        publish(history, release, history.c, tags=tags)


def test_a_newer_version_is_published_whatever_the_build_time_of_latest(history):
    # A scheduled rebuild of v0.1.5 finished after this push's build of v0.1.6 began.
    release = Release(Version(0, 1, 6), create_tag=True)
    published = read_index(index("0.1.5", LATER))
    assert "is new" in publish(history, release, history.c, created=EARLIER, published=published)


def checkout(history: History, commit: str, ref: str, path) -> None:
    """The publish job's checkout (fetch-depth: 0) of the remote `history.repo`, made the
    working directory."""
    checkout_run(history.repo, path, commit, ref)
    os.chdir(path)


def test_check_publish_runs_as_the_workflow_calls_it_with_a_reruns_outputs(
    history, tmp_path, capsys
):
    checkout(history, history.b, "refs/tags/v0.1.5", tmp_path / "run")
    latest = tmp_path / "latest.json"
    latest.write_text(index("0.1.5", LATER))
    args = ["check-publish", "--version", "0.1.5", "--create-tag", "false", "--sha", history.b]
    args += ["--latest-index", str(latest)]
    assert main([*args, "--created", "2026-03-10T06:23:05Z"]) == 1
    assert "points at a newer build" in capsys.readouterr().err
    assert main([*args, "--created", "2026-03-10T18:23:05Z"]) == 0
    latest.write_text("")  # nothing published yet
    args = ["check-publish", "--version", "0.1.4", "--create-tag", "false", "--sha", history.v014]
    args += ["--latest-index", str(latest), "--created", "2026-03-10T18:23:05Z"]
    assert main(args) == 1
    assert "the latest release is now v0.1.5" in capsys.readouterr().err


def test_check_publish_refuses_a_commit_main_dropped_after_the_run_began(history, tmp_path, capsys):
    # Issue 42, bar 1. Push X on main; its run starts (its checkout's origin/main is X), its
    # build fails; main is force-pushed without X; "Re-run failed jobs" reaches the publish with
    # X's outputs: version 0.1.6, create-tag true, sha X.
    history.repo.checkout(history.c)
    x = history.repo.commit("push X")
    history.repo.move_branch(x)
    checkout(history, x, "refs/heads/main", tmp_path / "run")
    history.repo.move_branch(history.c)  # git push --force origin c:main
    args = ["check-publish", "--version", "0.1.6", "--create-tag", "true", "--sha", x]
    args += ["--created", "2026-03-10T18:23:05Z"]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert f"refusing to publish v0.1.6 (commit {x}): main does not contain it" in err
    # Before the force-push, the same publish goes on: the refusal is the live main's doing.
    history.repo.move_branch(x)
    assert main(args) == 0
    assert "v0.1.6 is new" in capsys.readouterr().out


def test_outside_a_checkout_with_the_tags_the_message_says_what_is_missing(tmp_path):
    ScratchRepo(tmp_path)
    with pytest.raises(ValueError, match="fetch-depth: 0"):
        Git(tmp_path).commit("refs/tags/v0.1.5")


def test_a_remote_failing_transiently_is_asked_again_then_said_to_re_run(history, server):
    """Issue 82: GitHub's 503 to the fetch of the live main and tags (every decision's first
    step) is tried again, then says re-run; a remote that is not there says no such thing."""
    server.answer(503, "Service Unavailable")
    remote = f"{server.url}/octo/cryptopredict.git"
    with pytest.raises(ValueError, match="could not read main") as failed:
        Git().sync_live(remote, "main")
    assert "error: 503" in str(failed.value)
    assert "a transient failure, not a fault of the release" in str(failed.value)
    assert len(server.requests) == 3, "asked, then again twice"
    with pytest.raises(ValueError, match="could not read main") as failed:
        Git().sync_live("nowhere", "main")
    assert "transient" not in str(failed.value)
