"""Create the release tag with a credential the tag ruleset lets through (deploy key, job
token)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
import urllib.parse
from functools import partial
from pathlib import Path

from tools.release.github import GitHub, GitHubError
from tools.release.plan import git
from tools.release.render import DeployError
from tools.release.rules import SET_UP, TAG_ENVIRONMENT, TAG_KEY_SECRET, check, environment, unmade

# What GitHub says when it refuses a push, and what fixes each (their words as git prints them).
PUSH_REFUSALS = {
    "Repository rule violations": (
        "a tag ruleset restricts creating release tags and does not let deploy keys bypass it: "
        "in Settings -> Rules -> Rulesets -> (the release tags ruleset) -> Bypass list, add "
        "'Deploy keys'"
    ),
    "marked as read only": (
        "the deploy key may only read: in Settings -> Deploy keys, delete it and add its public "
        "half again with 'Allow write access'"
    ),
    "Permission denied (publickey)": (
        f"GitHub knows no key matching {TAG_KEY_SECRET}: add its public half as a deploy key of "
        "this repository (Settings -> Deploy keys, 'Allow write access'), or put the private "
        "half of the repository's deploy key in the secret"
    ),
    "Host key verification failed": (
        "GitHub's SSH host key is not among those its API's /meta lists"
    ),
}
# ssh with the deploy key alone, never a prompt, and only the host keys GitHub's API lists.
SSH_OPTIONS = ("IdentitiesOnly=yes", "BatchMode=yes", "StrictHostKeyChecking=yes")


class TagError(DeployError):
    """The release tag could not be created; the message says why and what to change."""


def ssh_host(github: GitHub) -> str:
    return urllib.parse.urlsplit(github.server_url).hostname or "github.com"


def create_tag(tag: str, commit: str, github: GitHub, *, key: str) -> str:
    """Create `tag` on `commit` (the checkout's) unless it already names it; a log line, or
    TagError."""
    if tag in git("tag", "--list").stdout.split():
        named = git("rev-parse", f"refs/tags/{tag}^{{commit}}").stdout.strip()
        if named != commit:
            raise TagError(f"{tag} exists and names {named}, not this run's {commit}")
        return f"{tag} already names {commit} (an earlier attempt of this run made it)"
    if not key.strip():
        raise TagError(
            f"{TAG_KEY_SECRET} is not readable here: the release creates its tags with a deploy "
            f"key, its private half the secret {TAG_KEY_SECRET} of the {TAG_ENVIRONMENT} "
            f"environment (`python -m tools.release setup` makes both; {SET_UP}). Then re-run "
            "the failed jobs: nothing was published"
        )
    push_with_key(f"{commit}:refs/tags/{tag}", tag, github, key)
    return f"created {tag} on {commit} with the deploy key ({TAG_KEY_SECRET})"


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


def push_with_key(refspec: str, tag: str, github: GitHub, key: str) -> None:
    """`git push` of `refspec` over SSH with the deploy key."""
    # The key is a secret of the environment that admits main only: used only while it does.
    check(environment(github, TAG_ENVIRONMENT, unmade))
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
        env = {**os.environ, "GIT_SSH_COMMAND": ssh, "GIT_TERMINAL_PROMPT": "0"}
        run = partial(subprocess.run, capture_output=True, text=True, check=False, env=env)
        result = run(["git", "push", "--quiet", url, refspec])
        held = result.returncode and run(["git", "ls-remote", url, f"refs/tags/{tag}"]).stdout
    if held and held.split()[:1] == [refspec.partition(":")[0]]:  # the push's answer lost
        print(f"{tag}: git's answer was lost, and GitHub holds the tag", file=sys.stderr)
    elif result.returncode != 0:
        said = " | ".join(line.strip() for line in result.stderr.splitlines() if line.strip())
        fixes = [fix for words, fix in PUSH_REFUSALS.items() if words in result.stderr]
        raise TagError(
            f"GitHub refused to create {tag} with the deploy key ({said or 'no message'}). "
            + ("; ".join(fixes) or "check the deploy key and the tag ruleset")
            + f" ({SET_UP}). Then re-run the failed jobs: nothing was published"
        )
