"""Semantic versions from `vMAJOR.MINOR.PATCH` tags (no other counts), the one a run builds, its
image's names and tags, and what a published image index's annotations say."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from cryptopredict.utc import iso_moment

_NUMBER = r"(0|[1-9][0-9]*)"
_VERSION = re.compile(rf"{_NUMBER}\.{_NUMBER}\.{_NUMBER}")
# A release tag: the one pattern every reader of one uses (the certificate identity a previous
# release's attestation must name too); .github/settings/' tag patterns are tested against it.
RELEASE_TAG = re.compile(f"v{_VERSION.pattern}")
_BUMP_WORD = re.compile(r"(?<![\w#])#(major|minor)\b", re.IGNORECASE)

STAMP_FORMAT = "%Y%m%d%H%M%S"
VERSION = "org.opencontainers.image.version"
CREATED = "org.opencontainers.image.created"
RECORD_FORMAT = "cryptopredict.record-format"


Bump = Literal["major", "minor", "patch"]


@dataclass(frozen=True, order=True)
class Version:
    major: int
    minor: int
    patch: int

    @classmethod
    def parse(cls, text: str) -> Version:
        """`1.2.3` (no `v`, no leading zeros, nothing after the patch number)."""
        match = _VERSION.fullmatch(text.strip())
        if match is None:
            raise ValueError(f"{text!r} is not a version; expected MAJOR.MINOR.PATCH, e.g. 0.1.0")
        return cls(*(int(part) for part in match.groups()))

    @classmethod
    def from_tag(cls, tag: str) -> Version | None:
        """The version a release tag names, or None for any other tag."""
        match = RELEASE_TAG.fullmatch(tag.strip())
        return None if match is None else cls(*(int(part) for part in match.groups()))

    def bump(self, part: Bump) -> Version:
        if part == "major":
            return Version(self.major + 1, 0, 0)
        if part == "minor":
            return Version(self.major, self.minor + 1, 0)
        return Version(self.major, self.minor, self.patch + 1)

    @property
    def tag(self) -> str:
        return f"v{self}"

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


def bump_for(message: str) -> Bump:
    """`#major` or `#minor` anywhere in the commit message choose; the larger wins; else patch."""
    words = {word.lower() for word in _BUMP_WORD.findall(message)}
    return "major" if "major" in words else "minor" if "minor" in words else "patch"


def latest_version(tags: Iterable[str]) -> Version | None:
    versions = [v for v in map(Version.from_tag, tags) if v is not None]
    return max(versions, default=None)


def build_tag(version: Version, built_at: datetime) -> str:
    """`X.Y.Z-YYYYmmddHHMMSS` in UTC: unique per build, so it is also the model version."""
    return f"{version}-{_utc(built_at).strftime(STAMP_FORMAT)}"


def created(built_at: datetime) -> str:
    """RFC 3339 in UTC, as the `org.opencontainers.image.created` label wants it."""
    return iso_moment(_utc(built_at))


def image_name(repository: str, registry: str = "ghcr.io") -> str:
    """`ghcr.io/owner/repo`, lower-cased: registries refuse upper case, GitHub names allow it."""
    owner, slash, name = repository.strip().partition("/")
    if not (owner and slash and name) or "/" in name:
        raise ValueError(f"{repository!r} is not a GitHub repository name; expected owner/name")
    return f"{registry}/{owner}/{name}".lower()


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"{moment.isoformat()} has no time zone; pass an aware datetime")
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class Published:
    version: Version | None
    created: datetime | None
    record_format: int | None = None  # None: built before the release annotated it


def read_index(raw: str) -> Published | None:
    """An image index's annotations; None for an empty text, ValueError for another document."""
    if not raw.strip():
        return None
    try:
        index = json.loads(raw)
    except ValueError:
        raise ValueError("the index is not JSON") from None
    if not isinstance(index, dict) or not isinstance(index.get("manifests"), list):
        raise ValueError("the index is not an image index (no manifests)")
    annotations = index.get("annotations") or {}
    if not isinstance(annotations, dict):
        raise ValueError("the index's annotations are not a JSON object")
    version, created, record_format = map(annotations.get, (VERSION, CREATED, RECORD_FORMAT))
    return Published(
        Version.parse(version) if version else None,
        _aware(created) if created else None,
        int(record_format) if record_format else None,
    )


def _aware(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"{CREATED} {text!r} has no time zone")
    return moment
