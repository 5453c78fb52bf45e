"""Whose release tags a repository holds: its fork parent's, or its own."""

from __future__ import annotations

import urllib.parse

from tools.release.github import GitHub


def tag_owner(github: GitHub, tag: str, target: str) -> str:
    """The repository release tag `tag` on `target` is a release of: the parent's, or its own."""
    about = github.get("", "contents: read")
    parent = str((about.get("parent") or {}).get("full_name") or "")
    if not (about.get("fork") and parent):
        return github.repository
    path = f"//repos/{parent}/git/ref/tags/{urllib.parse.quote(tag)}"
    ref = github.get_or_none(path, "contents: read")
    sha = ((ref or {}).get("object") or {}).get("sha")
    return parent if sha == target else github.repository
