"""`/model/{asset}`, its backtest and the backtest's every row (`/model` and `/model/backtest`:
the default asset's), and `/healthz`."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import msgspec
import numpy as np
from flask import Response, request

from cryptopredict.api.http import (
    ENCODER,
    json_response,
    next_page,
    public_cache,
    raw_json_response,
    read,
)
from cryptopredict.api.latest import feed_health
from cryptopredict.api.metrics import LARGE
from cryptopredict.api.openapi import ASSET, ASSET_ERRORS, Blueprint, document
from cryptopredict.api.serving.verdict import verdict
from cryptopredict.api.types.model import (
    ORIGIN_COLUMNS,
    AnchorNow,
    AssetHealth,
    BacktestOrigins,
    Health,
    ModelCard,
    OriginsQuery,
    Unavailable,
)
from cryptopredict.api.types.track_record import TrackRecordSummary
from cryptopredict.artifact.run import PairFailure, RunRecordError, read_run
from cryptopredict.artifact.schema import BacktestReport
from cryptopredict.assets import BITCOIN
from cryptopredict.candles import span_name
from cryptopredict.freshness import in_words
from cryptopredict.minutes.bars import FeedStatus
from cryptopredict.postprocess import round_prices
from cryptopredict.utc import iso_dates, iso_utc

if TYPE_CHECKING:
    from cryptopredict.api.serving.catalog import Catalog, CatalogEntry
    from cryptopredict.config import ApiSettings
LARGE_ANSWERS_WAIT = (
    "every connection for large answers (ranges, candles, /vendor/, /model/, /openapi.json) is "
    "taken, by readers or answers being built: those wait up to 5 s, then 503 with Retry-After; "
    "the other routes are answered, and a restart would not help"
)


def blueprint(
    catalog: Catalog,
    *,
    cache_seconds: int,
    track_record: Callable[[CatalogEntry], TrackRecordSummary | None],
) -> Blueprint:
    bp = Blueprint("model", __name__, description="The model behind each forecast.")
    max_age = public_cache(cache_seconds)  # and kept, built once a minute (http.KEEP_BYTES)

    @document("The manifest, with the backtest summary.", ModelCard, errors=ASSET_ERRORS)
    def asset_model(asset: str) -> Response:
        """The model card of an asset

        `/model` is the default asset's (`/assets` names it: BTC/USD when served).
        """
        served = catalog[asset]
        manifest, summary = served.artifact.manifest, served.artifact.backtest.summary
        said = verdict(manifest.params, summary, manifest.symbol, manifest.served)
        card = msgspec.structs.asdict(manifest) | {"track_record": track_record(served)}
        return json_response(ModelCard(verdict=said, **card), cache=max_age)

    @document("The summary, the band's choice and more.", BacktestReport, errors=ASSET_ERRORS)
    def asset_backtest(asset: str) -> Response:
        """The backtest of an asset's model: its every row at `/model/{asset}/backtest/origins`

        `/model/backtest` is the default asset's.
        """
        return raw_json_response(ENCODER.encode(catalog[asset].artifact.backtest), cache=max_age)

    errors = {400: "`offset` or `limit` is refused.", **ASSET_ERRORS}

    @document("A page of the backtest's rows.", BacktestOrigins, query=OriginsQuery, errors=errors)
    def asset_origins(asset: str) -> Response:
        """Every origin of an asset's backtest, a page at a time

        A row per origin and horizon the release's backtest scored, by origin then horizon:
        `cutoff`, the origin (the close of the last bar seen); `ds`, the target time, `horizon`
        later; `y`, the close then; `yhat`, the served point; `lo-N` and `hi-N`, the N% band's
        edges. No rows for a model trained without a backtest."""
        served, asked = catalog[asset], read(OriginsQuery, request.environ)
        total, page = _page(served, asked.offset, asked.limit)
        later = next_page(asked.offset, asked.limit, total)
        said = BacktestOrigins(total=total, next=later, columns=list(ORIGIN_COLUMNS), rows=page)
        return json_response(said, cache=max_age)

    # The default asset's at `/model`, in endpoints of their own: werkzeug redirects neither way.
    fixed = {ASSET: catalog.default or BITCOIN}  # none served yet: BTC/USD's, still training
    bp.add_url_rule("/model", "model", asset_model, defaults=fixed)
    bp.add_url_rule("/model/backtest", "model_backtest", asset_backtest, defaults=fixed)
    bp.add_url_rule("/model/<asset>", view_func=asset_model)
    bp.add_url_rule("/model/<asset>/backtest", view_func=asset_backtest)
    bp.add_url_rule("/model/<asset>/backtest/origins", view_func=asset_origins)
    return bp


def _page(served: CatalogEntry, offset: int, limit: int) -> tuple[int, list[list[str | float]]]:
    """How many rows there are, and those from `offset` as `ORIGIN_COLUMNS`, prices rounded."""
    rows = served.artifact.origins
    if rows is None:
        return 0, []
    at = np.arange(offset, min(offset + limit, len(rows.origin)))
    cutoff, hours = rows.origin[at] + served.step, rows.hours[at].astype(int)
    yhat, edges = rows.yhat[at], np.exp(rows.band[at], dtype=float)  # log offsets to prices
    prices = np.column_stack([rows.actual[at], yhat, yhat[:, None] * edges])
    rounded = np.reshape(np.array(round_prices(prices.ravel())), prices.shape).T.tolist()
    horizon = [span_name(h) for h in hours.tolist()]
    dates = iso_dates(cutoff), iso_dates(cutoff + hours * 3600)
    return len(rows.origin), list(map(list, zip(*dates, horizon, *rounded, strict=True)))


def health_blueprint(
    catalog: Catalog, feed: Callable[[], FeedStatus | None], settings: ApiSettings
) -> Blueprint:
    stale_after_hours = settings.stale_after_hours
    bp = Blueprint("health", __name__, description="Liveness, for load balancers and deploys.")

    @bp.get("/healthz")
    @document("Serving, with each asset's model version.", Health)
    def healthz() -> Response:
        """Health check

        200 while the API serves, whatever its clients ask; `status` says whether it serves as it
        should, and `reasons` why not, in words. The top-level `asset` and `model_version` are
        the default asset's, which tell a deploy which model is live. The proxy may answer for
        the server (docs/operations.md): 200 `busy`, 503 `unresponsive`.
        """
        now = time.time()
        assets = [_health(served, now) for served in catalog]
        stale = catalog.stale(stale_after_hours, now)
        default = next((entry for entry in assets if entry.asset == catalog.default), None)
        failures = catalog.failures()
        running = catalog.training()
        failed = running.failed if running is not None else _last_failed(catalog)
        latest, failing = feed_health(feed(), settings.poller_failing_after)
        reasons = [
            *(f"{slug} cannot be served: {why}" for slug, why in failures.items()),
            *(f"{pair.asset} could not be trained: {pair.reason}" for pair in failed),
            *failing,
            *(_stale(entry, stale_after_hours) for entry in assets if entry.asset in stale),
            *([LARGE_ANSWERS_WAIT] if request.headers.get(LARGE) == "0" else []),
        ]
        answer = Health(
            status="degraded" if reasons else "ok" if assets else "starting",
            **(msgspec.structs.asdict(default) if default else {}),
            assets=assets,
            unavailable=[Unavailable(asset=slug, detail=why) for slug, why in failures.items()],
            failed=failed,
            training=running,
            latest_prices=latest,
            stale_after_hours=stale_after_hours,
            stale=stale,
            reasons=reasons,
        )
        return json_response(answer)

    return bp


def _last_failed(catalog: Catalog) -> list[PairFailure]:
    """The pairs the last run could not train, read now: a reloading server must not miss them."""
    model_dir = catalog.store.model_dir
    try:
        run = read_run(model_dir) if model_dir is not None else None
    except RunRecordError:
        run = None
    return list(run.failed) if run is not None else []


def _health(served: CatalogEntry, now: float) -> AssetHealth:
    info = served.info
    source, at = served.starts_from()
    return AssetHealth(
        asset=served.slug,
        model_version=info.model_version,
        created_at=iso_utc(info.created_at),
        data_last=iso_utc(info.last_bar),
        data_age_seconds=round(now - info.last_bar),
        anchor=AnchorNow(source=source, at=iso_utc(at), age_seconds=round(now - at)),
    )


def _stale(entry: AssetHealth, after_hours: float) -> str:
    # A local run's models (MODEL_VERSION unset) are no release's to retrain.
    local = entry.model_version == "dev"
    retrains = "`make run` where Binance or Alpaca answers" if local else "the next release"
    return (
        f"{entry.asset}'s newest data is {in_words(entry.data_age_seconds)} old (its last bar "
        f"{entry.data_last}), older than the {after_hours:g} hours promised (STALE_AFTER_HOURS)"
        f"; {retrains} retrains it on fresh data"
    )
