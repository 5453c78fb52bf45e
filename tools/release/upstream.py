"""Whose release tags a repository holds: its fork parent's, or its own."""

from __future__ import annotations

import urllib.parse

from tools.release.github import GitHubError, request


def tag_owner(api_url: str, repository: str, token: str, tag: str, target: str) -> str:
    """The repository release tag `tag` on `target` is a release of: the parent's, or its own."""
    about = request(f"{api_url}/repos/{repository}", token, permission="contents: read")
    parent = str((about.get("parent") or {}).get("full_name") or "")
    if not (about.get("fork") and parent):
        return repository
    url = f"{api_url}/repos/{parent}/git/ref/tags/{urllib.parse.quote(tag)}"
    try:
        ref = request(url, token, permission="contents: read")
    except GitHubError as error:
        if error.status == 404:
            return repository
        raise
    return parent if (ref.get("object") or {}).get("sha") == target else repository
