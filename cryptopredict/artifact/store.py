"""The artifacts of a model directory as the API holds them: listed at once from `index.json`,
each opened when first asked for."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path

from cryptopredict.artifact.arrays import ArtifactError
from cryptopredict.artifact.index import INDEX, artifact_dirs, read_index
from cryptopredict.artifact.read import (
    Artifact,
    describe,
    existing_model_dir,
    open_artifact,
    require,
    schema_problem,
)
from cryptopredict.artifact.schema import MANIFEST, SCHEMA_VERSION, IndexEntry

log = logging.getLogger(__name__)


class ArtifactStore(Mapping[str, Artifact]):
    """The artifacts of a model directory, listed at once and opened when first asked for.

    `entries` says what each is before it is opened (from `index.json`). Looking one up opens
    it (`open_artifact`: manifest and sha256 checked, arrays memory-mapped) the first time; one
    that cannot be opened raises ArtifactError, then and on every later look-up, and is listed
    in `failures`. Safe to use from several threads.
    """

    def __init__(
        self,
        model_dir: Path | None,
        entries: Mapping[str, IndexEntry],
        failures: Mapping[str, str] | None = None,
        opened: Mapping[str, Artifact] | None = None,
    ) -> None:
        self.model_dir = model_dir
        self._entries = dict(entries)
        self._failures = dict(failures or {})
        self._opened = dict(opened or {})
        self._lock = threading.Lock()

    @classmethod
    def of(cls, artifacts: Mapping[str, Artifact]) -> ArtifactStore:
        """A store of artifacts opened already."""
        entries = {slug: artifact.entry for slug, artifact in artifacts.items()}
        return cls(None, entries, opened=artifacts)

    def entry(self, slug: str) -> IndexEntry:
        """What is known of `slug`: its own manifest's summary once opened, else the index's."""
        opened = self._opened.get(slug)
        return opened.entry if opened is not None else self._entries[slug]

    @property
    def failures(self) -> dict[str, str]:
        """The artifacts that could not be opened, with why."""
        return dict(self._failures)

    def __getitem__(self, slug: str) -> Artifact:
        opened = self._opened.get(slug)
        if opened is not None:
            return opened
        with self._lock:
            if slug in self._failures:
                raise ArtifactError(self._failures[slug])
            if slug not in self._opened:
                self._opened[slug] = self._open(slug)
            return self._opened[slug]

    def _open(self, slug: str) -> Artifact:
        if slug not in self._entries or self.model_dir is None:
            raise KeyError(slug)
        try:
            artifact = open_artifact(self.model_dir / slug)
            require(
                artifact.asset == slug, artifact.path / MANIFEST, f"is that of {artifact.asset}"
            )
        except ArtifactError as error:
            self._failures[slug] = str(error)
            log.error("cannot serve %s: %s", slug, error)
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
    """The artifacts under `model_dir`, listed from its `index.json`, none opened yet.

    An artifact directory the index lacks is listed from its manifest, an entry without its
    directory is left out, and an artifact of another schema is listed in `failures` with what
    to do. ArtifactError when no artifact can be served.
    """
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
    if not present:
        raise ArtifactError(f"{model_dir}: holds no artifact; run `python train.py` first")
    if not entries:
        first = next(iter(failures.values()))
        raise ArtifactError(f"none of the {len(failures)} artifacts can be served; {first}")
    return ArtifactStore(model_dir, entries, failures)
