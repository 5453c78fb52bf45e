"""`/model/{asset}/backtest`: the backtest summary, the band's choice it rests on, the
hindcast's coverage and the past forecasts, each part answering for the artifact's type in
`backtest.json` (`card.Mirroring`; filled by `card.of`)."""

from __future__ import annotations

from cryptopredict.api.types.card import BandSetting, Sparse
from cryptopredict.artifact import schema


class BandCandidate(BandSetting, kw_only=True, mirrors=schema.ScoredBandSpec): ...


class PoolScores(Sparse, kw_only=True, mirrors=schema.PoolCandidate): ...


class MixScores(Sparse, kw_only=True, mirrors=schema.MixCandidate): ...


class PoolChoice(Sparse, mirrors=schema.PoolSearch): ...


class MixChoice(Sparse, mirrors=schema.MixSearch): ...


class BandChoice(Sparse, mirrors=schema.BandSearch): ...


class HindcastCoverage(Sparse, mirrors=schema.HindcastCheck): ...


class PastForecast(Sparse, mirrors=schema.PastPath): ...


class Backtest(Sparse, omit_defaults=False, mirrors=schema.BacktestReport):
    """The summary, the choices it rests on, the hindcast's coverage and the past forecasts; all
    but the hindcast are null for a model trained without a backtest."""
