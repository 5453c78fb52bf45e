"""Prophet's predictions from each backtest origin, cached on disk between training runs.

A fit depends only on the bars the model sees at its origin (its training window), the
configuration, the library versions and the times it predicts, so the key is a digest of
exactly those: a second run refits nothing, and a release that only adds bars refits only the
origins it adds. Entries are small `.npy` files written atomically; an unreadable one is
refitted.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
import tempfile
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

VERSIONS = {name: importlib.metadata.version(name) for name in ("prophet", "cmdstanpy", "numpy")}


def fit_key(settings: dict, ds: np.ndarray, y: np.ndarray, times: np.ndarray) -> str:
    """A digest of what a fit's predictions depend on."""
    digest = hashlib.sha256()
    digest.update(json.dumps({"settings": settings, **VERSIONS}, sort_keys=True).encode())
    for values in (ds, y, times):
        digest.update(np.ascontiguousarray(values).tobytes())
    return digest.hexdigest()


class FitCache:
    """Predictions by key under `directory` (None: no cache, every lookup misses)."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = None if directory is None else Path(directory)

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
