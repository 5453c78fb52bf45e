"""What the API serves: one `ServedAsset` per artifact it was given, found by slug, and
`/assets`, which lists them with their model, data range and endpoints."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Response, url_for

from cryptopredict.api.candles import CandleSource
from cryptopredict.api.errors import UnknownAssetError
from cryptopredict.api.forecasts import BITCOIN, PointAnswer
from cryptopredict.api.grid import Forecast
from cryptopredict.api.openapi import Blueprint, answers, document
from cryptopredict.api.responses import iso_utc, json_response, public_cache
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
                CandleSource.of_artifact(artifact),
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


def blueprint(catalog: Catalog, *, cache_seconds: int) -> Blueprint:
    bp = Blueprint("assets", __name__, description="What is served.")
    cache = public_cache(cache_seconds)

    @bp.get("/assets")
    @document(responses=answers("Every served asset.", "AssetList"))
    def assets() -> Response:
        """The assets served

        For each asset: its model, the range of its history, how far its forecast is
        precomputed and accepted, and the URLs of its endpoints. `default` is the asset the
        dashboard opens with and `/model`, `/healthz` and `/metrics` describe.
        """
        return json_response(
            {"default": catalog.default.slug, "assets": [_describe(served) for served in catalog]},
            cache=cache,
        )

    return bp


def _describe(served: ServedAsset) -> dict[str, Any]:
    manifest = served.artifact.manifest
    forecast = served.forecast
    history = served.artifact.history.ds
    return {
        "asset": served.slug,
        "symbol": served.symbol,
        "interval": served.interval,
        "model_version": served.model_version,
        "created_at": iso_utc(manifest.created_at.timestamp()),
        "source": manifest.data.source,
        "first_bar": iso_utc(int(history[0])),
        "last_bar": iso_utc(int(history[-1])),
        "grid_end": iso_utc(forecast.grid_end),
        "valid_from": iso_utc(forecast.first),
        "valid_until": iso_utc(forecast.end),
        "interval_width": forecast.interval_width,
        "links": {
            "forecast": url_for("forecast.forecast_point", asset=served.slug),
            "range": url_for("forecast.forecast_range", asset=served.slug),
            "candles": url_for("candles.candles", asset=served.slug),
        },
    }
