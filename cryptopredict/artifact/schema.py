"""The artifact's typed contract (`manifest.json`, `backtest.json`, `index.json`): msgspec Structs
and their constants, importing nothing of cryptopredict and no numpy, so any stage can use it."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

import msgspec

# 8: sized to what is served (grid.npy's knots, history.npy on a regular axis: docs/api.md).
SCHEMA_VERSION = 8
MANIFEST = "manifest.json"
MODEL = "model.pkl"
GRID = "grid.npy"
HISTORY = "history.npy"
BACKTEST = "backtest.json"
ORIGINS = "origins.npz"  # the backtest's every row (`arrays.BacktestRows`), if it had one

LEVELS = (50, 80, 95)  # the central bands the grid holds, in percent
DEFAULT_LEVEL = 80  # the band answers give unless asked for another
INTERVAL_PATTERN = r"^[1-9][0-9]{0,5}[mhdw]$"  # a bar interval: 1m, 15m, 1h, 4h, 1d, 1w
UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}  # an interval's units
PRICES = ("close", "vwap")  # the prices a model can learn (ModelConfig.price)
SLUG_PATTERN = r"^[a-z0-9]+-[a-z0-9]+$"  # a pair's name, and its directory's: btc-usd, link-usdt

UtcTime = Annotated[datetime, msgspec.Meta(tz=True)]
Text = Annotated[str, msgspec.Meta(min_length=1)]
T = TypeVar("T")
HORIZON_FIELDS = {"1h": "h1", "1d": "d1", "7d": "d7", "30d": "d30"}  # PerHorizon's, by label


class Record(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A JSON object of the contract."""

    def to_builtins(self) -> dict[str, Any]:
        return msgspec.to_builtins(self, order="sorted")


# Keyword-only: after the fields a type adds that are not (the evaluation scores' summary first).
class PerHorizon(Record, Generic[T], kw_only=True, frozen=True):
    """A value at each standard horizon the data reaches."""

    h1: T | None = msgspec.field(default=None, name="1h")
    d1: T | None = msgspec.field(default=None, name="1d")
    d7: T | None = msgspec.field(default=None, name="7d")
    d30: T | None = msgspec.field(default=None, name="30d")

    def horizons(self) -> dict[str, T]:
        """The horizons with a value, by label ("1h", "1d", "7d", "30d"), shortest first."""
        found = {label: getattr(self, name) for label, name in HORIZON_FIELDS.items()}
        return {label: value for label, value in found.items() if value is not None}


class WidthFifthCoverage(Record, frozen=True):
    """A band's coverage within one fifth of the origins by band width (log upper minus log
    lower), with its Newey-West standard error, and the widths the fifth spans."""

    coverage: float
    se: float
    n: int
    width_from: float
    width_to: float


class ForecastScores(Record, frozen=True):
    """One model's scores over the evaluation origins at one horizon; the band's only for a
    model with a band. Levels are keyed by their percent as text ("50", "80", "95")."""

    n: int
    mape: float
    mae: float
    rmse: float
    coverage: float | None = None  # of the DEFAULT_LEVEL band
    coverage_by_level: dict[str, float] | None = None
    coverage_se_by_level: dict[str, float] | None = None
    # Per level, each fifth of the origins by band width, narrowest first.
    coverage_by_width_quintile: dict[str, tuple[WidthFifthCoverage, ...]] | None = None
    interval_score: float | None = None  # of the DEFAULT_LEVEL band
    interval_score_by_level: dict[str, float] | None = None
    quantile_score: float | None = None


class BandVerdict(enum.StrEnum):
    """A band against the naive band's by interval score: `better` or `worse` beyond the
    critical value (two standard errors, or Student's t's where few independent windows make it
    larger), else `tie`; `too few windows` where no critical value holds (the model card's
    verdicts, the live scorecard's)."""

    BETTER = "better"
    TIE = "tie"
    WORSE = "worse"
    TOO_FEW = "too few windows"


class NaiveComparison(Record, frozen=True):
    """The served model minus the naive one per origin, averaged, with the one standard error
    (`cryptopredict.standard_error`, a flat top over `lags` overlapping origins); scores of a
    band only when both have one. On the 80% interval score: the degrees of freedom of its
    standard error (`df`), the relative difference (served - naive) / naive with its standard
    error and one-sided 95% upper bound, and the `verdict` (`BandVerdict`)."""

    n: int
    lags: int
    mape_diff: float
    mape_se: float
    interval_score_diff: float | None = None
    interval_score_se: float | None = None
    quantile_score_diff: float | None = None
    quantile_score_se: float | None = None
    df: float | None = None
    interval_score_relative: float | None = None
    interval_score_relative_se: float | None = None
    interval_score_relative_bound: float | None = None
    verdict: BandVerdict | None = None


class ScoresAtHorizon(Record, frozen=True):
    prophet: ForecastScores | None = None  # the served model
    naive: ForecastScores | None = None
    drift: ForecastScores | None = None
    prophet_vs_naive: NaiveComparison | None = None


class SpanBoundary(Record, frozen=True):
    """Where validation ends and evaluation starts: every choice was made on outcomes known by
    `last_validation_outcome`, before the first evaluation origin."""

    first_validation_origin: UtcTime
    last_validation_outcome: UtcTime
    first_evaluation_origin: UtcTime


class EvaluationScores(PerHorizon[ScoresAtHorizon], frozen=True):
    """The evaluation scores of the served model and the baselines, per horizon."""

    origins: int
    origin_step_hours: float
    refits: int
    interval_width: float
    levels: tuple[int, ...]
    boundary: SpanBoundary


class BandSpec(Record, kw_only=True, frozen=True):
    """A band's method: every setting, and its name (`cryptopredict.model.band_spec` makes
    them). Settings marked scaled apply to the scaled band alone; (hours, value) pairs are
    hours ascending, each calibrated horizon taking the value of the first whose hours reach
    it."""

    kind: str  # "empirical" or "scaled"
    window_days: float | None  # scaled: the short volatility window
    half_life_hours: float | None  # scaled: None keeps the short volatility for ever
    # scaled: a fast variance, the last week's squared returns weighted by age at this half-life
    fast_half_life_hours: float | None = None
    fast_weight: float | None = None  # scaled: the fast variance's weight at the next bar (None: 1)
    robust_variance: bool = False  # scaled: today's and the fast variance by absolute returns
    range_variance: bool = False  # scaled: each bar's move read from its range (`Market.ranged`)
    profile: bool  # scaled: follow the hour-of-week volatility profile
    profile_factored: bool = False  # scaled: the hour of the day's times the day of the week's
    # scaled: the profile raised to this power (None: 1; `bands.profile_of`)
    profile_power: float | None = None
    drift: bool  # keep the median of past returns / errors in the band
    pool_days: int | None  # scaled: calibrate on errors known in these days (None: all)
    horizon_pools: tuple[tuple[int, int | None], ...]  # scaled: `pool_days` per horizon
    # scaled: the empirical band's quantiles' weight per calibrated horizon (`band_spec.weight_at`)
    horizon_mix: tuple[tuple[int, float], ...]
    # scaled: HAR-RV's spread's weight per calibrated horizon, averaged in logs (`model/har.py`)
    horizon_har: tuple[tuple[int, float], ...] = ()
    # scaled: whether each horizon's calibration pool is the panel's (`panel_pool.py`)
    horizon_shared: tuple[tuple[int, bool], ...] = ()
    # scaled: calibrated within this many band-width bins up to WIDTH_BIN_HOURS (Mondrian)
    width_bins: int
    floor: float | None  # scaled: the spread at least this quantile of the pool's (None: none)
    horizon_adapt: tuple[tuple[int, float], ...] = ()  # the adaptive step (`bands.Adaptive`)
    adapt_binned: bool = False  # the adaptive step's state kept per width bin
    name: str

    def shared_for(self, hours: float) -> bool:
        """Whether the pool calibrating the quantiles at `hours` ahead is the panel's."""
        return next((shared for reach, shared in self.horizon_shared if hours <= reach), False)

    def pool_for(self, hours: float) -> int | None:
        """How many days of errors calibrate the quantiles at `hours` ahead (None: all)."""
        return next((days for reach, days in self.horizon_pools if hours <= reach), self.pool_days)

    def adapt_for(self, hours: float) -> float:
        """The adaptive step of the band's scale at `hours` ahead (0: none)."""
        return next((step for reach, step in self.horizon_adapt if hours <= reach), 0.0)


class ServedBandSpec(BandSpec, kw_only=True, frozen=True):
    """The manifest's band: the setting served, and how the hindcast inside the history is made."""

    hindcast: str
    # The adapted scale at the last bar per calibrated horizon (hours, factor).
    adapted_scale: tuple[tuple[int, float], ...] = ()


class Settlement(Record, frozen=True):
    """How one part of the served forecast was settled: `chosen` on the backtest's validation
    origins, or `fixed` (set beforehand, by the panel or the configuration, with no comparison
    in this training); `why` says how, plainly."""

    how: Literal["chosen", "fixed"]
    why: str


class ServedNames(Record, frozen=True):
    """What is served, named for what it is: the point forecast (`point_forecast`), the band's
    method (`band_method`), and how the damping and the band were settled."""

    point_forecast: str
    band_method: str
    damping: Settlement
    band: Settlement


class ScoredBandSpec(BandSpec, kw_only=True, frozen=True):
    """A band's scores on the validation origins, per horizon: its mean 80% interval score
    (`score_<h>`), that score relative to the naive band's within each fifth of the origins by
    the day before's volatility, averaged over the fifths (`calm_score_<h>`), and coverage
    (`coverage_<h>`); `score` is the mean of the calm scores over the horizons."""

    score: float
    score_1h: float | None = None
    score_1d: float | None = None
    score_7d: float | None = None
    score_30d: float | None = None
    calm_score_1h: float | None = None
    calm_score_1d: float | None = None
    calm_score_7d: float | None = None
    calm_score_30d: float | None = None
    coverage_1h: float | None = None
    coverage_1d: float | None = None
    coverage_7d: float | None = None
    coverage_30d: float | None = None


class PoolCandidate(PerHorizon[float], kw_only=True, frozen=True):
    days: int | None  # how far back calibration reaches (None: all past errors)


class MixCandidate(PerHorizon[float], kw_only=True, frozen=True):
    weight: float  # the empirical band's weight


class PoolSearch(Record, frozen=True):
    score: str  # what the candidates are scored by
    candidates: tuple[PoolCandidate, ...]
    chosen: dict[str, int | None]  # days, by horizon label


class MixSearch(Record, frozen=True):
    score: str
    candidates: tuple[MixCandidate, ...]
    chosen: dict[str, float]  # weight, by horizon label


class BandSearch(Record, frozen=True):
    chosen: BandSpec
    validation_origins: int
    candidates: tuple[ScoredBandSpec, ...]
    pools: PoolSearch | None = None  # a scaled band's calibration pool per horizon
    mix: MixSearch | None = None  # a scaled band's weight of the empirical band per horizon


class HindcastCheck(Record, frozen=True):
    """How often each level's served hindcast band held the close over the last `days`."""

    days: int
    bars: int
    coverage_by_level: dict[str, float]


class NaiveForecast(Record, frozen=True):
    """The naive forecast made at the last bar, as the backtest scores naive's (the live
    scorecard scores it beside the served one): the last price, and per level (keyed by percent
    as text) the log offsets of its band's lower and upper bounds at the calibrated horizons
    `hours`; in between linear from 0 at lead 0, past the last as sqrt(lead), never narrowing
    along lead (`cryptopredict.postprocess.empirical_offsets`)."""

    price: float
    hours: tuple[float, ...]
    lower: dict[str, tuple[float, ...]]
    upper: dict[str, tuple[float, ...]]


class BacktestReport(Record, omit_defaults=False, frozen=True):
    """`backtest.json`: the summary, the choices it rests on and the hindcast's coverage; all but
    the hindcast are null for a model trained without a backtest (its every row: `ORIGINS`)."""

    summary: EvaluationScores | None
    band: BandSearch | None
    hindcast: HindcastCheck | None


class ModelConfig(Record, omit_defaults=False, frozen=True):
    """A Prophet configuration, how its output becomes the served forecast, and the price it
    learns: what training fits (`cryptopredict.model.config` holds the ones it tries) and what
    the manifest records."""

    name: str = "default"
    target: str = "log"  # fit Prophet on "log" price (exponentiate back) or on "price"
    growth: str = "linear"
    seasonality_mode: str = "additive"
    changepoint_prior_scale: float = 0.05
    changepoint_range: float = 0.8
    window_days: int | None = 365  # train on the most recent days only; None: all history
    interval_width: float = 0.8
    anchored: bool = True  # start the forecast at the last close
    # tau, hours: damp the move away from the anchor (None: undamped; 0: the last close)
    damping_hours: float | None = None
    # Bands calibrated on backtest errors (cryptopredict.model.bands) instead of Prophet's own.
    calibrated: bool = True
    price: str = "close"  # one of PRICES

    def prophet_kwargs(self) -> dict[str, Any]:
        return {
            "growth": self.growth,
            "seasonality_mode": self.seasonality_mode,
            "changepoint_prior_scale": self.changepoint_prior_scale,
            "changepoint_range": self.changepoint_range,
            "interval_width": self.interval_width,
        }

    def with_changes(self, **changes: Any) -> ModelConfig:
        return msgspec.structs.replace(self, **changes)


class PostprocessRules(msgspec.Struct, frozen=True):
    """How the model's raw output becomes the served forecast (`cryptopredict.postprocess`)."""

    target: str  # "log" or "price"
    origin: int  # epoch seconds of the last bar the model saw
    last_close: float
    model_at_origin: float  # the model's raw prediction at the origin, in model space
    anchored: bool
    damping_hours: float | None  # tau; None leaves the model's path undamped
    interval_width: Annotated[float, msgspec.Meta(gt=0, lt=1)]
    band_hours: tuple[float, ...]  # calibrated horizons, increasing
    band_lower: tuple[float, ...]  # error quantile at (1 - width) / 2, per horizon
    band_upper: tuple[float, ...]  # error quantile at (1 + width) / 2, per horizon
    band_scale: float = 1.0  # log units per quantile unit: the recent volatility, or 1


class RepairCount(msgspec.Struct, frozen=True):
    count: int = 0
    first: str | None = None  # ISO timestamp of the first affected bar


class GapCount(msgspec.Struct, frozen=True):
    count: int = 0
    missing_bars: int = 0
    largest_after: str | None = None  # the bar before the largest gap
    largest_missing_bars: int = 0


class ValidationFindings(msgspec.Struct, frozen=True):
    """What validation repaired and found in the bars (cryptopredict.data.validation)."""

    rows: int
    first: str
    last: str
    exact_duplicates_dropped: int
    was_unsorted: bool
    conflicting_duplicates: RepairCount
    ohlc_repaired: RepairCount
    gaps: GapCount
    # Lows or highs beyond MAX_BAR_JUMP of the previous close, open and close within it: kept.
    wicks: RepairCount = RepairCount()


class FitWindow(msgspec.Struct, frozen=True):
    first: UtcTime
    last: UtcTime
    rows: int


class TrainingData(msgspec.Struct, frozen=True):
    """The bars the model was trained on: where from, their range, and the validation report."""

    source: Text
    failed_sources: tuple[str, ...]
    first: UtcTime
    last: UtcTime
    rows: int
    sha256: str
    validation: ValidationFindings
    training_window: FitWindow


class GridSpan(msgspec.Struct, frozen=True):
    days: float
    grid_first: UtcTime
    grid_last: UtcTime


class Manifest(Record, omit_defaults=False, frozen=True):
    """`manifest.json`: what the model is, what it was trained on, how its output is served,
    its backtest summary and where its validation ended (None: trained without a backtest),
    and each file's sha256 (`files` and `schema_version` are filled in by `encode_artifact`)."""

    schema_version: int
    asset: Text
    symbol: Text
    interval: Annotated[str, msgspec.Meta(pattern=INTERVAL_PATTERN)]
    model_version: Text
    created_at: UtcTime
    git_sha: str | None
    data: TrainingData
    versions: dict[str, str]
    params: ModelConfig
    postprocess: PostprocessRules
    band: ServedBandSpec
    served: ServedNames  # the point forecast and the band, named, and how each was settled
    metrics: EvaluationScores | None
    # Choices made on outcomes up to `last_validation_outcome`, figures from later origins.
    backtest_boundary: SpanBoundary | None
    horizon: GridSpan
    levels: tuple[int, ...]
    files: dict[str, str]
    # The naive forecast at the last bar (None: an artifact written before it was kept).
    naive: NaiveForecast | None = None

    @property
    def step(self) -> int:
        """Seconds of one bar of `interval` (which the pattern made a number and a unit)."""
        return int(self.interval[:-1]) * UNIT_SECONDS[self.interval[-1]]

    @property
    def interval_width(self) -> float:
        """Share of outcomes the served band should hold, e.g. 0.8 (checked at load)."""
        return self.postprocess.interval_width


REQUIRED_KEYS = tuple(
    spec.encode_name for spec in msgspec.structs.fields(Manifest) if spec.required
)


class IndexEntry(msgspec.Struct, frozen=True):
    """What `index.json` says about an asset, before its artifact is opened."""

    asset: str
    symbol: str
    interval: str
    schema_version: int
    model_version: str
    created_at: int  # epoch seconds
    source: str
    first_bar: int  # epoch seconds, as every time here
    last_bar: int
    grid_first: int  # the first instant the forecast answers
    grid_last: int  # the end of the precomputed forecast
    interval_width: float  # the share of outcomes the default band should hold
    manifest_sha256: str
