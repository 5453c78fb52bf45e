"""`/model/{asset}/backtest`: the backtest summary, the band's choice it rests on, the
hindcast's coverage and the past forecasts, declared for the API (filled from the artifact's
`backtest.json` by `card.of`)."""

from __future__ import annotations

import msgspec

from cryptopredict.api.types.card import BacktestSummary, BandSetting, Sparse


class BandCandidate(BandSetting, kw_only=True):
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


class HorizonValues(Sparse):
    """A value at each standard horizon the data reaches."""

    h1: float | None = msgspec.field(default=None, name="1h")
    d1: float | None = msgspec.field(default=None, name="1d")
    d7: float | None = msgspec.field(default=None, name="7d")
    d30: float | None = msgspec.field(default=None, name="30d")


class PoolScores(HorizonValues, kw_only=True):
    days: int | None  # how far back calibration reaches (None: all past errors)


class MixScores(HorizonValues, kw_only=True):
    weight: float  # the empirical band's weight


class PoolChoice(Sparse):
    score: str  # what the candidates are scored by
    candidates: tuple[PoolScores, ...]
    chosen: dict[str, int | None]  # days, by horizon label


class MixChoice(Sparse):
    score: str
    candidates: tuple[MixScores, ...]
    chosen: dict[str, float]  # weight, by horizon label


class BandChoice(Sparse):
    chosen: BandSetting
    validation_origins: int
    candidates: tuple[BandCandidate, ...]
    pools: PoolChoice | None = None  # a scaled band's calibration pool per horizon
    mix: MixChoice | None = None  # a scaled band's weight of the empirical band per horizon


class HindcastCoverage(Sparse):
    """How often each level's served hindcast band held the close over the last `days`."""

    days: int
    bars: int
    coverage_by_level: dict[str, float]


class PastForecast(Sparse):
    """A served forecast from a past origin against the prices that followed (80% band)."""

    origin: str
    ds: tuple[int, ...]
    yhat: tuple[float, ...]
    yhat_lower: tuple[float, ...]
    yhat_upper: tuple[float, ...]
    actual: tuple[float | None, ...]


class Backtest(Sparse, omit_defaults=False):
    """The summary, the choices it rests on, the hindcast's coverage and the past forecasts; all
    but the hindcast are null for a model trained without a backtest."""

    summary: BacktestSummary | None
    band: BandChoice | None
    hindcast: HindcastCoverage | None
    paths: tuple[PastForecast, ...] = ()
