"""`/assets`: the served assets, searched, filtered, sorted and paged, and the last training run."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from flask import Response, request, url_for

from cryptopredict.api.http import NO_STORE, json_response, next_page, public_cache, read
from cryptopredict.api.openapi import Blueprint, document
from cryptopredict.api.serving.forecast import closing
from cryptopredict.api.types.market import (
    AssetLinks,
    AssetList,
    AssetQuery,
    LastRun,
    LeftOutPair,
    Ranking,
    ServedAsset,
)
from cryptopredict.utc import iso_utc

if TYPE_CHECKING:
    from cryptopredict.api.serving.catalog import Catalog
    from cryptopredict.api.serving.catalog import CatalogEntry as Served
    from cryptopredict.artifact.run import TrainingRun

SEARCH_ERRORS = {
    400: "`q` is empty, repeated, too long or holds characters no slug has; or `quote`, "
    "`interval`, `sort`, `limit` or `offset` is not one this route reads."
}


def blueprint(catalog: Catalog, *, cache_seconds: int) -> Blueprint:
    bp = Blueprint("assets", __name__, description="What is served.")
    cache = public_cache(cache_seconds)
    last_run = _last_run(catalog.run)

    describe = functools.cache(described)  # this application's links

    @bp.get("/assets")
    @document(
        "The served assets, or those the query finds.",
        AssetList,
        query=AssetQuery,
        errors=SEARCH_ERRORS,
    )
    def assets() -> Response:
        """The assets served, or those a search or filter finds, a page at a time

        With `q`, the assets it names, best first: the slug or symbol itself (`btc-usd`,
        `BTC/USD`), then the base (`btc`), then slugs that start with `q` (`bt`), bases that
        hold it (`pepe` finds `1000pepe-usdt`), the quote (`usdt`), and slugs or symbols that
        hold it anywhere; ties by slug. Matching ignores case and reads `/` as `-`.
        """
        asked = read(AssetQuery, request.environ)
        # UNSET is falsy, as no value these fields accept is
        found = catalog.listing(
            text=asked.q or None,
            quote=asked.quote or None,
            interval=asked.interval or None,
            sort=asked.sort or None,
        )
        offset = asked.offset or 0
        limit = asked.limit or None
        page = found[offset:] if limit is None else found[offset : offset + limit]
        running = catalog.training()
        answer = AssetList(
            default=catalog.default,
            total=len(found),
            offset=offset,
            limit=limit,
            next=next_page(offset, limit, len(found)),
            assets=[describe(served) for served in page],
            training=running,
        )
        if last_run is not None:
            answer.last_run = last_run
        # While training writes, the list grows as pairs are written: not to be cached.
        return json_response(answer, cache=cache if running is None else NO_STORE)

    return bp


def described(served: Served) -> ServedAsset:
    """As `/assets` lists it (the dashboard opens with the default asset's)."""
    info, ranked, slug = served.info, served.ranked, served.slug
    return ServedAsset(
        asset=slug,
        symbol=info.symbol,
        quote=served.quote,
        interval=info.interval,
        model_version=info.model_version,
        created_at=iso_utc(info.created_at),
        source=info.source,
        first_bar=iso_utc(info.first_bar),
        last_bar=iso_utc(info.last_bar),
        data_until=iso_utc(served.data_until),
        grid_end=iso_utc(closing(info.grid_last, served.step)),
        valid_from=iso_utc(served.valid_from),
        valid_until=iso_utc(served.valid_until),
        interval_width=info.interval_width,
        volume_rank=ranked.rank if ranked is not None else None,
        quote_volume_24h=ranked.quote_volume if ranked is not None else None,
        links=AssetLinks(
            forecast=url_for("forecast.forecast_point", asset=slug),
            range=url_for("forecast.forecast_range", asset=slug),
            candles=url_for("candles.candles", asset=slug),
            model=url_for("model.asset_model", asset=slug),
            backtest=url_for("model.asset_backtest", asset=slug),
        ),
    )


def _last_run(run: TrainingRun | None) -> LastRun | None:
    if run is None:
        return None
    ranking = run.ranking
    return LastRun(
        asked=run.asked,
        finished_at=iso_utc(run.finished_at.timestamp()),
        model_version=run.model_version,
        trained=len(run.trained),
        failed=list(run.failed),
        ranking=None
        if ranking is None
        else Ranking(
            asked=ranking.asked,
            ranked=len(ranking.pairs),
            by=ranking.by,
            as_of=iso_utc(ranking.as_of.timestamp()),
            left_out=[
                LeftOutPair(symbol=out.symbol, quote_volume_24h=out.quote_volume, why=out.why)
                for out in ranking.left_out
            ],
        ),
    )
