"""Create the release tag with a credential the tag ruleset lets through (deploy key, job token)."""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tools.release.environment import check_environment
from tools.release.github import GitHubError, request
from tools.release.lineage import Git
from tools.release.render import DeployError
from tools.release.rules import SET_UP, TAG_KEY_SECRET, read_rulesets, restricting_creation

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


class TagError(DeployError):
    """The release tag could not be created; the message says why and what to change."""


@dataclass(frozen=True)
class Repository:
    """Where the tag goes: the repository, GitHub's web and API addresses, the job's token."""

    name: str
    server_url: str
    api_url: str
    token: str

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Repository:
        name = environ.get("GITHUB_REPOSITORY", "").strip()
        token = environ.get("GITHUB_TOKEN", "").strip()
        if not (name and token):
            raise ValueError("creating the release tag needs GITHUB_TOKEN and GITHUB_REPOSITORY")
        return cls(
            name,
            environ.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/"),
            environ.get("GITHUB_API_URL", "https://api.github.com").rstrip("/"),
            token,
        )

    @property
    def ssh_host(self) -> str:
        return urllib.parse.urlsplit(self.server_url).hostname or "github.com"


def create_tag(
    tag: str, commit: str, repository: Repository, git: Git, *, key: str, environment: str
) -> str:
    """Create `tag` on `commit` unless it already names it; a log line, or TagError."""
    if tag in git.tags():
        named = git.commit(f"refs/tags/{tag}")
        if named != commit:
            raise TagError(f"{tag} exists and names {named}, not this run's {commit}")
        return f"{tag} already names {commit} (an earlier attempt of this run made it)"
    if key.strip():
        # The key is a secret of the environment that holds the deploy hook too: used only while
        # that environment admits nothing but the release branch and the release tags.
        check_environment(
            repository.api_url, repository.name, environment, repository.token, "main"
        )
        push_with_key([f"{commit}:refs/tags/{tag}"], f"create {tag}", repository, git, key)
        return f"created {tag} on {commit} with the deploy key ({TAG_KEY_SECRET})"
    refuse_token_on_a_personal_account(repository, environment)
    create_with_token(tag, commit, repository)
    return f"created {tag} on {commit} with the job's token (GitHub Actions)"


def known_hosts(repository: Repository) -> str:
    """known_hosts lines for GitHub's SSH host, from the keys its API publishes over HTTPS."""
    try:
        meta = request(f"{repository.api_url}/meta", repository.token, permission="metadata: read")
    except GitHubError as error:
        raise TagError(f"GitHub's SSH host keys could not be read: {error}") from None
    keys = [str(key).strip() for key in meta.get("ssh_keys") or [] if str(key).strip()]
    if not keys:
        raise TagError("GitHub's /meta lists no SSH host key to push the release tag with")
    return "".join(f"{repository.ssh_host} {key}\n" for key in keys)


def push_with_key(
    refspecs: list[str], what: str, repository: Repository, git: Git, key: str
) -> None:
    """`git push` of `refspecs` over SSH with the deploy key; `what` names it for errors."""
    hosts = known_hosts(repository)
    with tempfile.TemporaryDirectory(prefix="release-tag-") as scratch:
        key_file = Path(scratch) / "key"
        hosts_file = Path(scratch) / "known_hosts"
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(key.strip().replace("\r\n", "\n") + "\n")
        hosts_file.write_text(hosts)
        ssh = shlex.join(
            [
                "ssh",
                "-F",
                "/dev/null",
                "-i",
                str(key_file),
                "-o",
                "IdentitiesOnly=yes",
                "-o",
                "BatchMode=yes",
                "-o",
                "StrictHostKeyChecking=yes",
                "-o",
                f"UserKnownHostsFile={hosts_file}",
            ]
        )
        url = f"git@{repository.ssh_host}:{repository.name}.git"
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


def refuse_token_on_a_personal_account(repository: Repository, environment: str) -> None:
    """TagError when the job's token cannot create the tag."""
    owner_type, rulesets = read_rulesets(repository.api_url, repository.name, repository.token)
    restricting = restricting_creation(rulesets)
    if owner_type == "User" and restricting:
        raise TagError(
            f"{repository.name} belongs to a personal account and the tag ruleset "
            f"{', '.join(restricting)} restricts creating release tags. GitHub refuses the GitHub "
            "Actions app as a bypass actor on a personal account's repository, so this job's "
            f"token cannot create the tag, and {TAG_KEY_SECRET} is not set: create a deploy key "
            "with write access, add 'Deploy keys' to the ruleset's bypass list and the key's "
            f"private half as the secret {TAG_KEY_SECRET} of the {environment} environment "
            f"({SET_UP}). Then re-run the failed jobs: nothing was published"
        )


def create_with_token(tag: str, commit: str, repository: Repository) -> None:
    url = f"{repository.api_url}/repos/{repository.name}/git/refs"
    try:
        request(
            url,
            repository.token,
            method="POST",
            permission="contents: write",
            body={"ref": f"refs/tags/{tag}", "sha": commit},
        )
    except GitHubError as error:
        raise TagError(
            f"GitHub refused to create {tag} with the job's token ({error.said or error}). A tag "
            "ruleset that restricts creating release tags must let the release through: on an "
            "organisation's repository add 'GitHub Actions' to its bypass list, or, on any "
            f"repository, create the tags with a deploy key ({TAG_KEY_SECRET}, {SET_UP}). Then "
            "re-run the failed jobs: nothing was published"
        ) from None
