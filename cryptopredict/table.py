"""The forecasts as a table without a server: each pair's path past its data's end, a row per
target time, each what `/forecast/{asset}` answers there without a market feed, by its code."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd

from cryptopredict.api.errors import ApiError
from cryptopredict.api.serving.catalog import Catalog, CatalogEntry
from cryptopredict.artifact.schema import DEFAULT_LEVEL, LEVELS
from cryptopredict.artifact.store import open_artifacts
from cryptopredict.candles import Interval
from cryptopredict.config import ApiSettings
from cryptopredict.postprocess import round_band
from cryptopredict.standard_error import tails


def forecasts(
    pairs: Sequence[str] = (),
    horizon: str = "7d",
    every: str | None = None,
    level: Sequence[int] = LEVELS,
    model_dir: Path | None = None,
) -> pd.DataFrame:
    """A row per pair of `pairs` (slugs or symbols; none: every pair trained into `model_dir`,
    default MODEL_DIR) and target time `ds`, `every` (default: the pair's interval) past its
    data's end (`issued`) up to `horizon` (each a whole number of m, h, d or w): whether the band
    is `untested` there (past the longest lead it was scored at), the point, its band at each
    `level` (`lo-80`, `hi-80`: statsforecast's names), the model version, the quote currency and
    the close the forecast starts from (`anchor`). ValueError saying what is wrong (ArtifactError
    without a trained model)."""
    if not all(isinstance(each, int) and 0 < each < 100 for each in level):
        raise ValueError(f"level {list(level)}: each must be a whole percent from 1 to 99")
    ahead = Interval.parse(horizon).seconds
    each = Interval.parse(every).seconds if every else None
    settings = ApiSettings.from_env()
    directory = model_dir or settings.model_dir
    catalog = Catalog(open_artifacts(directory), max_horizon_days=settings.max_horizon_days)
    rows: list[tuple] = []
    try:
        for served in [catalog[pair] for pair in pairs] or catalog:
            start, step = served.forecast.data_end, each or served.forecast.step
            if step > ahead:
                raise ValueError(f"horizon {horizon} is shorter than {served.slug}'s step")
            instants = range(start + step, start + ahead + 1, step)
            served.forecast.check("date", instants[-1])  # a horizon too far: said at once
            rows += [_row(served, at, level) for at in instants]
    except ApiError as error:
        raise ValueError(error.detail) from None
    bands = [f"{side}-{each}" for each in level for side in ("lo", "hi")]
    header = ["pair", "ds", "issued", "lead_hours", "untested", "point", *bands]
    table = pd.DataFrame(rows, columns=[*header, "model_version", "quote", "anchor"])
    table[["ds", "issued"]] = table[["ds", "issued"]].apply(pd.to_datetime, utc=True)
    return table


def _row(served: CatalogEntry, at: int, levels: Sequence[int]) -> tuple:
    """A row of the table: the API's answers for `served` at instant `at`, at each of `levels`."""
    said = served.forecast.answer(at, DEFAULT_LEVEL)
    bands = [bound for level in levels for bound in _band(served, at, level)]
    when = (said.date, said.data_until, said.lead_hours, said.untested, said.prediction)
    return (served.slug, *when, *bands, said.model_version, served.quote, said.anchor.price)


def _band(served: CatalogEntry, at: int, level: int) -> tuple[float, float]:
    """The `level`% band at `at`: the API's at LEVELS; at another level, each edge's log distance
    from the point per normal quantile of its tail interpolated on that quantile between LEVELS'
    edges, held past the outermost (beyond the 95% band, as a normal's tails widen)."""
    if level in LEVELS:
        answer = served.forecast.answer(at, level)
        return answer.prediction_low, answer.prediction_high
    held = [served.forecast.values_at(np.array([at]), known)[0] for known in LEVELS]
    z = np.array([NormalDist().inv_cdf(tau) for known in LEVELS for tau in tails(known)])
    point, order = held[0][0], np.argsort(z)
    per_z = np.log(np.concatenate([values[1:] for values in held]) / point) / z
    wanted = np.array([NormalDist().inv_cdf(tau) for tau in tails(level)])
    low, high = point * np.exp(wanted * np.interp(wanted, z[order], per_z[order]))
    return round_band(point, low, high)[1:]
