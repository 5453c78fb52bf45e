"""`/assets`: every served asset with its model, data range and endpoints; `?q=` searches them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Response, request, url_for

from cryptopredict.api.openapi import Blueprint, document
from cryptopredict.api.query import query, single
from cryptopredict.api.responses import NO_STORE, json_response, public_cache
from cryptopredict.api.serving.training import training
from cryptopredict.api.serving.utc import iso_utc
from cryptopredict.api.types.market import AssetLinks, AssetList, AssetQuery, ServedAsset

if TYPE_CHECKING:
    from cryptopredict.api.serving.catalog import Catalog
    from cryptopredict.api.serving.catalog import ServedAsset as Served

SEARCH_ERRORS = {400: "`q` is empty, repeated, too long or holds characters no slug has."}


def blueprint(catalog: Catalog, *, cache_seconds: int) -> Blueprint:
    bp = Blueprint("assets", __name__, description="What is served.")
    cache = public_cache(cache_seconds)
    links: dict[str, AssetLinks] = {}

    def describe(served: Served) -> ServedAsset:
        if served.slug not in links:
            links[served.slug] = _links(served.slug)
        return _description(served, links[served.slug])

    @bp.get("/assets")
    @document(
        "The served assets, or those `q` finds.",
        AssetList,
        query=AssetQuery,
        errors=SEARCH_ERRORS,
    )
    def assets() -> Response:
        """The assets served, or those a search finds

        For each asset: its model, the range of its history, how far its forecast is
        precomputed and accepted, and the URLs of its endpoints. `default` is the asset the
        dashboard opens with and `/model` and `/model/backtest` describe. `training`, while
        training still writes into the model directory, lists the pairs whose final model is
        not served yet, with their progress (as `/healthz` does); null otherwise.

        Without `q`, every served asset by slug. With `q`, those it names, best first: the slug
        or symbol itself (`btc-usd`, `BTC/USD`), then the base (`btc`), then slugs that start
        with `q` (`bt`), bases that hold it (`pepe` finds `1000pepe-usdt`), the quote (`usdt`),
        and slugs or symbols that hold it anywhere; ties by slug. Matching ignores case and
        reads `/` as `-`; no match is an empty list.
        """
        text = single(query(request.environ), "q", required=False)
        found = list(catalog) if text is None else catalog.search(text)
        running = training(catalog.store.model_dir)
        return json_response(
            AssetList(
                default=catalog.default.slug,
                assets=[describe(served) for served in found],
                training=running,
            ),
            cache=cache if running is None else NO_STORE,  # the list grows as pairs are written
        )

    return bp


def _description(served: Served, links: AssetLinks) -> ServedAsset:
    info = served.info
    return ServedAsset(
        asset=served.slug,
        symbol=info.symbol,
        interval=info.interval,
        model_version=info.model_version,
        created_at=iso_utc(info.created_at),
        source=info.source,
        first_bar=iso_utc(info.first_bar),
        last_bar=iso_utc(info.last_bar),
        grid_end=iso_utc(info.grid_last),
        valid_from=iso_utc(info.grid_first),
        valid_until=iso_utc(served.valid_until),
        interval_width=info.interval_width,
        links=links,
    )


def _links(slug: str) -> AssetLinks:
    return AssetLinks(
        forecast=url_for("forecast.forecast_point", asset=slug),
        range=url_for("forecast.forecast_range", asset=slug),
        candles=url_for("candles.candles", asset=slug),
        model=url_for("model.asset_model", asset=slug),
        backtest=url_for("model.asset_backtest", asset=slug),
    )
