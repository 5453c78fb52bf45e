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

    def fetched_main(self, commit: str, branch: str = "main") -> None:
        """Where `origin/<branch>` is in the checkout, as actions/checkout's fetch-depth: 0
        leaves it: the release branch as the remote holds it."""
        self.git("update-ref", f"refs/remotes/origin/{branch}", commit)
