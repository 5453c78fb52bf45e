"""`/forecast/{asset}` and `/forecast/{asset}/range`: any served asset's forecast."""

from __future__ import annotations

from flask import Response, request

from cryptopredict.api.catalog import Catalog
from cryptopredict.api.forecast_answers import FORECAST_ERRORS
from cryptopredict.api.openapi import Blueprint, answers, asset_in_path, document, in_query
from cryptopredict.api.responses import public_cache, raw_json_response

ERRORS = {**FORECAST_ERRORS, 404: "No such asset is served; the detail names the served ones."}


def blueprint(catalog: Catalog, *, cache_seconds: int, max_points: int) -> Blueprint:
    bp = Blueprint("forecast", __name__, description="The forecast of any served asset.")
    cache = public_cache(cache_seconds)
    served_slugs = [served.slug for served in catalog]

    @bp.get("/forecast/<asset>")
    @document(
        path=asset_in_path(served_slugs),
        parameters=in_query("PointQuery"),
        responses=answers("The forecast at `date`.", "Prediction", errors=ERRORS),
    )
    def forecast_point(asset: str) -> Response:
        """The forecast of an asset at one instant

        As `/bitcoin`, for any asset listed by `/assets`: inside the history, the model's
        in-sample fit and the observed close (`actual`); past it, the served forecast.
        """
        return raw_json_response(catalog[asset].point(request.environ), cache=cache)

    @bp.get("/forecast/<asset>/range")
    @document(
        path=asset_in_path(served_slugs),
        parameters=in_query("ForecastQuery"),
        responses=answers(
            "Every grid point in the range.",
            "ForecastPoints",
            content={"text/csv": {"schema": {"type": "string"}}},
            errors=ERRORS,
        ),
        description=f"As `/bitcoin/forecast`, for any asset listed by `/assets`: every point of "
        f"its grid (at its data's interval) from `start` to `end`, both included, as JSON "
        f"columns or as CSV. At most {max_points} points per request (422 above).",
    )
    def forecast_range(asset: str) -> Response:
        """The forecast of an asset over a range, for charts"""
        return catalog[asset].range(request.environ, max_points=max_points, cache=cache)

    return bp
