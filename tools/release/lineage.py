"""Where release tags sit in the git history: a release never puts older code out as `latest`.

Each new release must descend from the latest one: a re-run of an older push, or a run the
queue started out of order, finds a newer tag it does not descend from and is refused, naming
both commits. The same rules are checked again just before any tag moves (`check-publish`),
against the tags as they are then, so neither the order runs start in nor re-running a
failed job of an old run can move `latest` backwards.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tools.release.published import Published
from tools.release.version import Release, latest_version


class LineageError(ValueError):
    """This run would release older code than the latest release; the message names both."""


@dataclass(frozen=True)
class Git:
    """The few questions the release asks of a git checkout (with its tags fetched)."""

    directory: Path = Path()

    def commit(self, ref: str) -> str:
        """The full commit id `ref` names; ValueError if it names none."""
        result = self._run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
        if result.returncode != 0:
            raise ValueError(
                f"{ref} names no commit in {self.directory.resolve()}; the release needs a "
                "checkout with its whole history and tags (actions/checkout's fetch-depth: 0)"
            )
        return result.stdout.strip()

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """Whether `ancestor` is `descendant` or one of its ancestors."""
        result = self._run("merge-base", "--is-ancestor", ancestor, descendant)
        if result.returncode not in (0, 1):
            raise ValueError(f"git merge-base failed: {result.stderr.strip()}")
        return result.returncode == 0

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", "-C", str(self.directory), *args], capture_output=True, text=True, check=False
        )


def check_descends(tag: str, commit: str, git: Git) -> None:
    """LineageError unless `commit` is the commit of release `tag` or one of its descendants."""
    tag_commit = git.commit(f"refs/tags/{tag}")
    if git.is_ancestor(tag_commit, commit):
        return
    if git.is_ancestor(commit, tag_commit):
        why = (
            f"it is older than the latest release {tag} (commit {tag_commit}), which already "
            f"holds it: a re-run of an older push, or a run started out of order, has nothing "
            f"to release, and releasing it would roll {tag}'s code back"
        )
    else:
        why = (
            f"it does not descend from the latest release {tag} (commit {tag_commit}): the "
            f"history was rewritten or the run is on another line of work, and releasing it "
            f"would drop what {tag} holds. Release a commit that descends from {tag}"
        )
    raise LineageError(f"refusing to release commit {commit}: {why}")


def check_publish(
    release: Release,
    commit: str,
    tags: Iterable[str],
    git: Git,
    *,
    created: datetime,
    published: Published | None,
) -> str:
    """What publishing `release` (built from `commit` at `created`) does, if it is still the
    newest release given the repository's tags now and no newer build than it is `latest`,
    `published`
    (the re-run of an old run's job reuses that run's outputs: its version, commit and build
    time); else LineageError, which moves no tag."""
    if published is not None:
        if published.version is not None and published.version > release.version:
            raise LineageError(
                f"refusing to publish {release.version} (commit {commit}): `latest` is already "
                f"{published.version}, and it must not go back to older code"
            )
        if published.created is not None and published.created > created:
            raise LineageError(
                f"refusing to publish the build of {created.isoformat()} ({release.version.tag}, "
                f"commit {commit}): `latest` points at a newer build, made "
                f"{published.created.isoformat()}. A re-run of an older run publishes nothing; "
                "run the release again for a fresh build"
            )
    latest = latest_version(tags)
    if release.create_tag:
        if latest is not None and latest >= release.version:
            raise LineageError(
                f"refusing to publish {release.version} from commit {commit}: {latest.tag} "
                f"(commit {git.commit(f'refs/tags/{latest.tag}')}) was released since this run "
                f"chose its version. Run the release again for what is new"
            )
        if latest is not None:
            check_descends(latest.tag, commit, git)
        return f"{release.version.tag} is new and descends from every earlier release"
    if latest != release.version:
        newest = "no release" if latest is None else latest.tag
        raise LineageError(
            f"refusing to move the tags to a rebuild of {release.version.tag} (commit {commit}): "
            f"the latest release is now {newest}, and `latest` must not go back to older code"
        )
    tag_commit = git.commit(f"refs/tags/{release.version.tag}")
    if tag_commit != commit:
        raise LineageError(
            f"refusing to publish commit {commit} as {release.version.tag}: that tag is commit "
            f"{tag_commit}"
        )
    return f"{release.version.tag} is still the latest release, and this is its commit"
