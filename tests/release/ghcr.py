"""A package on GHCR as the release leaves it, for the test server's handler: GitHub's packages API
("List package versions for a package owned by a user/an organization", "Delete package
version": the documented shapes, `metadata.container.tags` included), the registry's manifests,
production's /healthz (the model version it serves: a build's `X.Y.Z-stamp` tag), and the
repository (tests/release/github_fork.py's Fork: "Get a repository", "Get a package for a user",
the issues where the release says what needs the owner, and the label setup makes). Each release
pushes what a BuildKit build with provenance and SBOM pushes by digest (an index naming two
platform manifests and their attestation manifest, each also a version of the package), moves
`latest`, `X.Y.Z` and `X.Y.Z-stamp` to it, and stores the provenance beside it (the OCI
referrers tag `sha256-<hex>` on an index naming the bundle)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tests.release.github_fork import Fork, as_json
from tests.release.github_issues import paged
from tests.release.oci_registry import digest_of
from tools.release.say import LABEL


@dataclass
class Version:
    id: int
    digest: str
    tags: list[str]
    created: datetime
    manifests: list[str] = field(default_factory=list)  # what its index names


@dataclass
class Package:
    owner: str
    name: str
    kind: str = "User"  # the owner's account: User or Organization
    versions: dict[int, Version] = field(default_factory=dict)
    refuse: set[int] = field(default_factory=set)  # versions whose deletion GitHub refuses
    undated: set[int] = field(default_factory=set)  # versions listed without `created_at`
    # What the registry answers every read of the repository instead: 403 to a token refused,
    # 500 failing.
    # What GHCR answers for a package never pushed is not documented ("Working with the
    # Container registry", https://docs.github.com/en/packages/working-with-a-github-packages-
    # registry/working-with-the-container-registry, names no status): 404 or 403, both modelled.
    registry_status: int | None = None
    serving: str = ""  # the model version production's /healthz reports
    shift: timedelta = timedelta(0)  # added to each creation time listed (a simulated clock's)
    deletions: int = 0  # the deletions asked
    url: str = ""  # where it answers (`at`)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1001))

    def __post_init__(self) -> None:
        """Its repository as setup leaves it: GitHub's answers of it, its issues and label."""
        self.github = Fork(repository=f"{self.owner}/{self.name}", owner_type=self.kind)
        self.issues = self.github.issues
        self.issues.labels.add(LABEL)

    def push(self, what: str, at: datetime, tags: list[str], manifests: list[str]) -> str:
        return self.add(digest_of(f"{what} {at}".encode()), at, tags, manifests)

    def add(self, digest: str, at: datetime, tags: list[str], manifests: list[str]) -> str:
        """The version `digest`, pushed at `at`, each of `tags` moved to it."""
        number = next(self._ids)
        self.versions[number] = Version(number, digest, [], at, list(manifests))
        for tag in tags:
            self.move(tag, digest)
        return digest

    def move(self, tag: str, digest: str) -> None:
        """`tag` pointed at the version `digest`, off any other (a registry's tag is one)."""
        for version in self.versions.values():
            version.tags = [t for t in version.tags if t != tag] + [tag] * (
                version.digest == digest
            )

    def release(self, version: str, at: datetime) -> str:
        """One release's pushes, as the image and publish jobs make them: the index's digest."""
        stamp = f"{version}-{at:%Y%m%d%H%M%S}"
        children = [self.push(f"{stamp} {part}", at, [], []) for part in ("amd64", "arm64", "att")]
        index = self.push(stamp, at, ["latest", version, stamp], children)
        bundle = self.push(f"{stamp} provenance", at, [], [])
        self.push(f"{stamp} referrers", at, [index.replace(":", "-", 1)], [bundle])
        return index

    def digests(self) -> set[str]:
        return {version.digest for version in self.versions.values()}

    def tagged(self, tag: str) -> str:
        [digest] = [v.digest for v in self.versions.values() if tag in v.tags]
        return digest

    def at(self, server) -> Package:
        """The package's API, registry and production answering at the test server's `url`."""
        self.url, self.github.host = server.url, server.url.removeprefix("http://")
        server.handler = self.handle
        return self

    def handle(self, method: str, path: str, body: bytes) -> tuple:
        """The answer to a request of the package, its registry, production or the repository."""
        path, _, query = path.partition("?")
        account = "orgs" if self.kind == "Organization" else "users"  # GitHub's: the other 404s
        versions = f"/{account}/{self.owner}/packages/container/{self.name}/versions"
        manifest = re.fullmatch(rf"/v2/{self.owner}/{self.name}/manifests/(.+)", path)
        if path == "/healthz":
            return as_json(200, {"status": "ok", "model_version": self.serving})
        if path.startswith(f"/v2/{self.owner}/{self.name}/") and self.registry_status:
            return as_json(self.registry_status, {"errors": [{"code": "DENIED"}]})
        if manifest:
            return self._manifest(manifest[1])
        if path == versions:
            ordered = sorted(self.versions.values(), key=lambda v: v.created, reverse=True)
            return paged([self._listed(v) for v in ordered], f"{path}?{query}", self.github.host)
        if method == "DELETE" and path.startswith(f"{versions}/"):
            return self._delete(int(path.rpartition("/")[2]))
        self.github.package = {"name": self.name} if self.versions else None
        return self.github.handle(method, f"{path}?{query}", body) or (404, b"{}")

    def _delete(self, number: int) -> tuple:
        self.deletions += 1
        if number in self.refuse:
            return as_json(403, {"message": "Resource not accessible by integration"})
        found = self.versions.pop(number, None)
        return (204, b"") if found else as_json(404, {"message": "Not Found"})

    def _listed(self, version: Version) -> dict:
        stamp = f"{version.created + self.shift:%Y-%m-%dT%H:%M:%SZ}"
        entry = {
            "id": version.id,
            "name": version.digest,
            "package_html_url": "",
            "created_at": stamp,
            "updated_at": stamp,
            "metadata": {"package_type": "container", "container": {"tags": list(version.tags)}},
        }
        if version.id in self.undated:
            del entry["created_at"]
        return entry

    def _manifest(self, reference: str) -> tuple:
        for version in self.versions.values():
            if reference in (version.digest, *version.tags):
                entries = [{"digest": digest} for digest in version.manifests]
                return as_json(200, {"schemaVersion": 2, "manifests": entries})
        return as_json(404, {"errors": [{"code": "MANIFEST_UNKNOWN"}]})
