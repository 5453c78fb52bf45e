"""The release image whose track record this release extends: the registry's newest, verified."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from tools.release.github import NEXT, GitHub
from tools.release.registry import Registry, RegistryUnknownError
from tools.release.render import Answer
from tools.release.retry import RERUN, delays, retried, transient
from tools.release.version import RELEASE_TAG, Published, Version, build_tag, read_index

WORKFLOW = ".github/workflows/release.yml"
MAX_PAGES = 100
STALE_AFTER_HOURS = 12.0  # the service's promise: its setting's default
# gh's words when the registry refuses to serve the image to the Docker login it has (or none).
_REGISTRY_REFUSED = ("authenticate with the registry", "was denied access")
_LOGIN = (
    "gh reads the image from the registry with Docker's login: the version job must log in to "
    "the registry (docker/login-action, with the job's token) before it verifies, and the token "
    "must be able to read the package (its settings -> Manage Actions access)"
)

Verifier = Callable[[Sequence[str]], subprocess.CompletedProcess[str]]


class PreviousImageError(Exception):
    """The release cannot extend a verified previous image; the message says why and the fix."""


@dataclass(frozen=True)
class Previous:
    image: str  # ghcr.io/owner/name
    digest: str  # sha256:...; empty: no image of the repository at all
    found_as: str  # the tag that named it: latest, or a release image's tag
    why: str  # a sentence for the run's log and summary
    record_format: int | None = None  # the track record's, as its index says (None: unsaid)

    @property
    def reference(self) -> str:
        return f"{self.image}@{self.digest}" if self.digest else ""

    def check_readable(self, reads: Sequence[int]) -> None:
        """PreviousImageError when its track record's format is not one of `reads`."""
        held = self.record_format
        if held is None or held in reads:
            return
        raise PreviousImageError(
            f"{self.reference} ({self.found_as}) holds track record format {held}, which this "
            f"commit's code does not read (it reads {', '.join(map(str, reads))}): a revert went "
            "back across a change of the record's format, and the build would fail reading it. "
            "To release this code, start the track record anew: run the release workflow by "
            "hand on main with the input start-anew saying why (gh workflow run release.yml "
            "--ref main -f start-anew='...'); or revert the other changes only, keeping code that "
            f"reads format {held} (docs/release.md, 'Rolling back')"
        )


def find_previous(
    registry: Registry, image: str, unpublished: Callable[[], bool] = lambda: False
) -> Previous:
    """The newest release image; none when the registry holds no image of the repository (a
    refusal too, where `unpublished()` says no package of that name exists)."""
    at_latest = _asked(registry, image, "manifests/latest", unpublished)
    latest = None if at_latest is None else _digest(at_latest)
    tags = _tags(registry, image, unpublished)
    stamped = [(key, tag) for tag in tags if (key := _release_key(tag))]
    if not stamped:
        if latest is None:
            return Previous(
                image,
                "",
                "",
                f"the first release of {image}: the registry holds no release image of it (no "
                "latest and no X.Y.Z tag), so the track record starts with this release",
            )
        return Previous(image, latest, "latest", f"extends {image}@{latest}, which latest names")
    newest = max(stamped)[1]
    answer = _asked(registry, image, f"manifests/{newest}")
    if answer is None:
        raise PreviousImageError(f"{image}:{newest} is listed by the registry but not served")
    digest = _digest(answer)
    index = _index(answer, image, newest)
    _check_built_as_tagged(index, image, newest, digest)
    extends = f"extends {image}@{digest}, the newest release image ({newest})"
    if at_latest is None:
        return Previous(image, digest, newest, f"{extends}: latest is gone", index.record_format)
    if latest == digest:
        why = f"extends {image}@{digest}, which latest names"
        return Previous(image, digest, "latest", why, index.record_format)
    behind = _older_release(registry, image, at_latest)
    if not behind:
        raise PreviousImageError(
            f"{image}:latest names {latest}, but the newest release image in the registry is "
            f"{digest} ({newest}), and latest's is no older release image: latest was moved to "
            "another image, and extending it could lose every issue since. Point latest back at "
            f"the newest release (docker buildx imagetools create --tag {image}:latest "
            f"{image}@{digest}), or start the track record anew (docs/release.md, 'The track "
            "record')"
        )
    return Previous(
        image,
        digest,
        newest,
        f"{extends}: latest still names {latest}, an older release ({behind}), as a publish cut "
        "short before latest moved leaves it; this release's publish moves latest on",
        index.record_format,
    )


def restart_refused(github: GitHub, image: str, tags: Mapping[Version, str]) -> str:
    """Why a release may not start the track record of `image`, whose registry holds no release
    image, anew ("": it may): the repository's own release tags (`tags`, each version's commit)
    exist, the newest not its fork parent's (a fork carrying them starts its own record)."""
    newest = max(tags, default=None)
    if newest is None or github.tag_owner(newest.tag, tags[newest]) != github.repository:
        return ""
    return (
        f"{image} holds no release image, yet {github.repository}'s own release tags exist (the "
        f"newest {newest.tag} of {len(tags)}, commit {tags[newest]}): the release's version job "
        "stops rather than restart its track record unasked. If its images are elsewhere (a "
        "renamed repository, a package deleted or moved), restore them and re-run; to start the "
        "record anew on purpose, run the release by hand on main with the input start-anew "
        "saying why (`gh workflow run release.yml --ref main -f start-anew='...'`; "
        "docs/release.md, 'The track record')"
    )


def latest_staleness(
    image: str, registry: Registry, unpublished: Callable[[], bool]
) -> tuple[str, str]:
    """Where no deploy answers, what `latest` says of production's data, as render.staleness
    says it: built at its `created` annotation, its data is at least that old; the registry read
    as find_previous reads it."""
    answer = _asked(registry, image, "manifests/latest", unpublished)
    built = answer and _index(answer, image, "latest").created
    if not built:
        return f"{image}:latest names no release image: nothing is published", ""
    since, hours = f"{built:%Y-%m-%dT%H:%M:%SZ}", (datetime.now(UTC) - built).total_seconds() / 3600
    return "" if hours <= STALE_AFTER_HOURS else (
        f"{image}:latest, which no deploy serves (RENDER_SERVICE_URL is not set), was built "
        f"{hours:.0f} hours ago ({since}, its created annotation): its data is older than the "
        f"service's promise of {STALE_AFTER_HOURS:g} hours (STALE_AFTER_HOURS)"
    ), since


def _older_release(registry: Registry, image: str, latest: Answer) -> str:
    """The release tag of the image `latest` names, if it names the same digest; else ""."""
    try:
        index = read_index(latest.body.decode(errors="replace"))
    except ValueError:
        return ""
    if index is None or index.version is None or index.created is None:
        return ""
    tag = build_tag(index.version, index.created)
    answer = _asked(registry, image, f"manifests/{tag}")
    return tag if answer is not None and _digest(answer) == _digest(latest) else ""


def _check_built_as_tagged(index: Published, image: str, tag: str, digest: str) -> None:
    """PreviousImageError unless `tag`'s image was built as that version at that time."""
    if index.version is None or index.created is None:
        return
    built = build_tag(index.version, index.created)
    if built != tag:
        raise PreviousImageError(
            f"{image}:{tag} names {digest}, which was built as {built}: a tag pushed by hand "
            "onto another build, never a release's. Delete that tag (the package's settings on "
            "GitHub), then re-run"
        )


def identity(repository: str) -> str:
    """The certificate identity of a release: `repository`'s release workflow on a release tag
    (or on main, where releases ran before they were tags), exactly."""
    workflow = re.escape(f"https://github.com/{repository}/{WORKFLOW}")
    return f"(?i)^{workflow}@refs/(heads/main|tags/{RELEASE_TAG.pattern})$"


def verify(previous: Previous, repository: str, run: Verifier) -> str:
    """A line saying `previous` is a release of `repository`; else PreviousImageError."""
    reference = previous.reference
    command = [
        "gh",
        "attestation",
        "verify",
        f"oci://{reference}",
        "--repo",
        repository,
        "--cert-identity-regex",
        identity(repository),
    ]
    try:
        done = retried(lambda: run(command), _passing)
    except subprocess.TimeoutExpired as error:
        raise PreviousImageError(
            f"{reference} ({previous.found_as}) could not be verified now: gh attestation "
            f"verify did not answer within {error.timeout:g} s, {len(delays()) + 1} times "
            f"(GitHub slow or unreachable): {RERUN}"
        ) from None
    if done.returncode != 0:
        said = " ".join((done.stderr or done.stdout).split())[-400:]
        if transient(said):
            raise PreviousImageError(
                f"{reference} ({previous.found_as}) could not be verified now: gh attestation "
                f"verify said: {said}, {len(delays()) + 1} times: {RERUN}"
            )
        refused = any(words in said for words in _REGISTRY_REFUSED)
        raise PreviousImageError(
            f"{reference} ({previous.found_as}) is not verified as a release of {repository} "
            f"(its release workflow on a release tag): gh attestation verify said: {said}. "
            + (_LOGIN if refused else _fix(previous, repository))
        )
    return f"{reference} is verified: built by {repository}'s release workflow on a release tag"


def _passing(outcome: object) -> bool:
    """Whether gh's outcome is a time-out or a transient failure: worth another try."""
    if isinstance(outcome, subprocess.TimeoutExpired):
        return True
    if not isinstance(outcome, subprocess.CompletedProcess) or outcome.returncode == 0:
        return False
    return transient(f"{outcome.stderr} {outcome.stdout}")


def _fix(previous: Previous, repository: str) -> str:
    return (
        f"If {previous.found_as} was moved by a run that is not a release, point it back at the "
        f"newest verified release image (docker buildx imagetools create --tag "
        f"{previous.image}:latest {previous.image}:<X.Y.Z>), then re-run; or start the track "
        f"record anew: run the release workflow by hand with the input start-anew saying "
        f"why (docs/release.md, 'The track record'; https://github.com/{repository}/actions)"
    )


def _release_key(tag: str) -> tuple[Version, str] | None:
    """(version, build time) of a tag `X.Y.Z-YYYYmmddHHMMSS`; None for any other tag."""
    version, dash, stamp = tag.partition("-")
    if not (dash and len(stamp) == 14 and stamp.isascii() and stamp.isdigit()):
        return None
    try:
        return Version.parse(version), stamp
    except ValueError:
        return None


def _index(answer: Answer, image: str, tag: str) -> Published:
    try:
        index = read_index(answer.body.decode(errors="replace"))
    except ValueError as error:
        raise PreviousImageError(f"{image}:{tag} is not a release image: {error}") from None
    if index is None:
        raise PreviousImageError(f"{image}:{tag} is not a release image: its manifest is empty")
    return index


def _digest(answer: Answer) -> str:
    """The digest of a manifest: the SHA-256 of the bytes served, as the registry's own is."""
    return f"sha256:{hashlib.sha256(answer.body).hexdigest()}"


def _tags(registry: Registry, image: str, unpublished: Callable[[], bool]) -> list[str]:
    """Every tag of the repository, page by page; none when the registry knows no such name."""
    tags: list[str] = []
    path = "tags/list?n=1000"
    for _ in range(MAX_PAGES):
        answer = _asked(registry, image, path, unpublished)
        if answer is None:
            return tags
        try:
            tags += json.loads(answer.body).get("tags") or []
        except (ValueError, AttributeError):
            raise PreviousImageError(f"{image}: the registry's tag list is not JSON") from None
        following = NEXT.search(answer.link)
        if following is None:
            return tags
        path = urllib.parse.urlsplit(following[1])._replace(scheme="", netloc="").geturl()
    raise PreviousImageError(f"{image}: more than {MAX_PAGES} pages of tags")


def _asked(
    registry: Registry, image: str, path: str, unpublished: Callable[[], bool] = lambda: False
) -> Answer | None:
    """The registry's answer to `path`; None for 404, and for 401 or 403 where `unpublished()`
    (GHCR's answer for a package never pushed is undocumented: either); PreviousImageError for
    other refusals."""
    try:
        answer = registry.get(path)
    except RegistryUnknownError as error:
        raise PreviousImageError(
            f"{image}: the registry could not be asked ({error}), {len(delays()) + 1} times: "
            f"{RERUN}"
        ) from None
    if answer.status == 200:
        return answer
    if answer.status == 404 or (answer.status in (401, 403) and unpublished()):
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
    said = f"{image}: the registry answered HTTP {answer.status} for {path}"
    if answer.status == 429 or answer.status >= 500:
        said += f", {len(delays()) + 1} times: {RERUN}"
    raise PreviousImageError(said)
