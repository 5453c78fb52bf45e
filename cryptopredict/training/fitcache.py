"""Prophet's predictions from each backtest origin, cached on disk between training runs.

A fit depends only on the bars the model sees at its origin (its training window), the
configuration, the library versions and the times it predicts, so the key is a digest of
exactly those: a second run refits nothing, and a release that only adds bars refits only the
origins it adds. Entries are small `.npy` files written atomically; an unreadable one is
refitted.

A bump of Prophet, cmdstanpy or numpy changes every key: no fit of the old versions can be read
again. So each set of versions keeps its fits in a folder of its own (`VERSIONS_FOLDER`), and
`drop_other_versions` deletes the others: the cache holds one set of fits, whatever the bumps.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

VERSIONS = {name: importlib.metadata.version(name) for name in ("prophet", "cmdstanpy", "numpy")}
VERSIONS_FOLDER = "_".join(f"{name}-{version}" for name, version in VERSIONS.items())
# What this cache writes, and only that, is ever deleted (FIT_CACHE may name a folder that also
# holds other files): a set of versions' folder, a fit and a write cut short in the flat layout.
A_VERSIONS_FOLDER = re.compile(r"prophet-[^_/]+_cmdstanpy-[^_/]+_numpy-[^_/]+")
A_FLAT_FIT = re.compile(r"[0-9a-f]{64}\.npy|tmp\w+\.tmp")  # tempfile.mkstemp's names


def fit_key(settings: dict, ds: np.ndarray, y: np.ndarray, times: np.ndarray) -> str:
    """A digest of what a fit's predictions depend on."""
    digest = hashlib.sha256()
    digest.update(json.dumps({"settings": settings, **VERSIONS}, sort_keys=True).encode())
    for values in (ds, y, times):
        digest.update(np.ascontiguousarray(values).tobytes())
    return digest.hexdigest()


class FitCache:
    """Predictions by key under `root`, in the folder of this environment's library versions
    (`directory`); None: no cache, every lookup misses."""

    def __init__(self, root: Path | None) -> None:
        self.root = None if root is None else Path(root)
        self.directory = None if self.root is None else self.root / VERSIONS_FOLDER

    def drop_other_versions(self) -> int:
        """Delete the fits of other library versions (and of the flat layout before folders):
        none of them can be read again. How many were deleted."""
        if self.root is None or not self.root.is_dir():
            return 0
        dropped = 0
        for entry in self.root.iterdir():
            if entry == self.directory:
                continue
            if entry.is_dir() and A_VERSIONS_FOLDER.fullmatch(entry.name):
                dropped += sum(1 for _ in entry.glob("*.npy"))
                shutil.rmtree(entry, ignore_errors=True)
            elif entry.is_file() and A_FLAT_FIT.fullmatch(entry.name):
                dropped += entry.suffix == ".npy"
                entry.unlink(missing_ok=True)
        if dropped:
            log.info(
                "fit cache: deleted %d fits of other library versions than %s (no key can "
                "name them again)",
                dropped,
                VERSIONS_FOLDER,
            )
        return dropped

    def has(self, key: str) -> bool:
        return self.directory is not None and (self.directory / f"{key}.npy").is_file()

    def get(self, key: str) -> np.ndarray | None:
        if self.directory is None:
            return None
        path = self.directory / f"{key}.npy"
        try:
            return np.load(path, allow_pickle=False)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            log.warning("fit cache: %s is unreadable (%s); refitting", path, error)
            return None

    def put(self, key: str, values: np.ndarray) -> None:
        if self.directory is None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as file:
                np.save(file, values, allow_pickle=False)
            Path(temporary).replace(self.directory / f"{key}.npy")
        except OSError as error:
            Path(temporary).unlink(missing_ok=True)
            log.warning("fit cache: could not write %s (%s)", self.directory, error)
