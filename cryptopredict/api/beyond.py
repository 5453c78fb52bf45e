"""The forecast past the precomputed grid, computed with the pickled model and cached.

The model is unpickled (importing pandas and Prophet, about a second and 100 MB) on the first
request that needs it. Points are computed in blocks of `BLOCK` grid steps, so a chart across
many days costs one `predict` call, and every block is kept: the valid range bounds their
number (three years of hourly points are 37 blocks, under 1 MB).
"""

from __future__ import annotations

import logging
import pickle
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from cryptopredict.api.errors import ModelUnavailableError
from cryptopredict.artifact import Artifact, ArtifactError
from cryptopredict.postprocess import Postprocess

BLOCK = 720

log = logging.getLogger(__name__)


class BeyondGrid:
    def __init__(
        self,
        artifact: Artifact,
        postprocess: Postprocess,
        ds_of: Callable[[np.ndarray], np.ndarray],
        *,
        first_index: int,
    ) -> None:
        self.artifact = artifact
        self.postprocess = postprocess
        self.ds_of = ds_of
        self.first_index = first_index
        self._blocks: dict[int, np.ndarray] = {}
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def blocks(self) -> int:
        return len(self._blocks)

    def rows(self, start: int, stop: int) -> np.ndarray:
        """Values at indexes `start` to `stop - 1`, all at or past the end of the grid."""
        first, last = ((i - self.first_index) // BLOCK for i in (start, stop - 1))
        table = np.concatenate([self._block(number) for number in range(first, last + 1)])
        offset = start - self.first_index - first * BLOCK
        return table[offset : offset + stop - start]

    def _block(self, number: int) -> np.ndarray:
        block = self._blocks.get(number)
        if block is None:
            with self._lock:
                block = self._blocks.get(number)
                if block is None:
                    block = self._blocks[number] = self._compute(number)
        return block

    def _compute(self, number: int) -> np.ndarray:
        import pandas as pd  # noqa: PLC0415 (only past the grid: pandas costs startup time and RSS)

        ds = self.ds_of(self.first_index + number * BLOCK + np.arange(BLOCK))
        frame = pd.DataFrame({"ds": pd.to_datetime(ds, unit="s")})
        raw = self._loaded_model().predict(frame)["yhat"].to_numpy()
        values = np.column_stack(self.postprocess.forecast(ds, raw))
        if not np.all(np.isfinite(values)):
            raise ModelUnavailableError(
                f"the model gives non-finite values past {self.artifact.path}'s grid; retrain"
            )
        log.info("computed %d points past the grid with the model", BLOCK)
        return values

    def _loaded_model(self) -> Any:
        if self._model is None:
            try:
                model = self.artifact.load_model()
            except (ArtifactError, OSError, ImportError, pickle.UnpicklingError, EOFError) as error:
                log.error("cannot load the model past the grid: %s", error)
                raise ModelUnavailableError(
                    f"dates past the precomputed grid need the model, which cannot be loaded: "
                    f"{error}"
                ) from error
            model.uncertainty_samples = 0  # yhat only: fast and deterministic
            self._model = model
        return self._model
