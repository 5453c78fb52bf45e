"""What is served (`/assets`, with a run still training), the candles of its history
(`/candles/{asset}`), and the live minutes (`/live`, `/price/{asset}`)."""

from __future__ import annotations

import enum
from typing import Annotated, Literal

from msgspec import UNSET, Meta, UnsetType

from cryptopredict.api.types.common import (
    PRICE,
    REFUSED,
    Answer,
    Format,
    FormatParameter,
    Instant,
    IntervalLabel,
    Kind,
    Level,
    LevelParameter,
    Query,
    Time,
    date,
    doc,
)
from cryptopredict.api.types.forecast import Anchor, BandLevel, DataUntil, LeadHours
from cryptopredict.artifact.run import PairFailure
from cryptopredict.artifact.schema import DEFAULT_LEVEL

MAX_LIMIT = 1000
DEFAULT_COUNT = 90  # candles answered when no `start` is given
# What `/assets?q=` accepts: what can spell a slug or a symbol, or part of one.
QUERY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9./-]{0,31}$"
MAX_OFFSET = 1_000_000


class TrainingPair(Answer):
    asset: Annotated[str, doc("The slug, e.g. `eth-usd`.")]
    state: Annotated[
        Literal["running", "waiting"],
        doc(
            "`running`: its task runs on a worker now, or its model is written and served "
            "within a second (`step` says which); `waiting`: its task waits for a worker (the "
            "other pairs' tasks run first)."
        ),
    ]
    step: Annotated[str, doc("What it does now, or what it waits to do, in words.")]
    eta_seconds: Annotated[
        int | None,
        doc(
            "Seconds until its model should be written, estimated: the workers' start, then "
            "the pairs left in the order the workers run them, each at its measured cost (its "
            "own when it last trained into this model directory, else a pair's of its bar "
            "interval) at this run's pace; past it, a fifth of its time spent, never 0."
        ),
    ]


class TrainingProgress(Answer):
    """A training run still writing into the model directory (`make run`)."""

    updated_at: Time
    eta_seconds: Annotated[
        int | None,
        doc(
            "Seconds left in all: when the last pair's model should be written (null: none "
            "is training)."
        ),
    ]
    pairs: Annotated[list[TrainingPair], doc("The pairs still training.")]
    failed: Annotated[
        list[PairFailure],
        doc("The pairs this run could not train, with why (a model written before stays served)."),
    ]


TRAINING = doc(
    "While training still writes into the model directory (`make run` serves each pair as soon "
    "as its model is written): the pairs still training, with their progress, and those it "
    "could not train; null otherwise."
)


class Sort(enum.StrEnum):
    """How `/assets` orders what it lists: by slug, or by the market's volume rank."""

    SLUG = "slug"
    RANK = "rank"


def whole(description: str, low: int, high: int) -> Meta:
    refused = f": give a whole number from {low} to {high}"
    return doc(description, ge=low, le=high, extra={REFUSED: refused})


class AssetQuery(Query):
    q: (
        Annotated[
            str,
            doc(
                "Search: a slug (`btc-usd`), a symbol (`BTC/USD`), a base (`btc`) or a quote "
                "(`usdt`), or part of one; case is ignored. Default: every served asset.",
                pattern=QUERY_PATTERN,
                examples=["btc"],
                extra={
                    REFUSED: " cannot name an asset; give 1 to 32 letters, digits, `-`, `/` or "
                    "`.`, starting with a letter or digit, e.g. q=btc, q=usdt or q=ETH/USD"
                },
            ),
        ]
        | UnsetType
    ) = UNSET
    quote: (
        Annotated[
            str,
            doc(
                "Only the assets quoted in this currency.",
                pattern=r"^[A-Za-z0-9]{1,16}$",
                examples=["usdt"],
                extra={REFUSED: " is not a currency; e.g. quote=usdt"},
            ),
        ]
        | UnsetType
    ) = UNSET
    interval: Annotated[
        IntervalLabel | UnsetType,
        doc("Only the assets stored at this bar interval.", examples=["1h"]),
    ] = UNSET
    sort: Annotated[
        Sort | UnsetType,
        doc(
            "`rank`: the most traded first (the market's 24-hour volume rank, unranked "
            "assets after them); `slug`: by slug. Default: by slug, or with `q` best match "
            "first.",
            extra={REFUSED: ": sort by slug or rank"},
        ),
    ] = UNSET
    limit: (
        Annotated[
            int, whole("At most this many assets (a page). Default: all of them.", 1, MAX_LIMIT)
        ]
        | UnsetType
    ) = UNSET
    offset: (
        Annotated[int, whole("Skip this many assets first. Default 0.", 0, MAX_OFFSET)] | UnsetType
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
    first_bar: Annotated[Time, doc("Open time of the first stored bar.")]
    last_bar: Annotated[Time, doc("Open time of the last stored bar.")]
    data_until: Annotated[
        Time,
        doc(
            "When the data ended: the last bar's close. The forecast routes answer hindcasts "
            "up to it, the forecast after it."
        ),
    ]
    grid_end: Annotated[Time, doc("The last instant of the precomputed forecast.")]
    valid_from: Annotated[Time, doc("Earliest instant the forecast routes answer.")]
    valid_until: Annotated[Time, doc("Latest instant the forecast routes answer.")]
    interval_width: float
    quote: Annotated[str, doc("The quote, e.g. `usdt`.")]
    volume_rank: Annotated[
        int | None,
        doc(
            "Its rank by 24-hour quote volume when the release ranked the market (`top:N`), 1 "
            "the most traded; null for a pair named, not ranked."
        ),
    ]
    quote_volume_24h: Annotated[
        float | None, doc("The 24-hour quote volume it was ranked by; null if unranked.")
    ]
    links: AssetLinks


class LeftOutPair(Answer):
    symbol: Annotated[str, doc("The exchange's symbol.")]
    quote_volume_24h: float
    why: str


class Ranking(Answer):
    asked: Annotated[int, doc("N of `top:N`.")]
    ranked: Annotated[int, doc("How many pairs it ranked.")]
    by: Annotated[str, doc("What was ranked, by what.")]
    as_of: Annotated[Time, doc("The end of the 24 hours the volumes cover.")]
    left_out: Annotated[
        list[LeftOutPair],
        doc(
            "Pairs that traded more than the last one ranked but are no market to forecast "
            "(stablecoins, leveraged tokens), with why."
        ),
    ]


class LastRun(Answer):
    asked: Annotated[str, doc("The pairs asked for: slugs, or `top:N`.")]
    finished_at: Time
    model_version: str
    trained: Annotated[int, doc("How many pairs trained.")]
    failed: Annotated[
        list[PairFailure], doc("The pairs that did not train (none is served), with why.")
    ]
    ranking: Ranking | None


class AssetList(Answer):
    default: Annotated[
        str | None,
        doc("The asset the dashboard opens with (BTC/USD when served); null while none is."),
    ]
    total: Annotated[int, doc("How many assets match.")]
    offset: int
    limit: int | None
    next: Annotated[str | None, doc("The URL of the next page; null on the last.")]
    assets: list[ServedAsset]
    training: Annotated[TrainingProgress | None, TRAINING]
    last_run: Annotated[
        LastRun | UnsetType,
        doc(
            "The last finished training run's record (`run.json`), when the model directory "
            "holds one."
        ),
    ] = UNSET


class CandleRange(Query):
    """The candles asked for, in any form."""

    interval: Annotated[
        IntervalLabel | UnsetType,
        doc(
            "Candle width: a whole number and a unit `m`, `h`, `d` or `w`, a whole multiple "
            "of the stored bars' interval (`/assets` gives it), e.g. `4h`, `1d`, `1w`; or, "
            "where live minute bars are stored (`/live`), any whole number of minutes, e.g. "
            "`1m`, `5m`, `10m`, over their window. Default: the stored interval.",
            examples=["1d"],
        ),
    ] = UNSET
    start: Annotated[
        Instant | UnsetType,
        date(
            f"Earliest candle open time. Default: that of the {DEFAULT_COUNT}th candle back "
            "from `end`, so that the answer holds the last ones up to it."
        ),
    ] = UNSET
    end: Annotated[
        Instant | UnsetType,
        date(
            "Latest candle open time (the candle holds its bars after `end` too). Default: "
            "the last bar."
        ),
    ] = UNSET


class CandlesQuery(CandleRange):
    format: FormatParameter = Format.JSON


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


class LevelQuery(Query):
    level: LevelParameter = Level(DEFAULT_LEVEL)


class PriceForecast(Answer):
    """The served forecast now (the minute's close, if later), as `/forecast/{asset}?date=`
    answers it: from the latest price where one is newer than the model's data. Only `date`,
    `available` and `detail` when the forecast does not cover it."""

    date: Annotated[Time, doc("The instant: now, or the minute's close if later.")]
    available: Annotated[bool, doc("Whether the served forecast covers that instant.")]
    detail: Annotated[str, doc("Why not, when it does not.")] | UnsetType = UNSET
    prediction: Annotated[float, doc(f"The forecast then, {PRICE}.")] | UnsetType = UNSET
    prediction_low: Annotated[float, doc("Lower end of the band.")] | UnsetType = UNSET
    prediction_high: Annotated[float, doc("Upper end of the band.")] | UnsetType = UNSET
    interval_width: Annotated[float, doc("Share the band should hold.")] | UnsetType = UNSET
    level: BandLevel | UnsetType = UNSET
    kind: Kind | UnsetType = UNSET
    data_until: DataUntil | UnsetType = UNSET
    lead_hours: LeadHours | UnsetType = UNSET
    position: (
        Annotated[
            Literal["below", "inside", "above"], doc("Where the price sits against the band.")
        ]
        | UnsetType
    ) = UNSET
    model_version: str | UnsetType = UNSET
    anchor: Anchor | UnsetType = UNSET


class Price(Answer):
    asset: str
    symbol: str
    date: Annotated[Time, doc("The instant of the price: when the minute closed.")]
    open_time: Annotated[Time, doc("When the minute opened (candles are labelled by it).")]
    price: Annotated[float, doc("The minute's close: the price at `date`.")]
    open: float
    high: float
    low: float
    close: float
    volume: Annotated[float, doc("Volume, in the asset.")]
    vwap: Annotated[float, doc("Volume-weighted price.")]
    age_seconds: Annotated[float, doc("Seconds since the minute closed.")]
    source: Annotated[
        str,
        doc(
            "Where the minute came from: `binance` or `alpaca` (live from the exchange), or "
            "`replay` (recorded minutes moved to now, as `make live` plays them)."
        ),
    ]
    source_detail: Annotated[str, doc("The same in words, for people.")]
    shift_minutes: Annotated[
        int, doc("Minutes a replay moved the bar's time (0 for exchange bars).")
    ]
    recorded_date: Annotated[Time, doc("When that price really was: `date` minus the shift.")]
    forecast: PriceForecast


class MinuteWindow(Answer):
    first: Annotated[Time, doc("When the first stored minute closed: its price's instant.")]
    last: Annotated[Time, doc("When the last stored minute closed: the newest price's instant.")]
    count: Annotated[int, doc("Minutes stored.")]


class LiveStatus(Answer):
    assets: Annotated[
        dict[str, MinuteWindow], doc("Per served asset with minute bars, their window.")
    ]
    detail: Annotated[str | None, doc("Why no asset has minute bars, when none has; else null.")]
