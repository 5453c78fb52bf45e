"""The forecasts as a table without a server: each pair's path past its data's end, a row per
target time, each what `/forecast/{asset}` answers there without a market feed, by its code."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from cryptopredict.api.errors import ApiError
from cryptopredict.api.serving.catalog import Catalog, CatalogEntry
from cryptopredict.artifact.store import open_artifacts
from cryptopredict.candles import Interval
from cryptopredict.config import ApiSettings

LEVELS = (50, 80, 95)
BANDS = [f"{side}-{level}" for level in LEVELS for side in ("lo", "hi")]  # statsforecast's names
HEADER = ["pair", "ds", "issued", "lead_hours", "point", *BANDS, "model_version", "quote", "anchor"]


def forecasts(
    pairs: Sequence[str] = (), horizon: str = "7d", every: str | None = None
) -> pd.DataFrame:
    """A row per pair of `pairs` (slugs or symbols; none: every pair trained into MODEL_DIR) and
    target time `ds`, `every` (default: the pair's interval) past its data's end (`issued`) up
    to `horizon` (each a whole number of m, h, d or w): the point, its 50, 80 and 95% bands,
    the model version, the quote currency and the close the forecast starts from (`anchor`).
    ValueError saying what is wrong (ArtifactError without a trained model)."""
    ahead = Interval.parse(horizon).seconds
    each = Interval.parse(every).seconds if every else None
    settings = ApiSettings.from_env()
    catalog = Catalog(
        open_artifacts(settings.model_dir), max_horizon_days=settings.max_horizon_days
    )
    rows: list[tuple] = []
    try:
        for served in [catalog[pair] for pair in pairs] or catalog:
            start, step = served.forecast.data_end, each or served.forecast.step
            if step > ahead:
                raise ValueError(f"horizon {horizon} is shorter than {served.slug}'s step")
            instants = range(start + step, start + ahead + 1, step)
            served.forecast.check("date", instants[-1])  # a horizon too far: said at once
            rows += [_row(served, at) for at in instants]
    except ApiError as error:
        raise ValueError(error.detail) from None
    table = pd.DataFrame(rows, columns=HEADER)
    table[["ds", "issued"]] = table[["ds", "issued"]].apply(pd.to_datetime, utc=True)
    return table


def _row(served: CatalogEntry, at: int) -> tuple:
    """A row of the table: the API's answers for `served` at instant `at`, at each of LEVELS."""
    said = [served.forecast.answer(at, level) for level in LEVELS]
    bands = [bound for one in said for bound in (one.prediction_low, one.prediction_high)]
    first = said[0]
    when = (first.date, first.data_until, first.lead_hours, first.prediction)
    return (served.slug, *when, *bands, first.model_version, served.quote, first.anchor.price)
