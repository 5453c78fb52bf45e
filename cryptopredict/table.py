"""The forecasts as a table without a server: what `/forecast/{asset}` answers without a market
feed, by its own code, for each pair at each lead past its data's end."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from cryptopredict.api.errors import ApiError
from cryptopredict.api.serving.catalog import Catalog
from cryptopredict.artifact.store import open_artifacts
from cryptopredict.candles import Interval
from cryptopredict.config import ApiSettings

LEADS = ("1h", "1d", "7d")


def forecasts(
    pairs: Sequence[str] = (), leads: Sequence[str] = LEADS, level: int = 80
) -> pd.DataFrame:
    """A row (pair, issued, lead, point, low, high, level) for each of `pairs` (slugs or
    symbols; none: every pair trained into MODEL_DIR) at each lead (`1h`, `4h`, `1d`, `7d`: a
    whole number of m, h, d or w), its band at `level` (50, 80 or 95); ValueError saying what
    is wrong (ArtifactError without a trained model)."""
    if level not in (50, 80, 95):
        raise ValueError(f"level {level}: give 50, 80 or 95 (percent)")
    settings = ApiSettings.from_env()
    catalog = Catalog(
        open_artifacts(settings.model_dir), max_horizon_days=settings.max_horizon_days
    )
    rows = []
    try:
        for served in [catalog[pair] for pair in pairs] or catalog:
            for ahead in map(Interval.parse, leads):
                said = served.forecast.answer(served.forecast.data_end + ahead.seconds, level)
                band = (said.prediction, said.prediction_low, said.prediction_high)
                rows.append((served.slug, pd.Timestamp(said.data_until), ahead.delta, *band, level))
    except ApiError as error:
        raise ValueError(error.detail) from None
    return pd.DataFrame(rows, columns=["pair", "issued", "lead", "point", "low", "high", "level"])
