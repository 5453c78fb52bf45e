"""The release image this release extends the track record of: found in the registry, by digest,
and verified as one of this repository's releases before the build reads it (issue 67).

Asked of the registry (the OCI distribution API), never of git tags, which a fork or a renamed
repository carries without the images:
- `latest` names an image: that one, by the digest of the manifest the registry served;
- `latest` is gone while release images remain (`X.Y.Z-YYYYmmddHHMMSS`, `X.Y.Z`): the newest of
  them, said so; it is verified like `latest`, and never passed over for an older one;
- the repository holds no image at all: the first release, whose record starts saying why;
- the registry refuses the job's token, or answers otherwise: the release stops, naming the
  image, the reason and the fix.
The image found is verified with `gh attestation verify` (its signature, this repository and
this repository's release workflow as the signer), and the verified certificate must name this
repository and a run of the release branch or a release tag: what the publish job attests, and
only main's releases and the rebuilds of release tags publish. An image that is not verified
stops the release; it is never silently passed over, and a new record never silently started.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tools.release.registry import Answer, Registry, RegistryUnknownError
from tools.release.version import Version

WORKFLOW = ".github/workflows/release.yml"
_RELEASE_IMAGE_TAG = re.compile(r"(\d+\.\d+\.\d+)(?:-(\d{14}))?")
_RELEASE_REF = re.compile(r"refs/tags/v\d+\.\d+\.\d+")
_NEXT = re.compile(r"<([^>]+)>;\s*rel=\"?next\"?")
MAX_PAGES = 100

Verifier = Callable[[Sequence[str]], subprocess.CompletedProcess[str]]


class PreviousImageError(Exception):
    """The release cannot extend a verified previous image: the message says which, why, and
    the fix."""


@dataclass(frozen=True)
class Previous:
    image: str  # ghcr.io/owner/name
    digest: str  # sha256:...; empty: no image of the repository at all
    found_as: str  # the tag that named it: latest, or a release image's tag
    why: str  # a sentence for the run's log and summary

    @property
    def reference(self) -> str:
        return f"{self.image}@{self.digest}" if self.digest else ""


def find_previous(registry: Registry, image: str) -> Previous:
    """The image `latest` names, else the newest release image, else none (see the module)."""
    latest = _manifest(registry, image, "latest")
    if latest is not None:
        return Previous(image, latest, "latest", f"extends {image}@{latest}, which latest names")
    releases = sorted(
        (_release_key(tag), tag) for tag in _tags(registry, image) if _release_key(tag)
    )
    if not releases:
        return Previous(
            image,
            "",
            "",
            f"the first release of {image}: the registry holds no release image of it (no "
            "latest and no X.Y.Z tag), so the track record starts with this release",
        )
    newest = releases[-1][1]
    digest = _manifest(registry, image, newest)
    if digest is None:
        raise PreviousImageError(f"{image}:{newest} is listed by the registry but not served")
    return Previous(
        image,
        digest,
        newest,
        f"extends {image}@{digest}, the newest release image ({newest}): latest is gone",
    )


def verify(previous: Previous, repository: str, branch: str, run: Verifier) -> str:
    """A line saying `previous` is a release of `repository` (built by its release workflow on
    `branch` or a release tag); PreviousImageError naming the digest otherwise."""
    reference = previous.reference
    command = [
        "gh", "attestation", "verify", f"oci://{reference}", "--repo", repository,
        "--signer-workflow", f"{repository}/{WORKFLOW}", "--format", "json",
    ]  # fmt: skip
    done = run(command)
    if done.returncode != 0:
        said = " ".join((done.stderr or done.stdout).split())[-400:]
        raise PreviousImageError(
            f"{reference} ({previous.found_as}) is not verified as a release of {repository}: "
            f"gh attestation verify said: {said}. {_fix(previous, repository)}"
        )
    refs = {_certified_ref(result, repository) for result in _results(done.stdout, reference)}
    released = sorted(ref for ref in refs if ref == f"refs/heads/{branch}" or _release(ref))
    if not released:
        raise PreviousImageError(
            f"{reference} ({previous.found_as}) was attested by {repository}'s release workflow "
            f"on {', '.join(sorted(refs)) or 'no ref'}, not on {branch} or a release tag: no "
            f"release made it. {_fix(previous, repository)}"
        )
    return f"{reference} is verified: built by {repository}'s release workflow on {released[0]}"


def _fix(previous: Previous, repository: str) -> str:
    return (
        f"If {previous.found_as} was moved by a run that is not a release, point it back at the "
        f"newest verified release image (docker buildx imagetools create --tag "
        f"{previous.image}:latest {previous.image}:<X.Y.Z>), then re-run; or start the track "
        f"record anew: run the release workflow by hand on main with the input start-anew saying "
        f"why (docs/release.md, 'The track record'; https://github.com/{repository}/actions)"
    )


def _results(output: str, reference: str) -> list[dict[str, object]]:
    try:
        results = json.loads(output)
    except ValueError:
        raise PreviousImageError(f"gh attestation verify printed no JSON for {reference}") from None
    if not isinstance(results, list) or not results:
        raise PreviousImageError(f"gh attestation verify verified nothing for {reference}")
    return results


def _certified_ref(result: dict[str, object], repository: str) -> str:
    """The source ref the verified certificate names; "" unless it names `repository`."""
    try:
        certificate = result["verificationResult"]["signature"]["certificate"]  # type: ignore[index]
        uri, ref = certificate["sourceRepositoryURI"], certificate["sourceRepositoryRef"]
    except (KeyError, TypeError):
        return ""
    same = str(uri).lower() == f"https://github.com/{repository}".lower()
    return str(ref) if same else ""


def _release(ref: str) -> bool:
    return _RELEASE_REF.fullmatch(ref) is not None


def _release_key(tag: str) -> tuple[Version, str] | None:
    match = _RELEASE_IMAGE_TAG.fullmatch(tag)
    return None if match is None else (Version.parse(match[1]), match[2] or "")


def _manifest(registry: Registry, image: str, reference: str) -> str | None:
    """The digest of the manifest `reference` names (the SHA-256 of the bytes served, as the
    registry's own digest is); None when there is none."""
    answer = _asked(registry, image, f"manifests/{reference}")
    if answer is None:
        return None
    return f"sha256:{hashlib.sha256(answer.body).hexdigest()}"


def _tags(registry: Registry, image: str) -> list[str]:
    """Every tag of the repository, page by page; none when the registry knows no such name."""
    tags: list[str] = []
    path = "tags/list?n=1000"
    for _ in range(MAX_PAGES):
        answer = _asked(registry, image, path)
        if answer is None:
            return tags
        try:
            tags += json.loads(answer.body).get("tags") or []
        except (ValueError, AttributeError):
            raise PreviousImageError(f"{image}: the registry's tag list is not JSON") from None
        following = _NEXT.search(answer.link)
        if following is None:
            return tags
        path = urllib.parse.urlsplit(following[1])._replace(scheme="", netloc="").geturl()
    raise PreviousImageError(f"{image}: more than {MAX_PAGES} pages of tags")


def _asked(registry: Registry, image: str, path: str) -> Answer | None:
    """The registry's answer to `path`; None for 404 (no such tag or name); PreviousImageError
    for any other refusal."""
    try:
        answer = registry.get(path)
    except RegistryUnknownError as error:
        raise PreviousImageError(f"{image}: the registry could not be asked: {error}") from None
    if answer.status == 200:
        return answer
    if answer.status == 404:
        return None
    if answer.status in (401, 403):
        owner, _, name = registry.name.partition("/")
        raise PreviousImageError(
            f"{image}: the registry refused this job's token (HTTP {answer.status}), so the "
            "previous release cannot be read. A package another repository created (a fork's "
            "upstream, a renamed repository) must let this one read it: the package's settings "
            f"-> Manage Actions access -> add the repository with the Read role "
            f"(https://github.com/users/{owner}/packages/container/{name}/settings, or the "
            "organisation's), then re-run"
        )
    raise PreviousImageError(f"{image}: the registry answered HTTP {answer.status} for {path}")
