"""A package on GHCR as the release leaves it, on a loopback server: GitHub's packages API
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

import hashlib
import itertools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler

from tests.loopback import Loopback, reply
from tests.release.github_fork import Fork
from tests.release.github_issues import paged
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
    registry_error: bool = False  # the registry answers HTTP 500 for every manifest
    # What the registry answers every read of the repository instead: 403 to a token refused.
    # What GHCR answers for a package never pushed is not documented ("Working with the
    # Container registry", https://docs.github.com/en/packages/working-with-a-github-packages-
    # registry/working-with-the-container-registry, names no status): 404 or 403, both modelled.
    registry_status: int | None = None
    serving: str = ""  # the model version production's /healthz reports
    deletions: int = 0  # the deletions asked
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1001))

    def __post_init__(self) -> None:
        """Its repository as setup leaves it: GitHub's answers of it, its issues and label."""
        self.github = Fork(repository=f"{self.owner}/{self.name}", owner_type=self.kind)
        self.issues = self.github.issues
        self.issues.labels.add(LABEL)

    def push(self, what: str, at: datetime, tags: list[str], manifests: list[str]) -> str:
        digest = f"sha256:{hashlib.sha256(f'{what} {at}'.encode()).hexdigest()}"
        for version in self.versions.values():
            version.tags = [tag for tag in version.tags if tag not in tags]
        number = next(self._ids)
        self.versions[number] = Version(number, digest, list(tags), at, list(manifests))
        return digest

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


@contextmanager
def serving(package: Package) -> Iterator[str]:
    """The package's API and registry at one loopback URL, while in the block."""
    account = "orgs" if package.kind == "Organization" else "users"  # GitHub's: the other 404s
    base = f"/{account}/{package.owner}/packages/container/{package.name}/versions"

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.partition("?")[0]
            if path == "/healthz":
                return self._json(200, {"status": "ok", "model_version": package.serving})
            if path.startswith(f"/v2/{package.owner}/{package.name}/") and package.registry_status:
                return self._json(package.registry_status, {"errors": [{"code": "DENIED"}]})
            if re.fullmatch(base, path):
                ordered = sorted(package.versions.values(), key=lambda v: v.created, reverse=True)
                listed = [self._listed(version) for version in ordered]
                status, body, headers = paged(listed, self.path, self.headers["Host"])
                return reply(self, status, body, headers=headers.items())
            found = re.fullmatch(rf"/v2/{package.owner}/{package.name}/manifests/(.+)", path)
            if found:
                return self._manifest(found[1])
            return self._github("GET")

        def do_POST(self) -> None:
            self._github("POST")

        def do_PATCH(self) -> None:
            self._github("PATCH")

        def _github(self, method: str) -> None:
            """The repository, its package ("Get a package for a user") and issues."""
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            package.github.host = self.headers["Host"]
            package.github.package = {"name": package.name} if package.versions else None
            answer = package.github.handle(method, self.path, body) or (404, b"{}")
            reply(self, answer[0], answer[1], headers=(answer[2:] or [{}])[0].items())

        def do_DELETE(self) -> None:
            found = re.fullmatch(rf"{base}/(\d+)", self.path)
            number = int(found[1]) if found else -1
            package.deletions += 1
            if number in package.refuse:
                return self._json(403, {"message": "Resource not accessible by integration"})
            if package.versions.pop(number, None) is None:
                return self._json(404, {"message": "Not Found"})
            self.send_response(204)
            self.end_headers()
            return None

        def _listed(self, version: Version) -> dict:
            stamp = f"{version.created:%Y-%m-%dT%H:%M:%SZ}"
            entry = {
                "id": version.id,
                "name": version.digest,
                "package_html_url": "",
                "created_at": stamp,
                "updated_at": stamp,
                "metadata": {
                    "package_type": "container",
                    "container": {"tags": list(version.tags)},
                },
            }
            if version.id in package.undated:
                del entry["created_at"]
            return entry

        def _manifest(self, reference: str) -> None:
            if package.registry_error:
                return self._json(500, {"errors": [{"code": "UNKNOWN"}]})
            for version in package.versions.values():
                if reference in (version.digest, *version.tags):
                    entries = [{"digest": digest} for digest in version.manifests]
                    return self._json(200, {"schemaVersion": 2, "manifests": entries})
            return self._json(404, {"errors": [{"code": "MANIFEST_UNKNOWN"}]})

        def _json(self, status: int, document: object) -> None:
            reply(self, status, document)

    with Loopback(Handler) as served:
        yield served.url
