"""`/bitcoin` and `/bitcoin/forecast`: the BTC/USD forecast at one instant and over a range.

They answer as `/forecast/btc-usd` and `/forecast/btc-usd/range` do (and as they always have);
without a served BTC/USD artifact they answer 404 `unknown_asset`.
"""

from __future__ import annotations

from flask import Response, request

from cryptopredict.api.catalog import BITCOIN, Catalog
from cryptopredict.api.forecast_answers import FORECAST_ERRORS
from cryptopredict.api.openapi import Blueprint, answers, document, in_query
from cryptopredict.api.responses import public_cache, raw_json_response

ERRORS = {
    **FORECAST_ERRORS,
    404: "No BTC/USD model is served (the server holds other assets only).",
}


def blueprint(catalog: Catalog, *, cache_seconds: int, max_points: int) -> Blueprint:
    bp = Blueprint("bitcoin", __name__, description="The forecast of the BTC/USD price.")
    cache = public_cache(cache_seconds)

    @bp.get("/bitcoin")
    @document(
        parameters=in_query("PointQuery"),
        responses=answers("The forecast at `date`.", "Prediction", errors=ERRORS),
    )
    def bitcoin() -> Response:
        """The forecast at one instant

        Inside the history, the model's in-sample fit and the observed close (`actual`); past
        it, the served forecast. Values between grid points are interpolated linearly. Dates past
        the precomputed grid are computed with the model (the first such request takes about a
        second) and cached.
        """
        return raw_json_response(catalog[BITCOIN].point(request.environ), cache=cache)

    @bp.get("/bitcoin/forecast")
    @document(
        parameters=in_query("ForecastQuery"),
        responses=answers(
            "Every grid point in the range.",
            "ForecastPoints",
            content={"text/csv": {"schema": {"type": "string"}}},
            errors=ERRORS,
        ),
        description=f"Every point of the grid (hourly for hourly data) from `start` to `end`, "
        f"both included, as JSON columns or as CSV. At most {max_points} points per request "
        "(422 above). Past the precomputed grid, points are computed with the model.",
    )
    def forecast_range() -> Response:
        """The forecast over a range, for charts"""
        return catalog[BITCOIN].range(
            request.environ, max_points=max_points, cache=cache, csv_name="bitcoin-forecast.csv"
        )

    return bp
