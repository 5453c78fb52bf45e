"""`python -m tools.release remove-tag --tag vX.Y.Z`: a release tag that blocks the releases (a
stray: made before the tag ruleset on code `main` does not hold, or left behind when `main` was
rewritten on purpose) removed by the owner, never by hand. It checks first that the tag is a
stray, and refuses a release the pipeline would publish or has published in order (the newest,
or an older release that `main` holds and that descends from every earlier one); it then says
exactly what it will do, and does it only with `--yes`, through GitHub's API with the owner's
token (`GITHUB_TOKEN`), which the release tags ruleset lets through only if its bypass list
holds the token's user.
"""

from __future__ import annotations

from dataclasses import dataclass

from tools.release.github import request
from tools.release.lineage import Git
from tools.release.version import Version


@dataclass(frozen=True)
class Removal:
    tag: str
    commit: str
    why: str  # why it is a stray

    def said(self, repository: str) -> str:
        return (
            f"{self.tag} (commit {self.commit}) is a stray: {self.why}. Removing it deletes "
            f"refs/tags/{self.tag} from {repository} (DELETE /repos/{repository}/git/refs/tags/"
            f"{self.tag}, with your token; the release tags ruleset lets it through only if its "
            "bypass list holds your user). The image tags it published stay; the releases go on "
            "from the newest release tag left."
        )


def stray(tag: str, git: Git, main: str, branch: str) -> Removal:
    """`tag`, if it is a stray; ValueError saying why it is not (nothing is removed then)."""
    version = Version.from_tag(tag)
    if version is None:
        raise ValueError(f"{tag} is not a release tag (vX.Y.Z): the release never reads it")
    if tag not in git.tags():
        raise ValueError(f"{tag}: no such tag on the remote")
    commit = git.commit(f"refs/tags/{tag}")
    if not git.is_ancestor(commit, main):
        return Removal(tag, commit, f"{branch} (at {main}) does not contain its commit")
    for other in sorted(v for v in map(Version.from_tag, git.tags()) if v and v < version):
        other_commit = git.commit(f"refs/tags/{other.tag}")
        if not git.is_ancestor(other_commit, commit):
            return Removal(tag, commit, f"it does not descend from the earlier release {other.tag}")
    raise ValueError(
        f"{tag} is a release on {branch} that descends from every earlier one: it blocks nothing "
        "and removing it would rewrite the release history; nothing removed"
    )


def remove(removal: Removal, api_url: str, repository: str, token: str) -> None:
    request(
        f"{api_url}/repos/{repository}/git/refs/tags/{removal.tag}",
        token,
        method="DELETE",
        permission="contents: write, and the ruleset's bypass",
    )
