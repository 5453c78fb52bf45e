"""A scratch git repository to run the release's history checks in, as the workflow does."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

# A fixed identity and clock: the same commits, byte for byte, on every run.
ENVIRONMENT = {
    "GIT_AUTHOR_NAME": "Release Test",
    "GIT_AUTHOR_EMAIL": "release@example.invalid",
    "GIT_COMMITTER_NAME": "Release Test",
    "GIT_COMMITTER_EMAIL": "release@example.invalid",
    "GIT_AUTHOR_DATE": "2026-03-09T18:00:00Z",
    "GIT_COMMITTER_DATE": "2026-03-09T18:00:00Z",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


class ScratchRepo:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "--quiet", "--initial-branch=main")

    def git(self, *args: str) -> str:
        result = subprocess.run(
            ["git", *args],
            cwd=self.path,
            env={**os.environ, **ENVIRONMENT},
            capture_output=True,
            text=True,
            check=True,
        )
        return result.stdout.strip()

    def commit(self, message: str, tag: str | None = None) -> str:
        """A new commit on the checked-out branch (tagged if asked); returns its id."""
        self.git("commit", "--quiet", "--allow-empty", "--message", message)
        if tag:
            self.git("tag", tag)
        return self.git("rev-parse", "HEAD")

    def checkout(self, commit: str) -> None:
        self.git("checkout", "--quiet", "--detach", commit)

    def move_branch(self, commit: str, branch: str = "main") -> None:
        """`git push origin <commit>:<branch>`, as seen by the remote (this repo)."""
        self.git("update-ref", f"refs/heads/{branch}", commit)


def checkout_run(remote: ScratchRepo, path: Path, commit: str, ref: str) -> ScratchRepo:
    """A job's checkout of `remote` as actions/checkout (fetch-depth: 0) leaves it for a run of
    `commit` on `ref`: every branch and tag, HEAD detached at the run's commit, and, for a run on
    a branch, `origin/<branch>` pointing at the run's commit, whatever the remote's branch is
    now (checkout fetches `+<sha>:refs/remotes/origin/<branch>`). `origin` is `remote`."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["git", "clone", "--quiet", "--no-checkout", str(remote.path), str(path)],
        env={**os.environ, **ENVIRONMENT},
        capture_output=True,
        check=True,
    )
    checkout = ScratchRepo.__new__(ScratchRepo)
    checkout.path = path
    checkout.checkout(commit)
    if ref.startswith("refs/heads/"):  # checkout fetches `+<sha>:refs/remotes/origin/<branch>`
        checkout.git("update-ref", f"refs/remotes/origin/{ref.removeprefix('refs/heads/')}", commit)
    return checkout
