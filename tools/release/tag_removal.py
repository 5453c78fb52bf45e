"""`python -m tools.release remove-tag`: stray release tags removed by the tag credential."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from tools.release.environment import check_environment
from tools.release.github import GitHub, GitHubError
from tools.release.lineage import Git, stray_tags
from tools.release.tagging import TagError, push_with_key, refuse_token_on_a_personal_account
from tools.release.version import Version


@dataclass(frozen=True)
class Removal:
    tag: str
    commit: str
    why: str  # why it is a stray

    def said(self) -> str:
        return f"{self.tag} (commit {self.commit}) is a stray: {self.why}"


def tags_named(values: Iterable[str]) -> list[str]:
    """The tags `--tag` names (space- or comma-separated), in order, once each."""
    named = [tag for value in values for tag in re.split(r"[\s,]+", value) if tag]
    if not named:
        raise ValueError("no release tag named: name each stray to remove (vX.Y.Z)")
    return list(dict.fromkeys(named))


def stray(tag: str, git: Git, main: str, branch: str) -> Removal:
    """`tag`, if it is a stray; ValueError saying why it is not (nothing is removed then)."""
    if Version.from_tag(tag) is None:
        raise ValueError(f"{tag} is not a release tag (vX.Y.Z): the release never reads it")
    if tag not in git.tags():
        raise ValueError(f"{tag}: no such tag on the remote")
    why = stray_tags(git, main, branch).get(tag)
    if why is None:
        raise ValueError(
            f"{tag} is a release on {branch} that descends from every earlier one: it blocks "
            "nothing and removing it would rewrite the release history; nothing removed"
        )
    return Removal(tag, git.commit(f"refs/tags/{tag}"), why)


def what_removing_does(removals: list[Removal], repository: str) -> str:
    tags = ", ".join(removal.tag for removal in removals)
    return (
        f"removing {tags} deletes {'its ref' if len(removals) == 1 else 'their refs'} from "
        f"{repository} with the release's tag credential (the deploy key RELEASE_TAG_KEY, the "
        "tag ruleset's bypass actor; else the job's token). The image tags they published stay, "
        "and `latest` never goes back to older code: the next push is numbered above every "
        "version the registry holds, theirs included; the releases go on from the newest "
        "release tag left"
    )


def remove(removals: list[Removal], github: GitHub, git: Git, *, key: str) -> str:
    """Delete the tags with the deploy key `key`, else the token; a log line or TagError."""
    tags = ", ".join(removal.tag for removal in removals)
    if key.strip():
        # The key is a secret of the environment holding the deploy hook: used only while that
        # environment admits nothing but the release branch and the release tags.
        check_environment(github, "main")
        refspecs = [f":refs/tags/{removal.tag}" for removal in removals]
        push_with_key(refspecs, f"remove {tags}", github, git, key)
        return f"removed {tags} with the deploy key"
    refuse_token_on_a_personal_account(github)
    for removal in removals:
        try:
            github.call("DELETE", f"/git/refs/tags/{removal.tag}", permission="contents: write")
        except GitHubError as error:
            raise TagError(
                f"GitHub refused to remove {removal.tag} with the token ({error.said or error}): "
                "the tag ruleset lets only its bypass list delete release tags. Run the release "
                "workflow on main with the input remove-tags, which removes them with the deploy "
                "key (docs/release.md, 'A release tag that must go')"
            ) from None
    return f"removed {tags} with the token"
