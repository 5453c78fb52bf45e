"""A client generated from the served `/openapi.json` with openapi-python-client, as a user of
the API would make one, types every route's answer: each call against the live server returns
the documented model (a JSON answer parsed into its class), never a bare string, except the
Prometheus text of `/metrics` and the CSV answers, which it returns as text (issue 47, bar 4).
Its dates are `datetime`s, the verdict one enum, the per-level figures typed maps."""

from __future__ import annotations

import enum
import importlib
import inspect
import json
import subprocess
import sys
import typing
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

PACKAGE = "generated_cryptopredict_client"
# (module under api/, its function's arguments, the class of the answer, or str)
CALLS: dict[str, tuple[str, dict[str, Any], str]] = {
    "/bitcoin": ("bitcoin.get_bitcoin", {"date": datetime(2026, 7, 20, tzinfo=UTC)}, "Prediction"),
    "/bitcoin/forecast": ("bitcoin.get_bitcoin_forecast", {}, "ForecastPoints"),
    "/bitcoin/forecast.csv": ("bitcoin.get_bitcoin_forecast_csv", {}, "csv"),
    "/forecast/{asset}": (
        "forecast.get_forecast_asset",
        {"date": datetime(2026, 7, 20)},  # naive: UTC
        "Prediction",
    ),
    "/forecast/{asset}/range": ("forecast.get_forecast_asset_range", {}, "ForecastPoints"),
    "/forecast/{asset}/range.csv": ("forecast.get_forecast_asset_range_csv", {}, "csv"),
    "/candles/{asset}": ("candles.get_candles_asset", {"interval": "1d"}, "CandleColumns"),
    "/candles/{asset}.csv": ("candles.get_candles_asset_csv", {"interval": "1d"}, "csv"),
    "/assets": ("assets.get_assets", {}, "AssetList"),
    "/model": ("model.get_model", {}, "ModelCard"),
    "/model/backtest": ("model.get_model_backtest", {}, "BacktestReport"),
    "/model/{asset}": ("model.get_model_asset", {}, "ModelCard"),
    "/model/{asset}/backtest": ("model.get_model_asset_backtest", {}, "BacktestReport"),
    "/model/{asset}/backtest/origins": (
        "model.get_model_asset_backtest_origins",
        {"limit": 2},
        "BacktestOrigins",
    ),
    "/healthz": ("health.get_healthz", {}, "Health"),
    "/live": ("live.get_live", {}, "LiveStatus"),
    # The live server stores no minutes: the documented 404, typed as the Error model.
    "/price/{asset}": ("live.get_price_asset", {}, "Error"),
    # Its model directory holds no baked record: an empty one that says so.
    "/model/{asset}/track-record": (
        "track_record.get_model_asset_track_record",
        {},
        "TrackRecord",
    ),
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
    elif expected == "csv":
        assert isinstance(answer, str)
        assert answer.startswith("date,"), answer[:80]
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
        "data": "TrainingData",
        "params": "ModelConfig",
        "postprocess": "PostprocessRules",
        "band": "ServedBandSpec",
        "metrics": "EvaluationScores",
        "backtest_boundary": "SpanBoundary",
        "horizon": "GridSpan",
        "verdict": "Verdict",
        "naive": "NaiveForecast",
    }
    for name, model in typed.items():
        assert isinstance(getattr(card, name), getattr(models, model)), name
    assert isinstance(card.data.validation.gaps, models.GapCount)
    assert isinstance(card.metrics.boundary, models.SpanBoundary)
    scored = [card.metrics.field_1h, card.metrics.field_1d, card.metrics.field_7d]
    horizons = [scores for scores in scored if isinstance(scores, models.ScoresAtHorizon)]
    assert horizons, "no horizon scored"
    assert all(isinstance(scores.prophet, models.ForecastScores) for scores in horizons)
    assert all(isinstance(value, str) for value in card.versions.additional_properties.values())
    assert not hasattr(card, "backtest")  # the summary is `metrics`, once


def _client(client_package, live_server):
    return client_package.Client(base_url=live_server.url, raise_on_unexpected_status=True)


def test_a_range_asked_as_csv_comes_back_as_the_text_the_server_sends(client_package, live_server):
    """Issue 47, bar 4: the range's CSV, through the operation that answers only CSV (the JSON
    one parses every 200 as JSON, whatever `format` asks for: the client raised
    JSONDecodeError), is the text the route gives with `format=csv`."""
    models = importlib.import_module(f"{PACKAGE}.models")
    twin = importlib.import_module(f"{PACKAGE}.api.forecast.get_forecast_asset_range_csv")
    start = datetime(2026, 7, 20, tzinfo=UTC)
    text = twin.sync(client=_client(client_package, live_server), asset="eth-usd", start=start)
    assert isinstance(text, str)
    assert text.splitlines()[0] == (
        "date,prediction,prediction_low,prediction_high,actual,kind,band_chosen_later,anchor_source"
    )
    json_route = importlib.import_module(f"{PACKAGE}.api.forecast.get_forecast_asset_range")
    columns = json_route.sync(
        client=_client(client_package, live_server),
        asset="eth-usd",
        start=start,
        format_=models.Format.JSON,
    )
    assert isinstance(columns, models.ForecastPoints)
    assert [line.split(",")[0] for line in text.splitlines()[1:]] == [
        when.strftime("%Y-%m-%dT%H:%M:%SZ") for when in columns.date
    ]


@pytest.mark.parametrize(
    ("module", "names"),
    [
        ("bitcoin.get_bitcoin", ["date"]),
        ("bitcoin.get_bitcoin_forecast", ["start", "end"]),
        ("forecast.get_forecast_asset", ["date"]),
        ("forecast.get_forecast_asset_range_csv", ["start", "end"]),
        ("candles.get_candles_asset", ["start", "end"]),
    ],
)
def test_date_parameters_are_datetimes(client_package, module, names):
    """Issue 47, bar 4: not plain strings."""
    operation = importlib.import_module(f"{PACKAGE}.api.{module}")
    hints = typing.get_type_hints(operation.sync)
    for name in names:
        assert datetime in typing.get_args(hints[name]) or hints[name] is datetime, (name, hints)


def test_answered_dates_are_datetimes(client_package, live_server):
    operation = importlib.import_module(f"{PACKAGE}.api.bitcoin.get_bitcoin")
    when = datetime(2026, 7, 20, 12, tzinfo=UTC)
    answer = operation.sync(client=_client(client_package, live_server), date=when)
    assert answer.date == when
    assert isinstance(answer.data_until, datetime)


def _enums(models) -> dict[str, type[enum.Enum]]:
    return {
        name: kind
        for name, kind in vars(models).items()
        if inspect.isclass(kind) and issubclass(kind, enum.Enum)
    }


def test_each_set_of_values_is_one_enum(client_package):
    """Issue 47, bar 4: one enum for the verdict (it was three identical ones, from a nullable
    verdict), one for the level, the kind of point, the format and the served assets."""
    models = importlib.import_module(f"{PACKAGE}.models")
    found = _enums(models)
    values = [frozenset(member.value for member in kind) for kind in found.values()]
    repeated = {v for v in values if values.count(v) > 1}
    assert not repeated, {
        name: kind
        for name, kind in found.items()
        if frozenset(member.value for member in kind) in repeated
    }
    assert {member.value for member in models.BandVerdict} == {
        "better",
        "tie",
        "worse",
        "too few windows",
    }
    assert {member.value for member in models.Level} == {50, 80, 95}


@pytest.mark.parametrize("asset", ["btc-usd", "eth-usd"])
def test_the_verdict_and_the_per_level_figures_are_typed(client_package, live_server, asset):
    models = importlib.import_module(f"{PACKAGE}.models")
    operation = importlib.import_module(f"{PACKAGE}.api.model.get_model_asset")
    card = operation.sync(client=_client(client_package, live_server), asset=asset)
    rows = card.verdict.horizons
    assert rows
    assert all(row.verdict is None or isinstance(row.verdict, models.BandVerdict) for row in rows)
    assert any(isinstance(row.verdict, models.BandVerdict) for row in rows)
    for row in rows:
        for name in ("coverage", "coverage_se", "naive_coverage", "naive_coverage_se"):
            figures = getattr(row, name)
            if figures is None:
                continue
            hints = typing.get_type_hints(type(figures))
            assert hints["additional_properties"] == dict[str, float], (name, hints)
            assert set(figures.additional_properties) == {"50", "80", "95"}
