"""What the image's package keeps after a release publishes, and the deletion of the rest
(issue 68), through GitHub's packages API with the job's token.

Kept:
- every version a live tag names: `latest` and each `X.Y.Z`;
- production's: the release this one extended, which Render runs until the deploy that follows
  (an older one it still ran, after deploys that failed, is kept while its week lasts);
- every version pushed in the last `keep_days` days, tagged or not (a failed run's digest stays
  for a re-run of its jobs);
- what a kept image needs: the manifests its index names (each platform's, BuildKit's
  attestation manifests) and the attestations stored beside it (the OCI referrers tag
  `sha256-<hex>`, and what its index names).
Deleted: the rest (older timestamped builds, untagged digests nothing kept needs). A deletion
that fails is said and never fails the release.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from tools.release.github import GitHubError, request, request_json
from tools.release.registry import Registry, RegistryUnknownError

LIVE_TAG = re.compile(r"latest|\d+\.\d+\.\d+")
PAGE = 100
PERMISSION = "packages: write"


@dataclass(frozen=True)
class PackageVersion:
    id: int
    digest: str
    tags: tuple[str, ...]
    created: datetime


@dataclass(frozen=True)
class Package:
    """A container package, as GitHub's packages API names it, and the token to ask with."""

    api_url: str
    owner: str  # users/<name> or orgs/<name>
    name: str
    token: str

    @property
    def url(self) -> str:
        name = urllib.parse.quote(self.name, safe="")
        return f"{self.api_url}/{self.owner}/packages/container/{name}"


@dataclass(frozen=True)
class Outcome:
    kept: tuple[PackageVersion, ...]
    deleted: tuple[PackageVersion, ...]
    failed: tuple[tuple[PackageVersion, str], ...]  # (version, why)

    def said(self) -> list[str]:
        lines = [f"kept {len(self.kept)} versions, deleted {len(self.deleted)}"]
        lines += [f"deleted {_named(version)}" for version in self.deleted]
        lines += [
            f"::warning title=retention::{_named(version)} was not deleted: {why}"
            for version, why in self.failed
        ]
        return lines


def keep(
    versions: Iterable[PackageVersion],
    *,
    now: datetime,
    keep_days: float,
    production: set[str],
    needs: Callable[[str], set[str]],
) -> set[int]:
    """The ids of the versions the rule keeps (see the module); `needs(digest)` names the
    manifests a kept image's index refers to."""
    versions = list(versions)
    by_digest = {version.digest: version for version in versions}
    referrers = {
        tag.replace("-", ":", 1): version
        for version in versions
        for tag in version.tags
        if tag.startswith("sha256-")
    }
    recent = now - timedelta(days=keep_days)
    roots = [
        version
        for version in versions
        if any(LIVE_TAG.fullmatch(tag) for tag in version.tags)
        or version.digest in production
        or version.created >= recent
    ]
    kept: dict[str, PackageVersion] = {}
    while roots:
        version = roots.pop()
        if version.digest in kept:
            continue
        kept[version.digest] = version
        named = needs(version.digest) if version.created < recent else set()
        found = [by_digest[digest] for digest in named if digest in by_digest]
        if version.digest in referrers:
            found.append(referrers[version.digest])
        roots += found
    return {version.id for version in kept.values()}


def versions_of(package: Package) -> list[PackageVersion]:
    """Every version of the package, page by page."""
    found: list[PackageVersion] = []
    for page in range(1, 1000):
        url = f"{package.url}/versions?per_page={PAGE}&page={page}"
        answer = request_json(url, package.token, permission=PERMISSION)
        if not isinstance(answer, list):
            raise GitHubError(f"GitHub's answer for {url} is not a JSON array")
        found += [_version(entry) for entry in answer]
        if len(answer) < PAGE:
            break
    return found


def owner_path(api_url: str, repository: str, token: str) -> str:
    """`users/<owner>` or `orgs/<owner>`: where GitHub keeps the repository owner's packages."""
    owner = request(f"{api_url}/repos/{repository}", token, permission="contents: read")["owner"]
    kind = "orgs" if owner.get("type") == "Organization" else "users"
    return f"{kind}/{owner['login']}"


def apply(package: Package, versions: list[PackageVersion], kept: set[int]) -> Outcome:
    """Delete every version not in `kept`, oldest first; each refusal is kept, with why."""
    deleted, failed = [], []
    for version in sorted(versions, key=lambda each: each.created):
        if version.id in kept:
            continue
        try:
            request_json(
                f"{package.url}/versions/{version.id}",
                package.token,
                method="DELETE",
                permission=PERMISSION,
            )
        except GitHubError as error:
            failed.append((version, str(error)))
        else:
            deleted.append(version)
    return Outcome(
        tuple(version for version in versions if version.id in kept),
        tuple(deleted),
        tuple(failed),
    )


def index_needs(registry: Registry) -> Callable[[str], set[str]]:
    """The digests the index `digest` names, as the registry serves it; none for a single
    manifest, or where the registry cannot say (the version is then kept alone)."""

    def needs(digest: str) -> set[str]:
        try:
            answer = registry.get(f"manifests/{digest}")
            document = json.loads(answer.body) if answer.status == 200 else {}
        except (RegistryUnknownError, ValueError):
            return set()
        return {str(entry.get("digest")) for entry in document.get("manifests") or []}

    return needs


def _version(entry: dict) -> PackageVersion:
    tags = entry.get("metadata", {}).get("container", {}).get("tags") or []
    created = datetime.fromisoformat(str(entry["created_at"]).replace("Z", "+00:00"))
    return PackageVersion(int(entry["id"]), str(entry["name"]), tuple(tags), created)


def _named(version: PackageVersion) -> str:
    tags = ", ".join(version.tags) or "untagged"
    return f"{version.digest} ({tags}; pushed {version.created:%Y-%m-%d %H:%M})"
