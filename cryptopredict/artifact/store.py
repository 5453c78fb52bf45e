"""The artifacts of a model directory as the API holds them: listed from `index.json`, each
opened when first asked for."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from cryptopredict.artifact.arrays import ArtifactError, require
from cryptopredict.artifact.index import INDEX, artifact_dirs, read_index
from cryptopredict.artifact.read import (
    Artifact,
    describe,
    existing_model_dir,
    open_artifact,
    schema_problem,
)
from cryptopredict.artifact.schema import MANIFEST, SCHEMA_VERSION, IndexEntry

log = logging.getLogger(__name__)


# Seconds before an artifact that could not be opened is tried again (no restart needed).
REOPEN_SECONDS = 10.0


class ArtifactStore(Mapping[str, Artifact]):
    """A model directory's artifacts, each opened and wholly checked (backtest included) when
    first looked up, so no fault shows later in a request. One that cannot be opened raises
    ArtifactError, is listed in `failures` and tried again `REOPEN_SECONDS` later. Thread-safe,
    a lock per asset."""

    def __init__(
        self,
        model_dir: Path | None,
        entries: Mapping[str, IndexEntry],
        failures: Mapping[str, str] | None = None,
        opened: Mapping[str, Artifact] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.model_dir = model_dir
        self._entries = dict(entries)
        # Why each could not be opened, and when to try it again (never: not an entry).
        self._failed = {slug: (why, math.inf) for slug, why in (failures or {}).items()}
        self._opened = dict(opened or {})
        self._locks: dict[str, threading.Lock] = {}
        self._locking = threading.Lock()
        self._clock = clock

    @classmethod
    def of(cls, artifacts: Mapping[str, Artifact]) -> ArtifactStore:
        entries = {slug: artifact.entry for slug, artifact in artifacts.items()}
        return cls(None, entries, opened=artifacts)

    def entry(self, slug: str) -> IndexEntry:
        """`slug`'s own manifest's summary once opened, else the index's."""
        opened = self._opened.get(slug)
        return opened.entry if opened is not None else self._entries[slug]

    @property
    def failures(self) -> dict[str, str]:
        return {slug: why for slug, (why, _) in self._failed.items()}

    def __getitem__(self, slug: str) -> Artifact:
        opened = self._opened.get(slug)
        if opened is not None:
            return opened
        with self._locking:
            lock = self._locks.setdefault(slug, threading.Lock())
        with lock:
            opened = self._opened.get(slug)
            if opened is not None:
                return opened
            why, retry_at = self._failed.get(slug, ("", -math.inf))
            if self._clock() < retry_at:
                raise ArtifactError(why)
            artifact = self._open(slug)
            self._opened[slug] = artifact
            self._failed.pop(slug, None)
            return artifact

    def _open(self, slug: str) -> Artifact:
        if slug not in self._entries or self.model_dir is None:
            raise KeyError(slug)
        try:
            artifact = open_artifact(self.model_dir / slug, every_value=True)
            require(
                artifact.asset == slug, artifact.path / MANIFEST, f"is that of {artifact.asset}"
            )
            _ = artifact.backtest  # read and checked now, not in a request
        except ArtifactError as error:
            self._failed[slug] = (str(error), self._clock() + REOPEN_SECONDS)
            log.error("cannot serve %s: %s (tried again in %.0f s)", slug, error, REOPEN_SECONDS)
            raise
        if artifact.manifest_sha256 != self._entries[slug].manifest_sha256:
            log.warning(
                "%s: index.json describes another manifest (written since, or the index was not "
                "updated); serving the artifact as its manifest describes it",
                artifact.path,
            )
        log.info("opened %s model %s", slug, artifact.manifest.model_version)
        return artifact

    def __contains__(self, slug: object) -> bool:
        return slug in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._entries))

    def __len__(self) -> int:
        return len(self._entries)


def open_artifacts(model_dir: Path) -> ArtifactStore:
    """The artifacts under `model_dir`, none opened yet: those the index lacks listed from their
    manifests, another schema's in `failures` (the API's `Catalog` says if none can be served);
    ArtifactError without the directory."""
    model_dir = existing_model_dir(model_dir)
    try:
        indexed = read_index(model_dir)
    except ArtifactError as error:
        log.warning("listing the artifacts from their manifests: %s", error)
        indexed = None
    present = {path.name: path for path in artifact_dirs(model_dir)}
    gone = sorted(set(indexed or {}) - set(present))
    if gone:
        log.warning("%s lists %s, which %s does not hold", INDEX, ", ".join(gone), model_dir)
    entries, failures = {}, {}
    for name, path in present.items():
        found = (indexed or {}).get(name)
        try:
            entry = found if found is not None else describe(path)
            require(
                entry.schema_version == SCHEMA_VERSION,
                path / MANIFEST,
                schema_problem(entry.schema_version),
            )
        except ArtifactError as error:
            log.error("cannot serve %s: %s", name, error)
            failures[name] = str(error)
            continue
        entries[name] = entry
    return ArtifactStore(model_dir, entries, failures)
