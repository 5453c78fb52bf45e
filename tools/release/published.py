"""The version, build time and record format an image index's annotations say."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from tools.release.version import Version

VERSION = "org.opencontainers.image.version"
CREATED = "org.opencontainers.image.created"
RECORD_FORMAT = "cryptopredict.record-format"


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
    version = annotations.get(VERSION)
    created = annotations.get(CREATED)
    record_format = annotations.get(RECORD_FORMAT)
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
