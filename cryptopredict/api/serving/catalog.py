"""What the API serves: one `ServedAsset` per artifact it was given, found by slug."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from cryptopredict.api.errors import UnknownAssetError
from cryptopredict.api.serving.answers import BITCOIN, PointAnswer
from cryptopredict.api.serving.candles import CandleSource
from cryptopredict.api.serving.forecast import Forecast
from cryptopredict.artifact import Artifact, ArtifactError


@dataclass(frozen=True)
class ServedAsset:
    artifact: Artifact
    forecast: Forecast
    point: PointAnswer
    candles: CandleSource

    @property
    def slug(self) -> str:
        return self.artifact.asset

    @property
    def symbol(self) -> str:
        return self.artifact.manifest.symbol

    @property
    def interval(self) -> str:
        return self.artifact.manifest.interval

    @property
    def model_version(self) -> str:
        return self.artifact.manifest.model_version


class Catalog:
    """The served assets by slug; the default one is BTC/USD when served, else the first slug."""

    def __init__(self, artifacts: Mapping[str, Artifact], *, max_horizon_days: float) -> None:
        if not artifacts:
            raise ArtifactError("no artifact to serve; run `python train.py` first")
        self._assets: dict[str, ServedAsset] = {}
        for slug in sorted(artifacts):
            artifact = artifacts[slug]
            forecast = Forecast(artifact, max_horizon_days=max_horizon_days)
            self._assets[slug] = ServedAsset(
                artifact,
                forecast,
                PointAnswer(forecast, model_version=artifact.manifest.model_version),
                CandleSource(artifact.history, forecast.interval, artifact.manifest.symbol),
            )
        self.default = self._assets.get(BITCOIN) or next(iter(self._assets.values()))

    def __getitem__(self, slug: str) -> ServedAsset:
        """The asset `slug`; UnknownAssetError (404) naming the served ones if there is none."""
        served = self._assets.get(slug)
        if served is None:
            known = ", ".join(self._assets)
            raise UnknownAssetError(f"no asset {slug[:32]!r} is served here; known: {known}")
        return served

    def __contains__(self, slug: str) -> bool:
        return slug in self._assets

    def __iter__(self) -> Iterator[ServedAsset]:
        return iter(self._assets.values())
