"""Semantic versions from `vMAJOR.MINOR.PATCH` tags (no other counts), and the one a run builds."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass

_NUMBER = r"(0|[1-9][0-9]*)"
_VERSION = re.compile(rf"{_NUMBER}\.{_NUMBER}\.{_NUMBER}")
_RELEASE_TAG = re.compile(rf"v{_NUMBER}\.{_NUMBER}\.{_NUMBER}")
_BUMP_WORD = re.compile(r"(?<![\w#])#(major|minor)\b", re.IGNORECASE)

RELEASE_EVENTS = ("push", "schedule", "workflow_dispatch")


class Bump(enum.Enum):
    MAJOR = "major"
    MINOR = "minor"
    PATCH = "patch"


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
        match = _RELEASE_TAG.fullmatch(tag.strip())
        return None if match is None else cls(*(int(part) for part in match.groups()))

    def bump(self, part: Bump) -> Version:
        if part is Bump.MAJOR:
            return Version(self.major + 1, 0, 0)
        if part is Bump.MINOR:
            return Version(self.major, self.minor + 1, 0)
        return Version(self.major, self.minor, self.patch + 1)

    @property
    def tag(self) -> str:
        return f"v{self}"

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


@dataclass(frozen=True)
class Release:
    """The version a run builds, and whether the run must create its tag."""

    version: Version
    create_tag: bool


def bump_for(message: str) -> Bump:
    """`#major` or `#minor` anywhere in the commit message choose; the larger wins; else patch."""
    words = {word.lower() for word in _BUMP_WORD.findall(message)}
    if "major" in words:
        return Bump.MAJOR
    if "minor" in words:
        return Bump.MINOR
    return Bump.PATCH


def latest_version(tags: Iterable[str]) -> Version | None:
    versions = [v for v in map(Version.from_tag, tags) if v is not None]
    return max(versions, default=None)
