"""Refuse to deploy unless the repository's rules keep release tags the release's own.

A run on a release tag reads the deploy hook (the `production` environment admits the tags),
and a workflow file changed on the tagged commit would run with it. So nobody but the release
may create, move or delete a release tag: an active tag ruleset covering `refs/tags/v*` with the
rules `creation`, `update` and `deletion`, and the GitHub Actions app the only bypass. The
workflow cannot enforce that itself; it reads the rulesets through the REST API (the token's
`metadata: read`, which every job has) and refuses to deploy while they are missing.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from typing import Any

from tools.release.github import GitHubError, request, request_list
from tools.release.render import DeployError

# The rules a tag ruleset must hold, and tags it must cover (a low and a high release tag).
REQUIRED_RULES = frozenset({"creation", "update", "deletion"})
RELEASE_TAG_REFS = ("refs/tags/v0.1.0", "refs/tags/v10.20.30")
PERMISSION = "metadata: read"


def covers_release_tags(ruleset: dict[str, Any]) -> bool:
    """Whether an active tag ruleset applies to every release tag (`refs/tags/vX.Y.Z`)."""
    if ruleset.get("target") != "tag" or ruleset.get("enforcement") != "active":
        return False
    names = (ruleset.get("conditions") or {}).get("ref_name") or {}
    include = names.get("include") or []
    exclude = names.get("exclude") or []
    return all(
        _matches(ref, include, "~ALL") and not _matches(ref, exclude, "~ALL")
        for ref in RELEASE_TAG_REFS
    )


def missing_tag_rules(rulesets: Iterable[dict[str, Any]]) -> set[str]:
    """The REQUIRED_RULES no active ruleset covering every release tag holds."""
    held = {
        str(rule.get("type"))
        for ruleset in rulesets
        if covers_release_tags(ruleset)
        for rule in ruleset.get("rules") or []
    }
    return set(REQUIRED_RULES - held)


def check_tag_rules(api_url: str, repository: str, token: str, *, timeout: float = 30.0) -> str:
    """DeployError unless the repository's rulesets keep release tags the release's own; else
    the names of the rulesets that do, as a line for the log."""
    base = f"{api_url.rstrip('/')}/repos/{repository}/rulesets"
    try:
        listed = request_list(
            f"{base}?includes_parents=true&targets=tag&per_page=100",
            token,
            permission=PERMISSION,
            timeout=timeout,
        )
        rulesets = [
            request(f"{base}/{int(item['id'])}", token, permission=PERMISSION, timeout=timeout)
            for item in listed
            if isinstance(item, dict) and item.get("target", "tag") == "tag"
        ]
    except (GitHubError, KeyError, TypeError, ValueError) as error:
        raise DeployError(f"the repository's tag rulesets could not be read: {error}") from None
    missing = missing_tag_rules(rulesets)
    if missing:
        raise DeployError(
            f"no active tag ruleset of {repository} restricts {', '.join(sorted(missing))} of the "
            "release tags: anyone who can push could make a release tag, and a run on it reads "
            "the deploy hook. In Settings -> Rules -> Rulesets, add a tag ruleset targeting "
            "'v*' with 'Restrict creations', 'Restrict updates' and 'Restrict deletions', "
            "GitHub Actions alone in its bypass list (docs/release.md, set-up step 6)"
        )
    names = sorted(str(r.get("name")) for r in rulesets if covers_release_tags(r))
    return f"release tags: only the release creates, moves or deletes them ({', '.join(names)})"


def _matches(ref: str, patterns: Iterable[str], everything: str) -> bool:
    return any(p == everything or fnmatch.fnmatchcase(ref, p) for p in patterns)
