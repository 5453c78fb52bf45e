"""What is served (`/assets`) and the candles of its history (`/candles/{asset}`)."""

from __future__ import annotations

from typing import Annotated

from msgspec import UNSET, UnsetType

from cryptopredict.api.serving.candles import DEFAULT_COUNT
from cryptopredict.api.serving.catalog import QUERY_PATTERN
from cryptopredict.api.types.common import Answer, Format, Query, Time, date, doc
from cryptopredict.api.types.training import TRAINING, Training
from cryptopredict.candles import PATTERN as INTERVAL_PATTERN


class AssetQuery(Query):
    q: (
        Annotated[
            str,
            doc(
                "Search: a slug (`btc-usd`), a symbol (`BTC/USD`), a base (`btc`) or a quote "
                "(`usdt`), or part of one; case is ignored. Default: every served asset.",
                pattern=QUERY_PATTERN,
                examples=["btc"],
            ),
        ]
        | UnsetType
    ) = UNSET


class AssetLinks(Answer):
    forecast: Annotated[str, doc("`/forecast/{asset}`")]
    range: Annotated[str, doc("`/forecast/{asset}/range`")]
    candles: Annotated[str, doc("`/candles/{asset}`")]
    model: Annotated[str, doc("`/model/{asset}`")]
    backtest: Annotated[str, doc("`/model/{asset}/backtest`")]


class ServedAsset(Answer):
    asset: Annotated[str, doc("The slug, e.g. `eth-usd`.")]
    symbol: Annotated[str, doc("e.g. `ETH/USD`.")]
    interval: Annotated[str, doc("Interval of the stored bars and of the grid.")]
    model_version: str
    created_at: Annotated[Time, doc("When the model was trained.")]
    source: Annotated[str, doc("Where the bars came from.")]
    first_bar: Time
    last_bar: Time
    grid_end: Annotated[Time, doc("End of the precomputed forecast.")]
    valid_from: Annotated[Time, doc("Earliest date the forecast routes answer.")]
    valid_until: Annotated[Time, doc("Latest date the forecast routes answer.")]
    interval_width: float
    links: AssetLinks


class AssetList(Answer):
    default: Annotated[str, doc("The asset the dashboard opens with (BTC/USD when served).")]
    assets: list[ServedAsset]
    training: Annotated[Training | None, TRAINING]


class CandleRange(Query):
    """The candles asked for, in any form."""

    interval: (
        Annotated[
            str,
            doc(
                "Candle width: a whole number and a unit `m`, `h`, `d` or `w`, a whole multiple "
                "of the stored bars' interval (`/assets` gives it), e.g. `4h`, `1d`, `1w`; or, "
                "where live minute bars are stored (`/live`), any whole number of minutes, e.g. "
                "`1m`, `5m`, `10m`, over their window. Default: the stored interval.",
                pattern=INTERVAL_PATTERN,
                examples=["1d"],
            ),
        ]
        | UnsetType
    ) = UNSET
    start: (
        Annotated[
            str,
            date(
                f"Earliest candle open time. Default: that of the {DEFAULT_COUNT}th candle back "
                "from `end`, so that the answer holds the last ones up to it."
            ),
        ]
        | UnsetType
    ) = UNSET
    end: (
        Annotated[
            str,
            date(
                "Latest candle open time (the candle holds its bars after `end` too). Default: "
                "the last bar."
            ),
        ]
        | UnsetType
    ) = UNSET


class CandlesQuery(CandleRange):
    format: Annotated[
        Format,
        doc(
            "`json` (columns) or `csv` (one row per candle). A generated client asks "
            "`/candles/{asset}.csv` for CSV."
        ),
    ] = Format.JSON


class CandleColumns(Answer):
    asset: str
    symbol: str
    interval: Annotated[str, doc("Candle width, e.g. `1d`.")]
    stored_interval: Annotated[str, doc("Interval of the stored bars, e.g. `1h`.")]
    start: Annotated[Time, doc("The range asked, within the history: from.")]
    end: Annotated[Time, doc("The range asked, to.")]
    count: Annotated[int, doc("Number of candles.")]
    date: Annotated[list[Time], doc("Open time of each candle.")]
    open: Annotated[list[float], doc("First bar's open, USD.")]
    high: Annotated[list[float], doc("Highest high, USD.")]
    low: Annotated[list[float], doc("Lowest low, USD.")]
    close: Annotated[list[float], doc("Last bar's close, USD.")]
    volume: Annotated[list[float], doc("Volume traded, in the asset.")]
    vwap: Annotated[
        list[float], doc("Volume-weighted average price, USD; the bars' mean when nothing traded.")
    ]
    complete: Annotated[
        list[bool], doc("Whether every bar of the candle's period is in the history.")
    ]
