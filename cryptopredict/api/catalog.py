"""What the API serves: one `ServedAsset` per artifact it was given, found by slug."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from flask import Response

from cryptopredict.api.candles import CandleSource
from cryptopredict.api.errors import UnknownAssetError
from cryptopredict.api.forecast import Forecast
from cryptopredict.api.forecast_answers import PointAnswer, range_answer
from cryptopredict.api.wsgi import WsgiEnviron
from cryptopredict.artifact import Artifact, ArtifactError

# The asset behind `/bitcoin` and `/bitcoin/forecast`, and the one the dashboard, `/model`,
# `/healthz` and `/metrics` describe when it is served.
BITCOIN = "btc-usd"


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
        return str(self.artifact.manifest["symbol"])

    @property
    def interval(self) -> str:
        return str(self.artifact.manifest["interval"])

    @property
    def model_version(self) -> str:
        return str(self.artifact.manifest["model_version"])

    def range(
        self, environ: WsgiEnviron, *, max_points: int, cache: str, csv_name: str | None = None
    ) -> Response:
        """The forecast over the range the request asks for, as JSON columns or as CSV (named
        `csv_name`, by default after the asset)."""
        return range_answer(
            self.forecast,
            environ,
            model_version=self.model_version,
            interval=self.interval,
            max_points=max_points,
            cache=cache,
            csv_name=csv_name or f"{self.slug}-forecast.csv",
        )


class Catalog:
    """The served assets by slug; the default one is BTC/USD when served, else the first slug."""

    def __init__(self, artifacts: Mapping[str, Artifact], *, max_horizon_days: float) -> None:
        if not artifacts:
            raise ArtifactError("no artifact to serve; run `python train.py` first")
        self._assets: dict[str, ServedAsset] = {}
        for slug in sorted(artifacts):
            artifact = artifacts[slug]
            forecast = Forecast(artifact, max_horizon_days=max_horizon_days)
            model_version = str(artifact.manifest["model_version"])
            self._assets[slug] = ServedAsset(
                artifact,
                forecast,
                PointAnswer(forecast, model_version=model_version),
                CandleSource(artifact),
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
