"""The training cache a release hands to the next: the contents of the Dockerfile's cache mount
(the fit cache and the history store), taken out of the build whatever its outcome and kept as
the workflow artifact `training-cache` of the release run that trained with it.

An artifact, not GitHub's cache: a cache entry is read only by runs of the ref that saved it
and of main, so the fits a scheduled rebuild (a run on the release tag) saved would never reach
the next push to main, and an entry unused for seven days is evicted. Any run of the repository
reads any run's artifact, which lives its retention. So every release run, a push on main or a
rebuild on a release tag, starts from the newest training cache a release run kept (`newest`),
and once its own is kept, the older ones are deleted (`prune`): the repository holds one.

Only release runs (on main or a release tag) count: a trial run on another branch reads the
release's cache but keeps none, and a cache some other branch's run kept is never read.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

from tools.release.github import request

ARTIFACT = "training-cache"
READ = "actions: read"
WRITE = "actions: write"
RELEASE_REF = re.compile(r"main|v\d+\.\d+\.\d+")  # head_branch: a branch's or a tag's name
PAGE = 100  # GitHub's largest page: the repository keeps one training cache, a few at most


def kept(api_url: str, repository: str, token: str, *, timeout: float = 30.0) -> list[Any]:
    """Every `training-cache` artifact of the repository, newest first."""
    query = urllib.parse.urlencode({"name": ARTIFACT, "per_page": PAGE})
    url = f"{api_url.rstrip('/')}/repos/{repository}/actions/artifacts?{query}"
    found = request(url, token, permission=READ, timeout=timeout).get("artifacts") or []
    artifacts = [item for item in found if item.get("name") == ARTIFACT]
    return sorted(artifacts, key=lambda item: str(item.get("created_at")), reverse=True)


def of_releases(artifacts: list[Any]) -> list[Any]:
    """Those a release run kept (on main or a release tag), not expired, newest first."""
    return [
        item
        for item in artifacts
        if not item.get("expired")
        and RELEASE_REF.fullmatch(str((item.get("workflow_run") or {}).get("head_branch")))
    ]


def newest(api_url: str, repository: str, token: str, *, timeout: float = 30.0) -> Any | None:
    """The newest training cache a release run kept; None when there is none."""
    releases = of_releases(kept(api_url, repository, token, timeout=timeout))
    return releases[0] if releases else None


def prune(
    api_url: str, repository: str, token: str, run_id: int, *, timeout: float = 30.0
) -> list[Any]:
    """Delete every training cache but run `run_id`'s, when its own is the newest a release run
    kept (else nothing: a run that kept none leaves the last one in place); the ones deleted."""
    artifacts = kept(api_url, repository, token, timeout=timeout)
    releases = of_releases(artifacts)
    if not releases or releases[0].get("workflow_run", {}).get("id") != run_id:
        return []
    gone = [item for item in artifacts if item is not releases[0]]
    for item in gone:
        url = f"{api_url.rstrip('/')}/repos/{repository}/actions/artifacts/{int(item['id'])}"
        request(url, token, method="DELETE", permission=WRITE, timeout=timeout)
    return gone


def described(artifact: Any) -> str:
    run = artifact.get("workflow_run") or {}
    size = int(artifact.get("size_in_bytes") or 0)
    return (
        f"run {run.get('id')} on {run.get('head_branch')} ({str(run.get('head_sha'))[:12]}), "
        f"kept {artifact.get('created_at')}, {size / 1e6:.0f} MB"
    )
