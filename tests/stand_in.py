"""A stand-in for Prophet's fit, for tests of what training does around a fit (exit codes,
`--all`, `--csv`, `--until`, ranking, what is written and logged), not of the fit itself: a
least-squares line through the target, fitted in microseconds where Prophet's BFGS takes a
tenth of a second or more, and answering as a fitted Prophet model does (`predict` gives
`yhat` and its bounds in the model's space). Tests of the numerics fit Prophet itself."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cryptopredict.artifact.schema import ModelConfig


class StraightLine:
    """A fitted line, `predict`ed as Prophet's model would be; pickled into the artifact."""

    def __init__(self, seconds: np.ndarray, y: np.ndarray, uncertainty_samples: int) -> None:
        self.slope, self.intercept = np.polyfit(seconds - seconds[-1], y, 1)
        self.origin = float(seconds[-1])
        self.uncertainty_samples = uncertainty_samples

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        seconds = _seconds(frame["ds"])
        yhat = self.intercept + self.slope * (seconds - self.origin)
        return pd.DataFrame(
            {"ds": frame["ds"], "yhat": yhat, "yhat_lower": yhat, "yhat_upper": yhat}
        )


def fit_straight_line(config: ModelConfig, train: pd.DataFrame, samples: int = 0) -> StraightLine:
    """In place of `forecasters.fit_prophet`: the line through `train` in the target space."""
    y = np.log(train["y"]) if config.target == "log" else train["y"]
    return StraightLine(_seconds(train["ds"]), np.asarray(y, dtype=np.float64), samples)


def _seconds(ds: pd.Series) -> np.ndarray:
    return pd.to_datetime(ds).to_numpy().astype("datetime64[s]").astype(np.float64)
