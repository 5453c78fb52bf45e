"""Image names, image tags and the OCI `created` stamp of one build."""

from __future__ import annotations

from datetime import UTC, datetime

from cryptopredict.utc import iso_moment
from tools.release.version import Version

STAMP_FORMAT = "%Y%m%d%H%M%S"


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
