"""`check-ref`: only main's release runs go on to a step that reads a secret or the deploy hook,
decided against the remote as it is when the step runs (issue 42, bar 2)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.release.scratch_git import ScratchRepo, checkout_run
from tools.release.cli import main


class Remote(ScratchRepo):
    """v0.1.5 at main's head (c), and a branch commit d."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.commit("first release", tag="v0.1.4")
        self.c = self.commit("c", tag="v0.1.5")
        self.d = self.commit("d, on a branch")
        self.move_branch(self.c)


@pytest.fixture
def remote(tmp_path, monkeypatch) -> Remote:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "remote").mkdir()
    return Remote(tmp_path / "remote")


def check_ref(remote: Remote, tmp_path, commit: str, ref: str, *more: str, tag: str) -> int:
    path = tmp_path / f"run-{len(list(tmp_path.iterdir()))}"
    checkout_run(remote, path, commit, ref)
    os.chdir(path)
    return main(["check-ref", f"--ref={ref}", f"--sha={commit}", f"--tag={tag}", *more])


def test_mains_run_and_the_planned_tags_run_are_admitted(remote, tmp_path, capsys):
    assert check_ref(remote, tmp_path, remote.c, "refs/heads/main", tag="v0.1.6") == 0
    assert "refs/heads/main admitted: main (live at" in capsys.readouterr().out
    assert check_ref(remote, tmp_path, remote.c, "refs/tags/v0.1.5", "--tagged", tag="v0.1.5") == 0
    assert "v0.1.5 is the newest release" in capsys.readouterr().out


@pytest.mark.parametrize(
    "case",
    [
        ("refs/heads/feature", "v0.1.5", "only main and the release tags reach"),
        ("refs/tags/v-x", "v0.1.5", "only on the release tag its version job planned (v0.1.5)"),
        ("refs/tags/v0.1.5", "v0.1.6", "planned (v0.1.6)"),
    ],
)
def test_any_other_ref_is_refused(remote, tmp_path, capsys, case):
    ref, tag, why = case
    remote.git("tag", "v-x", remote.c)
    assert check_ref(remote, tmp_path, remote.c, ref, tag=tag) == 1
    assert why in capsys.readouterr().err


def test_after_the_tag_job_the_planned_tag_must_name_the_commit(remote, tmp_path, capsys):
    assert check_ref(remote, tmp_path, remote.c, "refs/heads/main", "--tagged", tag="v0.1.6") == 1
    assert "the remote has no tag v0.1.6" in capsys.readouterr().err
    remote.git("tag", "v0.1.6", remote.d)  # somebody else's v0.1.6, on a branch commit
    assert check_ref(remote, tmp_path, remote.c, "refs/heads/main", "--tagged", tag="v0.1.6") == 1
    assert f"the remote's v0.1.6 is commit {remote.d}" in capsys.readouterr().err


def test_a_checkout_of_another_commit_is_refused(remote, tmp_path, capsys):
    path = tmp_path / "run"
    checkout_run(remote, path, remote.c, "refs/heads/main")
    os.chdir(path)
    args = ["check-ref", "--ref=refs/heads/main", f"--sha={remote.d}", "--tag=v0.1.6"]
    assert main(args) == 1
    assert f"its checkout is commit {remote.c}, the version job planned {remote.d}" in (
        capsys.readouterr().err
    )
