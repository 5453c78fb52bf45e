"""Where release tags sit in the live remote's history: `latest` never moves backwards."""

from __future__ import annotations

import base64
import os
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from tools.release.retry import RERUN, retried, transient
from tools.release.version import Published, Release, Version, latest_version


def _failed(done: subprocess.CompletedProcess[str]) -> bool:
    """Whether git's command failed transiently (the remote unreachable or failing)."""
    return done.returncode != 0 and transient(done.stderr)


class LineageError(ValueError):
    """This run would release older code than the latest release; the message names both."""


def must_go(tags: Sequence[str]) -> str:
    """How stray release tags go: the workflow's checked removal, and the command to preview it."""
    named = " ".join(tags)
    options = " ".join(f"--tag {tag}" for tag in tags)
    return (
        f"{'it' if len(tags) == 1 else 'they'} must go: run the release workflow on main with "
        f"the input remove-tags, `gh workflow run release.yml --ref main -f "
        f"remove-tags='{named}'`, which removes only strays, with the deploy key "
        f"(`python -m tools.release remove-tag {options}` says beforehand what it will do; "
        "docs/release.md, 'A release tag that must go')"
    )


def stray_tags(git: Git, main: str, branch: str) -> dict[str, str]:
    """The release tags that are strays, lowest first, each with why."""
    versions = sorted(v for v in map(Version.from_tag, git.tags()) if v is not None)
    on_branch = set(git.tags(merged=main))
    found = {
        v: f"{branch} (at {main}) does not contain its commit"
        for v in versions
        if v.tag not in on_branch
    }
    kept = [v for v in versions if v.tag in on_branch]
    # The tags on each release's commit or its ancestors: one git call a tag.
    below = {v: set(git.tags(merged=f"refs/tags/{v.tag}")) for v in kept}
    while kept:
        clashes = {
            v: [
                o
                for o in kept
                if (o < v and o.tag not in below[v]) or (v < o and v.tag not in below[o])
            ]
            for v in kept
        }
        worst = max(kept, key=lambda v: (len(clashes[v]), v))
        if not clashes[worst]:
            break
        lower = [o for o in clashes[worst] if o < worst]
        found[worst] = (
            f"it does not descend from the earlier release {max(lower).tag}"
            if lower
            else f"the later release {min(clashes[worst]).tag} does not descend from it"
        )
        kept.remove(worst)
    return {v.tag: found[v] for v in sorted(found)}


def strays_must_go(tag: str, git: Git, main: str, branch: str) -> str:
    """`must_go` for every stray release tag, or for `tag` when none is one."""
    found = list(stray_tags(git, main, branch))
    if not found:
        return must_go([tag])
    return f"{', '.join(found)} {'is' if len(found) == 1 else 'are'} not in order on {branch}: " + (
        must_go(found)
    )


# Where the remote's release branch is fetched to: a ref of the release's own, which neither
# actions/checkout nor a `git fetch` with the default refspec ever writes.
LIVE_REFS = "refs/release-live"


def git_auth(environ: Mapping[str, str]) -> dict[str, str]:
    """Environment that lets git fetch with $GITHUB_TOKEN, on no command line and in no file."""
    token = environ.get("GITHUB_TOKEN", "").strip()
    if not token:
        return {}
    server = environ.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"http.{server}/.extraheader",
        "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: basic {basic}",
    }


@dataclass(frozen=True)
class Git:
    """The few questions the release asks of a git checkout (with its tags fetched)."""

    directory: Path = Path()
    # Extra environment for the commands that reach the remote (git_auth).
    auth: Mapping[str, str] = field(default_factory=dict, repr=False)

    def sync_live(self, remote: str, branch: str) -> str:
        """Fetch `branch` and every tag from `remote` as they are now; the branch's live commit."""
        live = f"{LIVE_REFS}/{branch}"
        fetch = (
            # --refmap= : no opportunistic update of refs/remotes/*; only the refs named here.
            "fetch", "--quiet", "--no-tags", "--prune", "--force", "--refmap=", remote,
            f"+refs/heads/{branch}:{live}", "+refs/tags/*:refs/tags/*",
        )  # fmt: skip
        result = retried(
            lambda: self._run(*fetch, env=self.auth),
            lambda done: isinstance(done, subprocess.CompletedProcess) and _failed(done),
        )
        if result.returncode != 0:
            said = result.stderr.strip()
            raise ValueError(
                f"could not read {branch} and the tags from the remote {remote!r}, so nothing "
                f"can be decided against them: {said}" + (f": {RERUN}" if transient(said) else "")
            )
        return self.commit(live)

    def tags(self, points_at: str | None = None, *, merged: str | None = None) -> list[str]:
        """The repository's tags, those naming `points_at` or merged into `merged` if given."""
        args = ["tag", "--list"]
        if points_at is not None:
            args = ["tag", "--points-at", points_at]
        elif merged is not None:
            args = ["tag", "--list", "--merged", merged]
        result = self._run(*args)
        if result.returncode != 0:
            raise ValueError(f"git tag failed: {result.stderr.strip()}")
        return result.stdout.split()

    def commit(self, ref: str) -> str:
        """The full commit id `ref` names; ValueError if it names none."""
        result = self._run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
        if result.returncode != 0:
            raise ValueError(
                f"{ref} names no commit in {self.directory.resolve()}; the release needs a "
                "checkout with its whole history and tags (actions/checkout's fetch-depth: 0)"
            )
        return result.stdout.strip()

    def message(self, ref: str) -> str:
        return self._run("log", "-1", "--format=%B", ref).stdout

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """Whether `ancestor` is `descendant` or one of its ancestors."""
        result = self._run("merge-base", "--is-ancestor", ancestor, descendant)
        if result.returncode not in (0, 1):
            raise ValueError(f"git merge-base failed: {result.stderr.strip()}")
        return result.returncode == 0

    def _run(
        self, *args: str, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", "-C", str(self.directory), *args],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, **env} if env else None,
        )


def check_descends(tag: str, commit: str, git: Git, *, main: str, branch: str) -> None:
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
            f"would drop what {tag} holds. Release a commit that descends from {tag}; or, if "
            f"{tag} is a stray (made before the tag ruleset, or {branch} rolled back since), "
            f"{strays_must_go(tag, git, main, branch)}"
        )
    raise LineageError(f"refusing to release commit {commit}: {why}")


def check_on_branch(commit: str, what: str, branch_commit: str, branch: str, git: Git) -> None:
    """LineageError unless `branch` (live at `branch_commit`) contains `commit`."""
    if not git.is_ancestor(commit, branch_commit):
        tags = Version.from_tag(what) is not None or stray_tags(git, branch_commit, branch)
        raise LineageError(
            f"refusing {what} (commit {commit}): {branch} does not contain it (the remote's "
            f"{branch} is {branch_commit}), and only code on {branch} is released. A run of a "
            f"commit {branch} has since dropped starts anew from {branch}"
            + (f". {strays_must_go(what, git, branch_commit, branch)}" if tags else "")
        )


def check_publish(
    release: Release,
    commit: str,
    tags: Iterable[str],
    git: Git,
    *,
    main: str,
    branch: str = "main",
    created: datetime,
    published: Published | None,
) -> str:
    """LineageError unless publishing `release` still leaves it the newest release."""
    check_on_branch(commit, f"to publish {release.version.tag}", main, branch, git)
    if published is not None:
        if published.version is not None and published.version > release.version:
            raise LineageError(
                f"refusing to publish {release.version} (commit {commit}): `latest` is already "
                f"{published.version}, and it must not go back to older code"
            )
        same = published.version is None or published.version == release.version
        if same and published.created is not None and published.created > created:
            raise LineageError(
                f"refusing to publish the build of {created.isoformat()} ({release.version.tag}, "
                f"commit {commit}): `latest` points at a newer build, made "
                f"{published.created.isoformat()}. A re-run of an older run publishes nothing; "
                "run the release again for a fresh build"
            )
    latest = latest_version(tags)
    tag = release.version.tag
    if release.create_tag:
        tag_commit = git.commit(f"refs/tags/{tag}") if latest == release.version else None
        if latest is not None and latest >= release.version and tag_commit != commit:
            raise LineageError(
                f"refusing to publish {release.version} from commit {commit}: {latest.tag} "
                f"(commit {git.commit(f'refs/tags/{latest.tag}')}) was released since this run "
                f"chose its version. Run the release again for what is new"
            )
        if tag_commit == commit:
            # A re-run of this run's publish, after its tag job made the tag.
            return f"{tag} already names this commit (this run made it): publishing goes on"
        if latest is not None:
            check_descends(latest.tag, commit, git, main=main, branch=branch)
        return f"{tag} is new and descends from every earlier release"
    if latest != release.version:
        newest = "no release" if latest is None else latest.tag
        raise LineageError(
            f"refusing to move the tags to a rebuild of {tag} (commit {commit}): "
            f"the latest release is now {newest}, and `latest` must not go back to older code"
        )
    tag_commit = git.commit(f"refs/tags/{tag}")
    if tag_commit != commit:
        raise LineageError(
            f"refusing to publish commit {commit} as {tag}: that tag is commit {tag_commit}"
        )
    return f"{tag} is still the latest release, and this is its commit"
