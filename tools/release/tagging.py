"""Create the release tag, or remove stray ones (`remove-tag`), with a credential the tag ruleset
lets through (deploy key, job token)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import tempfile
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tools.release.github import GitHub, GitHubError
from tools.release.lineage import Git, stray_tags
from tools.release.render import DeployError
from tools.release.rules import (
    SET_UP,
    TAG_KEY_SECRET,
    check_environment,
    read_rulesets,
    restricting_creation,
)
from tools.release.version import Version

# What GitHub says when it refuses a push, and what fixes each (their words as git prints them).
PUSH_REFUSALS = (
    (
        "Repository rule violations",
        "a tag ruleset restricts creating release tags and does not let deploy keys bypass it: "
        "in Settings -> Rules -> Rulesets -> (the release tags ruleset) -> Bypass list, add "
        "'Deploy keys'",
    ),
    (
        "marked as read only",
        "the deploy key may only read: in Settings -> Deploy keys, delete it and add its public "
        "half again with 'Allow write access'",
    ),
    (
        "Permission denied (publickey)",
        f"GitHub knows no key matching {TAG_KEY_SECRET}: add its public half as a deploy key of "
        "this repository (Settings -> Deploy keys, 'Allow write access'), or put the private "
        "half of the repository's deploy key in the secret",
    ),
    (
        "Host key verification failed",
        "GitHub's SSH host key is not among those its API's /meta lists",
    ),
)
# ssh with the deploy key alone, never a prompt, and only the host keys GitHub's API lists.
SSH_OPTIONS = ("IdentitiesOnly=yes", "BatchMode=yes", "StrictHostKeyChecking=yes")


class TagError(DeployError):
    """The release tag could not be created; the message says why and what to change."""


def ssh_host(github: GitHub) -> str:
    return urllib.parse.urlsplit(github.server_url).hostname or "github.com"


def create_tag(tag: str, commit: str, github: GitHub, git: Git, *, key: str) -> str:
    """Create `tag` on `commit` unless it already names it; a log line, or TagError."""
    if tag in git.tags():
        named = git.commit(f"refs/tags/{tag}")
        if named != commit:
            raise TagError(f"{tag} exists and names {named}, not this run's {commit}")
        return f"{tag} already names {commit} (an earlier attempt of this run made it)"
    if key.strip():
        push_with_key([f"{commit}:refs/tags/{tag}"], f"create {tag}", github, git, key)
        return f"created {tag} on {commit} with the deploy key ({TAG_KEY_SECRET})"
    refuse_token_on_a_personal_account(github)
    try:
        body = {"ref": f"refs/tags/{tag}", "sha": commit}
        github.call("POST", "/git/refs", body, "contents: write")
    except GitHubError as error:
        raise TagError(
            f"GitHub refused to create {tag} with the job's token ({error.said or error}). A tag "
            "ruleset that restricts creating release tags must let the release through: on an "
            "organisation's repository add 'GitHub Actions' to its bypass list, or, on any "
            f"repository, create the tags with a deploy key ({TAG_KEY_SECRET}, {SET_UP}). Then "
            "re-run the failed jobs: nothing was published"
        ) from None
    return f"created {tag} on {commit} with the job's token (GitHub Actions)"


def known_hosts(github: GitHub) -> str:
    """known_hosts lines for GitHub's SSH host, from the keys its API publishes over HTTPS."""
    try:
        meta = github.get("//meta", "metadata: read")
    except GitHubError as error:
        raise TagError(f"GitHub's SSH host keys could not be read: {error}") from None
    keys = [str(key).strip() for key in meta.get("ssh_keys") or [] if str(key).strip()]
    if not keys:
        raise TagError("GitHub's /meta lists no SSH host key to push the release tag with")
    return "".join(f"{ssh_host(github)} {key}\n" for key in keys)


def push_with_key(refspecs: list[str], what: str, github: GitHub, git: Git, key: str) -> None:
    """`git push` of `refspecs` over SSH with the deploy key; `what` names it for errors."""
    # The key is a secret of the environment that holds the deploy hook too: used only while that
    # environment admits nothing but the release branch and the release tags.
    check_environment(github, "main")
    hosts = known_hosts(github)
    with tempfile.TemporaryDirectory(prefix="release-tag-") as scratch:
        key_file = Path(scratch) / "key"
        hosts_file = Path(scratch) / "known_hosts"
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(key.strip().replace("\r\n", "\n") + "\n")
        hosts_file.write_text(hosts)
        known = f"UserKnownHostsFile={hosts_file}"
        options = [part for option in (*SSH_OPTIONS, known) for part in ("-o", option)]
        ssh = shlex.join(["ssh", "-F", "/dev/null", "-i", str(key_file), *options])
        url = f"git@{ssh_host(github)}:{github.repository}.git"
        result = subprocess.run(
            ["git", "-C", str(git.directory), "push", "--quiet", url, *refspecs],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "GIT_SSH_COMMAND": ssh, "GIT_TERMINAL_PROMPT": "0"},
        )
    if result.returncode != 0:
        said = " | ".join(line.strip() for line in result.stderr.splitlines() if line.strip())
        fixes = [fix for words, fix in PUSH_REFUSALS if words in result.stderr]
        raise TagError(
            f"GitHub refused to {what} with the deploy key ({said or 'no message'}). "
            + ("; ".join(fixes) or "check the deploy key and the tag ruleset")
            + f" ({SET_UP}). Then re-run the failed jobs: nothing was published"
        )


def refuse_token_on_a_personal_account(github: GitHub) -> None:
    """TagError when the job's token cannot create the tag."""
    owner_type, rulesets = read_rulesets(github)
    restricting = restricting_creation(rulesets)
    if owner_type == "User" and restricting:
        raise TagError(
            f"{github.repository} belongs to a personal account and the tag ruleset "
            f"{', '.join(restricting)} restricts creating release tags. GitHub refuses the GitHub "
            "Actions app as a bypass actor on a personal account's repository, so this job's "
            f"token cannot create the tag, and {TAG_KEY_SECRET} is not set: create a deploy key "
            "with write access, add 'Deploy keys' to the ruleset's bypass list and the key's "
            f"private half as the secret {TAG_KEY_SECRET} of the {github.environment} environment "
            f"({SET_UP}). Then re-run the failed jobs: nothing was published"
        )


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
