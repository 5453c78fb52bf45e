"""The shapes of parameters and answers, from which the OpenAPI document is generated.

They document; they do not run per request. Handlers parse their few parameters themselves
(see `query`) and build answers directly, which keeps the request path short; the
tests check every answer against these schemas through the generated document.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from cryptopredict.api.query import DATE_EXAMPLES, DATE_PATTERN, MAX_LENGTH
from cryptopredict.api.serving.candles import DEFAULT_COUNT
from cryptopredict.api.serving.catalog import QUERY_PATTERN
from cryptopredict.api.typed_schema import schema_of
from cryptopredict.artifact.schema import DEFAULT_LEVEL, LEVELS, BacktestReport, Manifest
from cryptopredict.candles import PATTERN as INTERVAL_PATTERN

PRICE = (
    "in the pair's quote currency (USD for `btc-usd`), rounded to the cent, or below 1 to six "
    "significant digits"
)


def _date(description: str, *, required: bool) -> fields.String:
    return fields.String(
        required=required,
        validate=[validate.Length(max=MAX_LENGTH), validate.Regexp(DATE_PATTERN)],
        metadata={
            "description": f"{description} `YYYY-MM-DD` or an ISO-8601 datetime, with or "
            f"without an offset (UTC when none), e.g. {DATE_EXAMPLES}.",
            "example": "2026-08-01T12:00:00Z",
        },
    )


def _level() -> fields.Integer:
    return fields.Integer(
        load_default=DEFAULT_LEVEL,
        validate=validate.OneOf(LEVELS),
        metadata={
            "description": "The band's level, in percent: the share of outcomes it should hold. "
            f"One of {', '.join(map(str, LEVELS))}; default {DEFAULT_LEVEL}.",
            "example": DEFAULT_LEVEL,
        },
    )


class AssetQuery(Schema):
    q = fields.String(
        validate=validate.Regexp(QUERY_PATTERN),
        metadata={
            "description": "Search: a slug (`btc-usd`), a symbol (`BTC/USD`), a base (`btc`) or a "
            "quote (`usdt`), or part of one; case is ignored. Default: every served asset.",
            "example": "btc",
        },
    )


class LevelQuery(Schema):
    level = _level()


class PointQuery(Schema):
    date = _date("The instant to forecast:", required=True)
    level = _level()


class ForecastQuery(Schema):
    start = _date(
        "First instant of the range. Default: 30 days before the end or the last bar, "
        "whichever is earlier.",
        required=False,
    )
    end = _date(
        "Last instant of the range. Default: 365 days after the last bar, within the valid "
        "range (or 30 days after `start`, when `start` lies past that).",
        required=False,
    )
    step = fields.String(
        validate=validate.Regexp(INTERVAL_PATTERN),
        metadata={
            "description": "Spacing of the points: a whole number and a unit `m`, `h`, `d` or "
            "`w`, a whole multiple of the data's interval (`/assets` gives it). Only the points "
            "that open a bar of that width are answered (every day's 00:00 UTC for `1d`, weeks "
            "on Monday), so that a long range fits the point cap. Default: every point.",
            "example": "1d",
        },
    )
    format = fields.String(
        load_default="json",
        validate=validate.OneOf(["json", "csv"]),
        metadata={
            "description": "`json` (columns) or `csv` (one row per point, with a `kind` column, "
            "`hindcast` or `forecast`, and `band_chosen_later`, `true` or `false`)."
        },
    )
    level = _level()


def _about_the_point(name: str, *, required: bool) -> fields.Field:
    """`level`, `kind`, `data_until` or `lead_hours`: which band a point answer gives, and what
    kind of forecast it is."""
    about: dict[str, fields.Field] = {
        "level": fields.Integer(
            required=required,
            validate=validate.OneOf(LEVELS),
            metadata={"description": "The band's level, in percent (`interval_width` x 100)."},
        ),
        "kind": fields.String(
            required=required,
            validate=validate.OneOf(["hindcast", "forecast"]),
            metadata={
                "description": "`hindcast` inside the history: what the pipeline said before "
                "the instant, from rolling origins, never a fit to it; `forecast` after the "
                "last bar."
            },
        ),
        "data_until": fields.DateTime(
            required=required,
            metadata={"description": "The last bar the answer had seen (its origin), in UTC."},
        ),
        "lead_hours": fields.Float(
            required=required,
            metadata={"description": "Hours from `data_until` to the instant."},
        ),
    }
    return about[name]


class Prediction(Schema):
    date = fields.DateTime(required=True, metadata={"description": "The instant, in UTC."})
    prediction = fields.Float(required=True, metadata={"description": f"The forecast, {PRICE}."})
    prediction_low = fields.Float(
        required=True, metadata={"description": f"Lower end of the interval, {PRICE}."}
    )
    prediction_high = fields.Float(
        required=True, metadata={"description": f"Upper end of the interval, {PRICE}."}
    )
    interval_width = fields.Float(
        required=True,
        metadata={"description": "Share of outcomes the interval should hold, e.g. 0.8."},
    )
    level = _about_the_point("level", required=True)
    kind = _about_the_point("kind", required=True)
    data_until = _about_the_point("data_until", required=True)
    lead_hours = _about_the_point("lead_hours", required=True)
    model_version = fields.String(required=True)
    actual = fields.Float(
        allow_none=True,
        metadata={
            "description": f"The observed close, {PRICE}: present only for hindcasts (instants "
            "inside the history); null where the history has no bar."
        },
    )
    band_chosen_later = fields.Boolean(
        metadata={
            "description": "Present only for hindcasts: true when the instant is no later than "
            "the last outcome the band's settings were chosen on in training (the manifest's "
            "`backtest_boundary.last_validation_outcome`), so the band there was tuned with "
            "hindsight of it; false after it, and always without a backtest."
        },
    )


def _column(description: str, *, nullable: bool = False) -> fields.List:
    return fields.List(
        fields.Float(allow_none=nullable), required=True, metadata={"description": description}
    )


class ForecastPoints(Schema):
    model_version = fields.String(required=True)
    interval = fields.String(
        required=True,
        metadata={
            "description": "Spacing of the points, e.g. `1h`: the `step` asked for, else "
            "the data's interval."
        },
    )
    interval_width = fields.Float(required=True)
    level = _about_the_point("level", required=True)
    last_bar = fields.DateTime(
        required=True,
        metadata={
            "description": "The last stored bar: points up to it are the hindcast (each made "
            "before its date, from rolling origins), later ones the forecast made there."
        },
    )
    start = fields.DateTime(required=True)
    end = fields.DateTime(required=True)
    count = fields.Integer(required=True, metadata={"description": "Number of points."})
    date = fields.List(fields.DateTime(), required=True)
    prediction = _column(f"Forecast (or hindcast) at each date, {PRICE}.")
    prediction_low = _column("Lower end of the `level`% band at each date.")
    prediction_high = _column("Upper end of the `level`% band at each date.")
    actual = _column("Observed close at each date; null where there is no bar.", nullable=True)
    band_chosen_until = fields.DateTime(
        required=True,
        allow_none=True,
        metadata={
            "description": "The last outcome the band's settings were chosen on in training "
            "(the manifest's `backtest_boundary.last_validation_outcome`); null when trained "
            "without a backtest, whose band was chosen on none."
        },
    )
    band_chosen_later = fields.List(
        fields.Boolean(),
        required=True,
        metadata={
            "description": "At each date: true for a hindcast row dated up to "
            "`band_chosen_until`, older than the data the band's settings were chosen on "
            "(what the pipeline would have said then, but with a band tuned with hindsight of "
            "it, so not out of sample for that choice); false for later hindcast rows and the "
            "forecast."
        },
    )


class CandlesQuery(Schema):
    interval = fields.String(
        validate=validate.Regexp(INTERVAL_PATTERN),
        metadata={
            "description": "Candle width: a whole number and a unit `m`, `h`, `d` or `w`, a whole "
            "multiple of the stored bars' interval (`/assets` gives it), e.g. `4h`, `1d`, `1w`; "
            "or, where live minute bars are stored (`/live`), any whole number of minutes, "
            "e.g. `1m`, `5m`, `10m`, over their window. Default: the stored interval.",
            "example": "1d",
        },
    )
    start = _date(
        f"Earliest candle open time. Default: that of the {DEFAULT_COUNT}th candle back "
        "from `end`, so that the answer holds the last ones up to it.",
        required=False,
    )
    end = _date(
        "Latest candle open time (the candle holds its bars after `end` too). Default: the "
        "last bar.",
        required=False,
    )
    format = fields.String(
        load_default="json",
        validate=validate.OneOf(["json", "csv"]),
        metadata={"description": "`json` (columns) or `csv` (one row per candle)."},
    )


class CandleColumns(Schema):
    asset = fields.String(required=True)
    symbol = fields.String(required=True)
    interval = fields.String(required=True, metadata={"description": "Candle width, e.g. `1d`."})
    stored_interval = fields.String(
        required=True, metadata={"description": "Interval of the stored bars, e.g. `1h`."}
    )
    start = fields.DateTime(
        required=True, metadata={"description": "The range asked, within the history: from."}
    )
    end = fields.DateTime(required=True, metadata={"description": "The range asked, to."})
    count = fields.Integer(required=True, metadata={"description": "Number of candles."})
    date = fields.List(
        fields.DateTime(), required=True, metadata={"description": "Open time of each candle."}
    )
    open = _column("First bar's open, USD.")
    high = _column("Highest high, USD.")
    low = _column("Lowest low, USD.")
    close = _column("Last bar's close, USD.")
    volume = _column("Volume traded, in the asset.")
    vwap = _column("Volume-weighted average price, USD; the bars' mean when nothing traded.")
    complete = fields.List(
        fields.Boolean(),
        required=True,
        metadata={"description": "Whether every bar of the candle's period is in the history."},
    )


class AssetLinks(Schema):
    forecast = fields.String(required=True, metadata={"description": "`/forecast/{asset}`"})
    range = fields.String(required=True, metadata={"description": "`/forecast/{asset}/range`"})
    candles = fields.String(required=True, metadata={"description": "`/candles/{asset}`"})
    model = fields.String(required=True, metadata={"description": "`/model/{asset}`"})
    backtest = fields.String(required=True, metadata={"description": "`/model/{asset}/backtest`"})


class ServedAsset(Schema):
    asset = fields.String(required=True, metadata={"description": "The slug, e.g. `eth-usd`."})
    symbol = fields.String(required=True, metadata={"description": "e.g. `ETH/USD`."})
    interval = fields.String(
        required=True, metadata={"description": "Interval of the stored bars and of the grid."}
    )
    model_version = fields.String(required=True)
    created_at = fields.String(required=True)
    source = fields.String(required=True, metadata={"description": "Where the bars came from."})
    first_bar = fields.DateTime(required=True)
    last_bar = fields.DateTime(required=True)
    grid_end = fields.DateTime(
        required=True, metadata={"description": "End of the precomputed forecast."}
    )
    valid_from = fields.DateTime(
        required=True, metadata={"description": "Earliest date the forecast routes answer."}
    )
    valid_until = fields.DateTime(
        required=True, metadata={"description": "Latest date the forecast routes answer."}
    )
    interval_width = fields.Float(required=True)
    links = fields.Nested(AssetLinks, required=True)


class AssetList(Schema):
    default = fields.String(
        required=True,
        metadata={"description": "The asset the dashboard opens with (BTC/USD when served)."},
    )
    assets = fields.List(fields.Nested(ServedAsset), required=True)


class Error(Schema):
    error = fields.String(
        required=True, metadata={"description": "A stable code, e.g. `out_of_range`."}
    )
    detail = fields.String(
        required=True, metadata={"description": "What was wrong and what to do about it."}
    )


def _by_level(description: str) -> fields.Dict:
    return fields.Dict(
        keys=fields.String(),
        values=fields.Float(),
        allow_none=True,
        required=True,
        metadata={"description": f"{description}, by level in percent (`50`, `80`, `95`)."},
    )


def _score(description: str) -> fields.Float:
    return fields.Float(allow_none=True, required=True, metadata={"description": description})


class HorizonVerdict(Schema):
    horizon = fields.String(required=True, metadata={"example": "1h"})
    verdict = fields.String(
        required=True,
        allow_none=True,
        validate=validate.OneOf(["better", "tie", "worse"]),
        metadata={
            "description": "The band against the naive band's by the 80% interval score: a tie "
            "within two standard errors; null where the band was not scored."
        },
    )
    interval_score = _score("The served band's mean 80% interval score (log prices).")
    naive_interval_score = _score("The naive band's, on the same origins.")
    difference = _score("The served minus the naive score, paired over the origins.")
    se = _score("The difference's Newey-West standard error.")
    coverage = _by_level("Share of closes the served band held")
    coverage_se = _by_level("Standard error of `coverage`")
    naive_coverage = _by_level("Share of closes the naive band held")
    naive_coverage_se = _by_level("Standard error of `naive_coverage`")
    mape = _score("Mean absolute percentage error of the served point forecast.")
    naive_mape = _score("The naive forecast's.")


class Verdict(Schema):
    point_forecast = fields.String(
        required=True,
        metadata={
            "description": "What the served point forecast is (the last close when the "
            "damping is tau 0, so that the band is what the model adds; Prophet damped by tau "
            "otherwise), and whether the damping was chosen, forced or fixed, and why."
        },
    )
    band = fields.String(
        required=True,
        metadata={
            "description": "The band's method, and whether it was chosen, forced or fixed, "
            "and why; empty for a model that does not record it."
        },
    )
    sentence = fields.String(
        required=True,
        metadata={
            "description": "The verdicts summed up in one sentence, each with the interval "
            "scores and standard error behind it; empty without a backtest."
        },
    )
    rule = fields.String(required=True, metadata={"description": "How a verdict is reached."})
    horizons = fields.List(
        fields.Nested(HorizonVerdict),
        required=True,
        metadata={"description": "Per horizon scored, shortest first; empty without a backtest."},
    )


LEAD_NAMES = ["under_1h", "1h_to_1d", "1d_to_7d", "beyond_7d"]


def _nullable(field: type[fields.Field], description: str) -> fields.Field:
    return field(required=True, allow_none=True, metadata={"description": description})


class LiveLevelScores(Schema):
    expected = fields.Float(
        required=True, metadata={"description": "The share the band should hold: its level."}
    )
    coverage = _nullable(fields.Float, "Share of the minutes whose close the band held.")
    coverage_se = _nullable(
        fields.Float,
        "Its Newey-West standard error, counting minutes closer than the bucket's shortest "
        "lead as overlapping (a floor); null until the minutes span twice that.",
    )
    backtest_coverage = _nullable(
        fields.Float, "The served band's coverage at the bucket's horizon in the backtest."
    )
    interval_score = _nullable(
        fields.Float, "The served band's mean interval score (log prices, lower is better)."
    )
    interval_score_se = _nullable(fields.Float, "Its standard error.")
    naive_interval_score = _nullable(
        fields.Float,
        "The naive forecast's (the last price of the model's data, naive's band as the "
        "backtest makes it) on the same minutes; null for a model that does not record it.",
    )
    difference = _nullable(fields.Float, "The served minus the naive score, minute by minute.")
    difference_se = _nullable(fields.Float, "Its standard error.")
    verdict = fields.String(
        required=True,
        allow_none=True,
        validate=validate.OneOf(["better", "tie", "worse"]),
        metadata={
            "description": "The served band against naive's by interval score: a tie within "
            "two standard errors; null without a standard error."
        },
    )


class LiveLead(Schema):
    lead = fields.String(
        required=True,
        validate=validate.OneOf(LEAD_NAMES),
        metadata={
            "description": "The lead bucket: how long after the model's data ended (its last "
            "bar closed, `scored_from`) the minutes closed."
        },
    )
    from_hours = fields.Float(required=True, metadata={"description": "Its shortest lead."})
    to_hours = _nullable(fields.Float, "Its longest lead (excluded); null: no end.")
    minutes = fields.Integer(required=True, metadata={"description": "Minutes scored in it."})
    first = _nullable(fields.DateTime, "Close time of the first of them.")
    last = _nullable(fields.DateTime, "Close time of the last of them.")
    overlap_minutes = fields.Integer(
        required=True,
        metadata={"description": "Minutes closer than this count as overlapping."},
    )
    backtest_horizon = fields.String(
        required=True, metadata={"description": "The backtest horizon it is compared with."}
    )
    levels = fields.Dict(
        keys=fields.String(validate=validate.OneOf([str(level) for level in LEVELS])),
        values=fields.Nested(LiveLevelScores),
        required=True,
        metadata={"description": "Per level in percent (`50`, `80`, `95`)."},
    )


class LiveWindow(Schema):
    hours = fields.Float(
        required=True,
        metadata={
            "description": "Its length: the minutes that closed this long before the "
            "newest scored (`LIVE_SCORE_WINDOW_HOURS`)."
        },
    )
    leads = fields.List(fields.Nested(LiveLead), required=True)


class LiveScorecard(Schema):
    asset = fields.String(required=True)
    symbol = fields.String(required=True)
    model_version = fields.String(required=True)
    data_until = fields.DateTime(
        required=True,
        metadata={"description": "The model's last bar (`data_until` of the forecast answers)."},
    )
    scored_from = fields.DateTime(
        required=True,
        metadata={
            "description": "When that bar closed and the model's data ended: minutes opening "
            "from here are scored, and their leads count from here."
        },
    )
    scored_until = fields.DateTime(
        required=True,
        metadata={"description": "... up to those closing here (the forecast's end)."},
    )
    minutes = fields.Integer(required=True, metadata={"description": "Minutes scored."})
    first = _nullable(fields.DateTime, "Close time of the first minute scored.")
    last = _nullable(fields.DateTime, "Close time of the last minute scored.")
    missing_minutes = fields.Integer(
        required=True,
        metadata={"description": "Minutes missing between them: gaps, not scored."},
    )
    naive = fields.Boolean(
        required=True, metadata={"description": "Whether naive's scores are known."}
    )
    since_release = fields.List(
        fields.Nested(LiveLead),
        required=True,
        metadata={"description": "Per lead bucket, every minute since the model's data ended."},
    )
    window = fields.Nested(
        LiveWindow, required=True, metadata={"description": "The same over a rolling window."}
    )
    detail = _nullable(fields.String, "Why no minute is scored yet, when none is; else null.")


class LiveLeadSummary(Schema):
    lead = fields.String(required=True, validate=validate.OneOf(LEAD_NAMES))
    minutes = fields.Integer(required=True)
    coverage_80 = _nullable(fields.Float, "Share of them the 80% band held.")
    coverage_80_se = _nullable(fields.Float, "Its standard error.")


class LiveSummary(Schema):
    url = fields.String(required=True, metadata={"description": "The whole live scorecard."})
    minutes = fields.Integer(required=True, metadata={"description": "Live minutes scored."})
    last = _nullable(fields.DateTime, "Close time of the last of them.")
    sentence = fields.String(required=True, metadata={"description": "The scorecard in words."})
    leads = fields.List(fields.Nested(LiveLeadSummary), required=True)


# The model card: the manifest's fields as training writes them (cryptopredict.artifact.Manifest),
# each typed at every depth, and the verdict first among what a reader wants.
ModelCard = schema_of(
    Manifest,
    name="ModelCard",
    verdict=fields.Nested(
        Verdict,
        required=True,
        metadata={"description": "What the point forecast is and how the band fared."},
    ),
    live=fields.Nested(
        LiveSummary,
        required=True,
        allow_none=True,
        metadata={
            "description": "How the forecast has fared on live minutes since the model's data "
            "ended (`/model/{asset}/live`); null when no minute bars can be read."
        },
    ),
)

# The backtest as training writes it (cryptopredict.artifact.BacktestReport).
Backtest = schema_of(BacktestReport, name="Backtest")


class AssetHealth(Schema):
    asset = fields.String(required=True)
    model_version = fields.String(required=True)
    created_at = fields.String(required=True)
    data_last = fields.String(
        required=True, metadata={"description": "Time of the last bar the model saw."}
    )


class Unavailable(Schema):
    asset = fields.String(required=True)
    detail = fields.String(required=True, metadata={"description": "Why it cannot be served."})


class Health(AssetHealth):
    """The default asset's model at the top (what a deploy checks), and every served one."""

    status = fields.String(
        required=True,
        validate=validate.OneOf(["ok", "degraded"]),
        metadata={"description": "`degraded` once an asset's artifact could not be opened."},
    )
    assets = fields.List(
        fields.Nested(AssetHealth), required=True, metadata={"description": "Every served asset."}
    )
    unavailable = fields.List(
        fields.Nested(Unavailable),
        required=True,
        metadata={
            "description": "The assets whose artifact could not be opened (they answer 503); "
            "artifacts open on first use, so one found corrupt appears here once asked for."
        },
    )


class PriceForecast(Schema):
    date = fields.DateTime(required=True, metadata={"description": "The instant: the close."})
    available = fields.Boolean(
        required=True,
        metadata={"description": "Whether the served forecast covers that instant."},
    )
    detail = fields.String(metadata={"description": "Why not, when it does not."})
    prediction = fields.Float(metadata={"description": f"The forecast then, {PRICE}."})
    prediction_low = fields.Float(metadata={"description": "Lower end of the band."})
    prediction_high = fields.Float(metadata={"description": "Upper end of the band."})
    interval_width = fields.Float(metadata={"description": "Share the band should hold."})
    level = _about_the_point("level", required=False)
    kind = _about_the_point("kind", required=False)
    data_until = _about_the_point("data_until", required=False)
    lead_hours = _about_the_point("lead_hours", required=False)
    position = fields.String(
        validate=validate.OneOf(["below", "inside", "above"]),
        metadata={"description": "Where the price sits against the band."},
    )
    model_version = fields.String()


class Price(Schema):
    asset = fields.String(required=True)
    symbol = fields.String(required=True)
    date = fields.DateTime(required=True, metadata={"description": "Open time of the minute."})
    close_time = fields.DateTime(required=True, metadata={"description": "When it closed."})
    price = fields.Float(required=True, metadata={"description": "The minute's close."})
    open = fields.Float(required=True)
    high = fields.Float(required=True)
    low = fields.Float(required=True)
    close = fields.Float(required=True)
    volume = fields.Float(required=True, metadata={"description": "Volume, in the asset."})
    vwap = fields.Float(required=True, metadata={"description": "Volume-weighted price."})
    age_seconds = fields.Float(
        required=True, metadata={"description": "Seconds since the minute closed."}
    )
    source = fields.String(
        required=True,
        metadata={
            "description": "Where the minute came from: `binance` or `alpaca` (live from the "
            "exchange), or `replay` (recorded minutes moved to now, as `make live` plays them)."
        },
    )
    source_detail = fields.String(
        required=True, metadata={"description": "The same in words, for people."}
    )
    shift_minutes = fields.Integer(
        required=True,
        allow_none=True,
        metadata={
            "description": "Minutes a replay moved the bar's time (0 for exchange bars); null "
            "when unknown (rows stored before provenance was recorded)."
        },
    )
    recorded_date = fields.DateTime(
        required=True,
        allow_none=True,
        metadata={"description": "When the minute really traded: `date` minus the shift."},
    )
    forecast = fields.Nested(PriceForecast, required=True)


class MinuteWindow(Schema):
    first = fields.DateTime(required=True, metadata={"description": "The first stored minute."})
    last = fields.DateTime(required=True, metadata={"description": "The last stored minute."})
    count = fields.Integer(required=True, metadata={"description": "Minutes stored."})


class LiveStatus(Schema):
    assets = fields.Dict(
        keys=fields.String(),
        values=fields.Nested(MinuteWindow),
        required=True,
        metadata={"description": "Per served asset with minute bars, their window."},
    )
    detail = fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "Why no asset has minute bars, when none has; else null."},
    )
