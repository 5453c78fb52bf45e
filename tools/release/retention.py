"""What the image's package keeps after a deploy (docs/release.md), and deleting the rest."""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from tools.release.github import GitHub, GitHubError
from tools.release.registry import Registry, RegistryUnknownError
from tools.release.render import served_version

LIVE_TAG = re.compile(r"latest|\d+\.\d+\.\d+")
REFERRERS_TAG = re.compile(r"sha256-([0-9a-f]{64})(?:\.\w+)?")  # and cosign's .sig, .att
PERMISSION = "packages: write"
ADMIN = (
    "deleting a package version needs this repository's role Admin in the package's settings "
    "-> Manage Actions access (Write is not enough)"
)


class RetentionError(Exception):
    """Something retention must know could not be learnt: nothing is deleted this run."""


@dataclass(frozen=True)
class PackageVersion:
    id: int
    digest: str
    tags: tuple[str, ...]
    created: datetime | None  # None: GitHub listed no creation time, so it is kept


def retain(
    github: GitHub,
    package: str,
    registry: Registry,
    *,
    since: datetime,
    service_url: str,
    limit: int,
) -> tuple[list[str], str]:
    """Apply the rule to the package: lines for the log, and what needs the owner ("": nothing)."""
    production = served_version(service_url) if service_url else ""
    versions, warnings = versions_of(github, package)
    if production and not any(production in version.tags for version in versions):
        raise RetentionError(
            f"production serves the model version {production}, and no version of the package "
            "carries that tag, so its image cannot be told apart from the rest"
        )
    kept = keep(versions, since, production, index_needs(registry))
    return apply(github, package, versions, kept, limit=limit, warnings=warnings)


def keep(
    versions: Iterable[PackageVersion],
    since: datetime,
    production: str,
    needs: Callable[[str], set[str]],
) -> set[int]:
    versions = list(versions)
    by_digest = {version.digest: version for version in versions}
    referrers: dict[str, list[PackageVersion]] = {}
    for version in versions:
        for tag in version.tags:
            if found := REFERRERS_TAG.fullmatch(tag):
                referrers.setdefault(f"sha256:{found[1]}", []).append(version)
    roots = [
        version
        for version in versions
        if any(LIVE_TAG.fullmatch(tag) for tag in version.tags)
        or production in version.tags
        or version.created is None
        or version.created >= since
    ]
    kept: dict[str, PackageVersion] = {}
    while roots:
        version = roots.pop()
        if version.digest in kept:
            continue
        kept[version.digest] = version
        roots += [by_digest[digest] for digest in needs(version.digest) if digest in by_digest]
        roots += referrers.get(version.digest, [])
    return {version.id for version in kept.values()}


def versions_of(github: GitHub, package: str) -> tuple[list[PackageVersion], list[str]]:
    """Every version of the package, and a warning for each entry lacking what retention needs."""
    found: list[PackageVersion] = []
    warnings: list[str] = []
    for entry in github.listed(f"{package}/versions", PERMISSION):
        version, warning = _version(entry)
        found += [version] if version else []
        warnings += [warning] if warning else []
    return found, warnings


def package_of(github: GitHub, name: str) -> str:
    """The path of the repository owner's container package `name` (users/ or orgs/)."""
    owner = github.get("", "contents: read")["owner"]
    kind = "orgs" if owner.get("type") == "Organization" else "users"
    return f"//{kind}/{owner['login']}/packages/container/{urllib.parse.quote(name, safe='')}"


def apply(
    github: GitHub,
    package: str,
    versions: list[PackageVersion],
    kept: set[int],
    *,
    limit: int,
    warnings: Iterable[str] = (),
) -> tuple[list[str], str]:
    """Delete the versions not in `kept`, oldest first, at most `limit` (a 403 stops them all):
    lines for the log, and what needs the owner ("": nothing), the same words whichever version
    GitHub refused (one mail, not one a run)."""
    deletable = sorted(
        (version for version in versions if version.id not in kept),
        key=lambda each: each.created or datetime.max.replace(tzinfo=UTC),
    )
    deleted: list[PackageVersion] = []
    failed: list[str] = []
    for version in deletable[:limit]:
        try:
            github.call("DELETE", f"{package}/versions/{version.id}", permission=PERMISSION)
        except GitHubError as error:
            role = error.status == 403 and not error.transient
            why = f"HTTP 403, {error.said}: {ADMIN}" if role else str(error)
            failed.append(f"{_named(version)} was not deleted: {why}")
            if role or error.status is None:
                break
        else:
            deleted.append(version)
    left = len(deletable) - len(deleted) - len(failed)
    waiting = f"; {left} more the rule does not keep wait for the next run" if left else ""
    lines = [f"kept {len(versions) - len(deletable)} versions, deleted {len(deleted)}{waiting}"]
    lines += [f"deleted {_named(version)}" for version in deleted]
    lines += [f"::warning title=retention::{line}" for line in (*warnings, *failed)]
    return lines, ADMIN if any(ADMIN in said for said in failed) else ""


def index_needs(registry: Registry) -> Callable[[str], set[str]]:
    """The digests the index `digest` names (none for a manifest); RetentionError if unsaid."""

    def needs(digest: str) -> set[str]:
        try:
            answer = registry.get(f"manifests/{digest}")
        except RegistryUnknownError as error:
            raise RetentionError(f"the registry could not be asked for {digest}: {error}") from None
        if answer.status != 200:
            raise RetentionError(f"the registry answered HTTP {answer.status} for {digest}")
        try:
            entries = json.loads(answer.body).get("manifests") or []
            return {str(entry["digest"]) for entry in entries}
        except (ValueError, AttributeError, KeyError, TypeError):
            raise RetentionError(f"the registry's manifest {digest} is not one") from None

    return needs


def _version(entry: object) -> tuple[PackageVersion | None, str]:
    """The version a listed entry is, and a warning when it lacks a field."""
    if not isinstance(entry, dict) or not isinstance(entry.get("id"), int) or not entry.get("name"):
        return None, f"an entry GitHub listed without an id or digest is left alone: {entry!r:.200}"
    tags = tuple((entry.get("metadata") or {}).get("container", {}).get("tags") or [])
    version = PackageVersion(entry["id"], str(entry["name"]), tags, None)
    try:
        created = datetime.fromisoformat(str(entry["created_at"]).replace("Z", "+00:00"))
        if created.tzinfo is None:
            raise ValueError("no time zone")
    except (KeyError, ValueError):
        return version, f"{_named(version)} is listed without a creation time: kept, not judged"
    return PackageVersion(version.id, version.digest, tags, created), ""


def _named(version: PackageVersion) -> str:
    tags = ", ".join(version.tags) or "untagged"
    pushed = f"; pushed {version.created:%Y-%m-%d %H:%M}" if version.created else ""
    return f"{version.digest} ({tags}{pushed})"
