"""What a release run does (`next-version`), and the one guard before its image tags move
(`check-publish`): main only moves forward and only the release makes release tags, so a run
on main tags its head, a run on a release tag builds it, and the guard asks only whether this
tag is still the newest release tag and this build newer than what `latest` points at."""

from __future__ import annotations

import base64
import os
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from tools.release.retry import RERUN, retried, transient
from tools.release.version import Published, Version, bump_for, latest_version


class RefusedError(ValueError):
    """This run may not do what it asks; the message says why."""


@dataclass(frozen=True)
class Plan:
    version: Version
    tag: str = ""  # the release tag a run on main creates on its head ("": none)
    newest: str = ""  # the newest release tag before this run ("": none)
    build: bool = False  # this run builds, tests and smoke-tests its own commit
    publish: bool = False  # ... then attests it, moves the image tags and deploys it


def plan_run(
    ref: str, tags: Iterable[str], head_tags: Iterable[str], message: str, first: Version
) -> Plan:
    """The plan of a run on `ref` whose head carries `head_tags`, the repository `tags`."""
    newest = latest_version(tags)
    said = "" if newest is None else newest.tag
    if ref == "refs/heads/main":
        on_head = latest_version(head_tags)
        if on_head is not None:
            return Plan(on_head, newest=said)
        bumped = first if newest is None else newest.bump(bump_for(message))
        return Plan(bumped, tag=bumped.tag, newest=said)
    if ref.startswith("refs/tags/"):
        on_tag = Version.from_tag(ref.removeprefix("refs/tags/"))
        if on_tag is None:
            raise RefusedError(f"{ref} is not a release tag (vX.Y.Z): nothing to build")
        return Plan(on_tag, newest=said, build=True, publish=True)
    # A manual run on another branch: a trial of its head, published nowhere.
    return Plan(newest or first, newest=said, build=True)


def check_publish(
    tag: str, tags: Iterable[str], created: datetime, latest: Published | None
) -> str:
    """Why the build of `tag` made at `created` may move the image tags; RefusedError when
    another release tag is newer, or `latest` points at a newer version or a newer build."""
    version, newest = Version.from_tag(tag), latest_version(tags)
    if version is None or newest != version:
        raise RefusedError(
            f"refusing to publish {tag}: the newest release tag is "
            f"{newest.tag if newest else 'none'}, and `latest` never goes back to older code "
            "(a run a newer release overtook, or a re-run of an older run: nothing to publish)"
        )
    if latest is not None and latest.version is not None and latest.version > version:
        raise RefusedError(f"refusing to publish {tag}: `latest` is already {latest.version}")
    if latest is not None and latest.created is not None and latest.created > created:
        raise RefusedError(
            f"refusing to publish the build of {created.isoformat()} ({tag}): `latest` points at "
            f"a newer build, made {latest.created.isoformat()}. A re-run of an older run "
            "publishes nothing; run the release again for a fresh build"
        )
    return f"{tag} is the newest release tag, and no newer build is `latest`"


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


def git(*args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **env} if env else None,
    )


def live_tags(auth: Mapping[str, str], remote: str = "origin") -> list[str]:
    """The tags the remote holds now (git ls-remote, with the job's token)."""
    done = retried(
        lambda: git("ls-remote", "--tags", "--refs", remote, env=auth),
        lambda result: (
            isinstance(result, subprocess.CompletedProcess)
            and result.returncode != 0
            and transient(result.stderr)
        ),
    )
    if done.returncode != 0:
        said = done.stderr.strip()
        raise ValueError(
            f"could not read the tags of {remote!r}: {said}"
            + (f": {RERUN}" if transient(said) else "")
        )
    return [line.split("refs/tags/", 1)[1] for line in done.stdout.splitlines()]
