"""The HTTP checks image-test and the release run against a served image, tried on a loopback
site answering what the real API answered (`recorded_api.json`), then with one thing broken."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime

import pytest

from ci.smoke_http import PRICES, Reply, instant, main, read_prediction
from tests.delivery.fake_site import ASSETS, DATE, JSON, VERSION, recorded_routes

BITCOIN = f"/bitcoin?date={DATE}"
FORECASTS = [f"/forecast/{asset}?date={DATE}" for asset in ASSETS]
PREDICTIONS = [BITCOIN, *FORECASTS]


def run_args(site: str) -> list[str]:
    return ["--base-url", site, "--model-version", VERSION, "--date", DATE, "--wait", "5"]


def run(site: str) -> int:
    return main([*run_args(site), "--assets", ",".join(ASSETS)])


def edited(routes, path: str, change) -> str:
    """Replace `path`'s recorded answer by `change(answer)`; returns the recorded answer."""
    status, content_type, body = routes[path]
    answer = json.loads(body)
    routes[path] = (status, content_type, json.dumps(change(dict(answer))).encode())
    return answer


def test_the_recorded_answers_are_the_contract_s():
    for path in PREDICTIONS:
        answer = json.loads(recorded_routes()[path][2])
        assert set(PRICES) | {"date"} <= set(answer)
        assert answer["model_version"] == VERSION
        assert instant(answer["date"]) == instant(DATE)


def test_the_real_server_s_answers_pass_every_check(site, healthy, capsys):
    assert run(site) == 0
    out = capsys.readouterr().out
    assert out.count("ok    ") == 6 + len(ASSETS)
    assert "FAIL" not in out
    answer = json.loads(healthy[BITCOIN][2])
    band = f"{answer['prediction_low']} <= {answer['prediction']} <= {answer['prediction_high']}"
    assert f"ok    {BITCOIN}: 200, {band} at {answer['date']}" in out


BROKEN_VALUES = [
    (None, "is None, not a number"),
    ("64000.5", "is '64000.5', not a number"),
    (True, "is True, not a number"),
    (math.nan, "is nan, not a positive price"),
    (math.inf, "is inf, not a positive price"),
    (-math.inf, "is -inf, not a positive price"),
    (0, "is 0, not a positive price"),
    (-1.5, "is -1.5, not a positive price"),
]


@pytest.mark.parametrize("target", [(path, field) for path in PREDICTIONS for field in PRICES])
@pytest.mark.parametrize("broken", BROKEN_VALUES)
def test_each_price_field_null_or_not_a_positive_number_fails(
    site, healthy, capsys, target, broken
):
    (path, field), (value, complaint) = target, broken
    edited(healthy, path, lambda answer: {**answer, field: value})
    assert run(site) == 1
    out = capsys.readouterr().out
    assert f"FAIL  {path}: {field} {complaint}" in out
    assert out.count("FAIL") == 1


@pytest.mark.parametrize("path", PREDICTIONS)
@pytest.mark.parametrize("field", [*PRICES, "date"])
def test_each_field_missing_fails(site, healthy, capsys, path, field):
    edited(healthy, path, lambda answer: {k: v for k, v in answer.items() if k != field})
    assert run(site) == 1
    assert f"FAIL  {path}: no {field} in the answer" in capsys.readouterr().out


@pytest.mark.parametrize("path", PREDICTIONS)
@pytest.mark.parametrize(
    "swap", [("prediction_low", "prediction"), ("prediction", "prediction_high")]
)
def test_a_band_out_of_order_fails(site, healthy, capsys, path, swap):
    first, second = swap
    edited(healthy, path, lambda a: {**a, first: a[second], second: a[first]})
    assert run(site) == 1
    assert f"FAIL  {path}: not prediction_low <= prediction <= prediction_high" in (
        capsys.readouterr().out
    )


@pytest.mark.parametrize("path", PREDICTIONS)
@pytest.mark.parametrize("date", [None, "2026-08-02T00:00:00Z", "tomorrow", 1785542400])
def test_a_date_other_than_the_instant_asked_for_fails(site, healthy, capsys, path, date):
    edited(healthy, path, lambda answer: {**answer, "date": date})
    assert run(site) == 1
    out = capsys.readouterr().out
    assert f"FAIL  {path}: date is {date!r}, not the instant asked for" in out


@pytest.mark.parametrize("path", PREDICTIONS)
def test_an_answer_that_is_not_a_json_object_fails(site, healthy, capsys, path):
    status, _, body = healthy[path]
    healthy[path] = (status, JSON, b"[" + body + b"]")
    assert run(site) == 1
    assert f"FAIL  {path}: not a JSON object" in capsys.readouterr().out


def test_the_same_instant_written_another_way_is_the_instant_asked_for():
    answer = {"date": "2026-08-01T00:00:00Z", "prediction": 2.0}
    answer |= {"prediction_low": 1.0, "prediction_high": 3.0}
    reply = Reply(200, JSON, json.dumps(answer).encode())
    for asked in ("2026-08-01", "2026-08-01T00:00", "2026-08-01T02:00+02:00"):
        assert read_prediction(reply, instant(asked)).startswith("200, 1.0 <= 2.0 <= 3.0")
    assert instant("2026-08-01") == datetime(2026, 8, 1, tzinfo=UTC)


def test_a_date_that_is_no_date_is_refused_before_any_request(capsys):
    with pytest.raises(SystemExit):
        main(["--base-url", "http://127.0.0.1:9", "--model-version", "v", "--date", "soon"])
    assert "not a date: 'soon'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "broken",
    [
        ("/healthz", (200, JSON, b'{"model_version": "0.1.0"}'), f"no {VERSION}"),
        ("/healthz", (503, JSON, b"{}"), "HTTP 503"),
        (BITCOIN, (500, "text/html", b"boom"), "HTTP 500"),
        ("/bitcoin?date=not-a-date", (500, JSON, b"{}"), "HTTP 500, expected a 4xx"),
        ("/docs", (200, "text/html", b"<html>docs</html>"), "no Swagger UI"),
        ("/docs", (200, JSON, b"{}"), "content type application/json"),
        (
            "/openapi.json",
            (200, JSON, b'{"openapi": "3.1.0", "paths": {}}'),
            "/bitcoin is not documented",
        ),
    ],
)
def test_each_broken_answer_fails_its_check(site, healthy, capsys, broken):
    path, route, complaint = broken
    healthy[path] = route
    assert run(site) == 1
    out = capsys.readouterr().out
    assert f"FAIL  {path}: {complaint}" in out
    assert out.count("FAIL") == 1


def test_no_server_at_all_fails_after_the_wait():
    with pytest.raises(SystemExit, match=re.escape("no server at http://127.0.0.1:9")):
        main(
            [
                "--base-url",
                "http://127.0.0.1:9",
                "--model-version",
                "v",
                "--date",
                DATE,
                "--wait",
                "1",
            ]
        )


def test_a_held_pair_that_is_not_served_fails(site, healthy, capsys):
    assert main([*run_args(site), "--assets", f"{ASSETS[0]},sol-usdt"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  /assets: sol-usdt held but not listed" in out
    assert f"FAIL  /forecast/sol-usdt?date={DATE}: HTTP 404" in out
    assert out.count("FAIL") == 2
