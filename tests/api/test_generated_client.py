"""A client generated from the served `/openapi.json` with openapi-python-client, as a user of
the API would make one, types every route's answer: each call against the live server returns
the documented model (a JSON answer parsed into its class), never a bare string, except the
Prometheus text of `/metrics`."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytestmark = pytest.mark.slow

PACKAGE = "generated_cryptopredict_client"
# (module under api/, its function's arguments, the class of the answer, or str)
CALLS: dict[str, tuple[str, dict[str, Any], str]] = {
    "/bitcoin": ("bitcoin.get_bitcoin", {"date": "2026-07-20"}, "Prediction"),
    "/bitcoin/forecast": ("bitcoin.get_bitcoin_forecast", {}, "ForecastPoints"),
    "/forecast/{asset}": ("forecast.get_forecast_asset", {"date": "2026-07-20"}, "Prediction"),
    "/forecast/{asset}/range": ("forecast.get_forecast_asset_range", {}, "ForecastPoints"),
    "/candles/{asset}": ("candles.get_candles_asset", {"interval": "1d"}, "CandleColumns"),
    "/assets": ("assets.get_assets", {}, "AssetList"),
    "/model": ("model.get_model", {}, "ModelCard"),
    "/model/backtest": ("model.get_model_backtest", {}, "Backtest"),
    "/model/{asset}": ("model.get_model_asset", {}, "ModelCard"),
    "/model/{asset}/backtest": ("model.get_model_asset_backtest", {}, "Backtest"),
    "/healthz": ("health.get_healthz", {}, "Health"),
    "/live": ("live.get_live", {}, "LiveStatus"),
    # The live server stores no minutes: the documented 404, typed as the Error model.
    "/price/{asset}": ("live.get_price_asset", {}, "Error"),
    "/model/{asset}/live": ("scorecard.get_model_asset_live", {}, "Error"),
    "/metrics": ("metrics.get_metrics", {}, "str"),
}


@pytest.fixture(scope="module")
def client_package(spec, tmp_path_factory) -> Iterator[ModuleType]:
    work = tmp_path_factory.mktemp("client")
    (work / "openapi.json").write_text(json.dumps(spec))
    (work / "config.yaml").write_text("post_hooks: []\n")  # no formatting of the code
    generator = Path(sys.executable).parent / "openapi-python-client"
    subprocess.run(
        [generator, "generate", "--path", "openapi.json", "--output-path", PACKAGE,
         "--meta", "none", "--config", "config.yaml"],
        cwd=work, check=True, capture_output=True,
    )  # fmt: skip
    sys.path.insert(0, str(work))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(work))


def test_every_operation_is_called(spec):
    assert set(CALLS) == set(spec["paths"])


CASES = [
    (path, asset)
    for path in CALLS
    for asset in (("btc-usd", "eth-usd") if "{asset}" in path else (None,))
]


@pytest.mark.parametrize(("path", "asset"), CASES)
def test_the_generated_client_types_every_answer(client_package, live_server, path, asset):
    module, arguments, expected = CALLS[path]
    operation = importlib.import_module(f"{PACKAGE}.api.{module}")
    client = client_package.Client(base_url=live_server.url, raise_on_unexpected_status=True)
    if asset is not None:
        arguments = {**arguments, "asset": asset}
    answer = operation.sync(client=client, **arguments)
    if expected == "str":
        assert isinstance(answer, str)
        assert "http_requests_total" in answer
    else:
        models = importlib.import_module(f"{PACKAGE}.models")
        assert isinstance(answer, getattr(models, expected)), f"{path}: {answer!r}"


@pytest.mark.parametrize("asset", ["btc-usd", "eth-usd"])
def test_the_generated_client_types_the_model_card_at_every_depth(
    client_package, live_server, asset
):
    """Issue 35, bar 3: the parts of the card are the client's own classes, not dictionaries."""
    operation = importlib.import_module(f"{PACKAGE}.api.model.get_model_asset")
    models = importlib.import_module(f"{PACKAGE}.models")
    client = client_package.Client(base_url=live_server.url, raise_on_unexpected_status=True)
    card = operation.sync(client=client, asset=asset)
    typed = {
        "data": "DataSummary",
        "params": "ModelParams",
        "postprocess": "Postprocess",
        "band": "ServedBand",
        "metrics": "BacktestSummary",
        "backtest_boundary": "Boundary",
        "horizon": "Horizon",
        "verdict": "Verdict",
        "naive": "NaiveBand",
    }
    for name, model in typed.items():
        assert isinstance(getattr(card, name), getattr(models, model)), name
    assert isinstance(card.data.validation.gaps, models.Gaps)
    assert isinstance(card.metrics.boundary, models.Boundary)
    scored = [card.metrics.field_1h, card.metrics.field_1d, card.metrics.field_7d]
    horizons = [scores for scores in scored if isinstance(scores, models.HorizonScores)]
    assert horizons, "no horizon scored"
    assert all(isinstance(scores.prophet, models.ModelScores) for scores in horizons)
    assert all(isinstance(value, str) for value in card.versions.additional_properties.values())
    assert not hasattr(card, "backtest")  # the summary is `metrics`, once
