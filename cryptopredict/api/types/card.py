"""The parts of the model card (`/model/{asset}`): what the model was trained on, how it is
configured and served, and its backtest summary. Declared for the API, each filled from the
artifact's manifest attribute by attribute (`of`), so that a field renamed on disk changes the
filling, never this contract."""

from __future__ import annotations

from typing import Literal, TypeVar

import msgspec

from cryptopredict.api.types.common import Answer
from cryptopredict.artifact.schema import BandVerdict, Text, UtcTime

Part = TypeVar("Part", bound=msgspec.Struct)


def of(stored: object, part: type[Part]) -> Part:
    """`part` filled from the attributes of `stored`, a type of the artifact, by name."""
    return msgspec.convert(stored, part, from_attributes=True)


class Sparse(Answer, omit_defaults=True):
    """A part whose unset optional fields are left out."""


class Repair(Answer):
    count: int = 0
    first: str | None = None  # ISO timestamp of the first affected bar


class Gaps(Answer):
    count: int = 0
    missing_bars: int = 0
    largest_after: str | None = None  # the bar before the largest gap
    largest_missing_bars: int = 0


class ValidationReport(Answer):
    """What validation repaired and found in the bars."""

    rows: int
    first: str
    last: str
    exact_duplicates_dropped: int
    was_unsorted: bool
    conflicting_duplicates: Repair
    ohlc_repaired: Repair
    gaps: Gaps
    # Lows or highs beyond the largest jump from the previous close, open and close within it.
    wicks: Repair = msgspec.field(default_factory=Repair)


class TrainingWindow(Answer):
    first: UtcTime
    last: UtcTime
    rows: int


class DataSummary(Answer):
    """The bars the model was trained on: where from, their range, and the validation report."""

    source: Text
    failed_sources: tuple[str, ...]
    first: UtcTime
    last: UtcTime
    rows: int
    sha256: str
    validation: ValidationReport
    training_window: TrainingWindow


class ModelParams(Sparse):
    """The training configuration and the price the model learns."""

    name: str
    target: str
    growth: str
    seasonality_mode: str
    changepoint_prior_scale: float
    changepoint_range: float
    window_days: int | None
    interval_width: float
    anchored: bool
    damping_hours: float | None
    calibrated: bool
    price: str


class Postprocess(Answer):
    """How the model's raw output becomes the served forecast."""

    target: str  # "log" or "price"
    origin: int  # epoch seconds of the last bar the model saw
    last_close: float
    model_at_origin: float  # the model's raw prediction at the origin, in model space
    anchored: bool
    damping_hours: float | None  # tau; None leaves the model's path undamped
    interval_width: float
    band_hours: tuple[float, ...]  # calibrated horizons, increasing
    band_lower: tuple[float, ...]  # error quantile at (1 - width) / 2, per horizon
    band_upper: tuple[float, ...]  # error quantile at (1 + width) / 2, per horizon
    band_scale: float = 1.0  # log units per quantile unit: the recent volatility, or 1


class BandSetting(Sparse):
    """A band: every field of its method, and its name."""

    kind: str
    window_days: float | None
    half_life_hours: float | None
    profile: bool
    drift: bool
    pool_days: int | None
    horizon_pools: tuple[tuple[int, int | None], ...]
    horizon_mix: tuple[tuple[int, float], ...]
    width_bins: int
    floor: float | None
    name: str
    horizon_shared: tuple[tuple[int, bool], ...] = ()
    horizon_adapt: tuple[tuple[int, float], ...] = ()
    profile_power: float | None = None
    fast_half_life_hours: float | None = None
    fast_weight: float | None = None
    robust_variance: bool = False
    profile_factored: bool = False


class ServedBand(BandSetting, kw_only=True):
    """The served band, and how the hindcast inside the history is made."""

    hindcast: str
    adapted_scale: tuple[tuple[int, float], ...] = ()


class Settled(Sparse):
    """How one part of the served forecast was settled: `chosen` on the backtest's validation
    origins, or `fixed` (set beforehand, by the panel or the configuration, with no comparison
    in this training); `why` says how, plainly."""

    how: Literal["chosen", "fixed"]
    why: str


class ServedParts(Sparse):
    """What is served, named for what it is: the point forecast (`point_forecast`), the band's
    method (`band_method`), and how the damping and the band were settled."""

    point_forecast: str
    band_method: str
    damping: Settled
    band: Settled


class WidthFifth(Sparse):
    """A band's coverage within one fifth of the origins by band width (log upper minus log
    lower), with its Newey-West standard error, and the widths the fifth spans."""

    coverage: float
    se: float
    n: int
    width_from: float
    width_to: float


class ModelScores(Sparse):
    """One model's scores over the evaluation origins at one horizon; the band's only for a
    model with a band. Levels are keyed by their percent as text ("50", "80", "95")."""

    n: int
    mape: float
    mae: float
    rmse: float
    coverage: float | None = None  # of the default band
    coverage_by_level: dict[str, float] | None = None
    coverage_se_by_level: dict[str, float] | None = None
    # Per level, each fifth of the origins by band width, narrowest first.
    coverage_by_width_quintile: dict[str, tuple[WidthFifth, ...]] | None = None
    interval_score: float | None = None  # of the default band
    interval_score_by_level: dict[str, float] | None = None
    quantile_score: float | None = None


class Comparison(Sparse):
    """The served model minus the naive one per origin, averaged, with its standard error (a
    flat top over `lags` overlapping origins); scores of a band only when both have one. On the
    80% interval score: the degrees of freedom of its standard error (`df`), the relative
    difference (served - naive) / naive with its standard error and one-sided 95% upper bound,
    and the `verdict`: "better" or "worse" beyond the critical value (two standard errors, or
    Student's t's with `df` where that is larger), else "tie"; "too few windows" where so few
    independent windows were scored that no critical value holds."""

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


class HorizonScores(Sparse):
    prophet: ModelScores | None = None  # the served model
    naive: ModelScores | None = None
    drift: ModelScores | None = None
    prophet_vs_naive: Comparison | None = None


class Boundary(Sparse):
    """Where validation ends and evaluation starts: every choice was made on outcomes known by
    `last_validation_outcome`, before the first evaluation origin."""

    first_validation_origin: UtcTime
    last_validation_outcome: UtcTime
    first_evaluation_origin: UtcTime


class BacktestSummary(Sparse):
    """The evaluation scores of the served model and the baselines, per horizon."""

    origins: int
    origin_step_hours: float
    refits: int
    interval_width: float
    levels: tuple[int, ...]
    boundary: Boundary
    h1: HorizonScores | None = msgspec.field(default=None, name="1h")
    d1: HorizonScores | None = msgspec.field(default=None, name="1d")
    d7: HorizonScores | None = msgspec.field(default=None, name="7d")
    d30: HorizonScores | None = msgspec.field(default=None, name="30d")


class Horizon(Answer):
    days: float
    grid_first: UtcTime
    grid_last: UtcTime


class NaiveBand(Sparse):
    """The naive forecast made at the last bar, as the backtest scores naive's: the last price,
    and per level (keyed by percent as text) the log offsets of its band's lower and upper
    bounds at the calibrated horizons `hours`; in between linear from 0 at lead 0, past the last
    as sqrt(lead), never narrowing along lead."""

    price: float
    hours: tuple[float, ...]
    lower: dict[str, tuple[float, ...]]
    upper: dict[str, tuple[float, ...]]
