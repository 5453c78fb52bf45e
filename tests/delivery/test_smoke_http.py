"""The HTTP checks image-test runs against the served image, tried on a fake server."""

from __future__ import annotations

import json
import re

import pytest

from ci.smoke_http import main
from tests.delivery.fake_site import JSON, VERSION


def run_args(site: str) -> list[str]:
    return ["--base-url", site, "--model-version", VERSION, "--date", "2026-07-01", "--wait", "5"]


def run(site: str) -> int:
    return main(run_args(site))


def test_a_working_server_passes_every_check(site, healthy, capsys):
    assert run(site) == 0
    out = capsys.readouterr().out
    assert out.count("ok    ") == 5
    assert "FAIL" not in out


@pytest.mark.parametrize(
    "broken",
    [
        ("/healthz", (200, JSON, b'{"model_version": "0.1.0"}'), f"no {VERSION}"),
        ("/healthz", (503, JSON, b"{}"), "HTTP 503"),
        ("/bitcoin?date=2026-07-01", (200, JSON, b'{"price": null}'), "no positive price"),
        ("/bitcoin?date=2026-07-01", (500, "text/html", b"boom"), "HTTP 500"),
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
    assert out.count("ok    ") == 4


def test_no_server_at_all_fails_after_the_wait():
    with pytest.raises(SystemExit, match=re.escape("no server at http://127.0.0.1:9")):
        main(
            [
                "--base-url",
                "http://127.0.0.1:9",
                "--model-version",
                "v",
                "--date",
                "d",
                "--wait",
                "1",
            ]
        )


def serve_pairs(routes, listed: list[str], answering: list[str]) -> None:
    assets = [{"slug": slug, "endpoints": {"forecast": f"/forecast/{slug}"}} for slug in listed]
    routes["/assets"] = (200, JSON, json.dumps({"default": "btc-usd", "assets": assets}).encode())
    for slug in answering:
        body = json.dumps({"date": "2026-07-01", "prediction": 151.5}).encode()
        routes[f"/forecast/{slug}?date=2026-07-01"] = (200, JSON, body)


def test_every_pair_the_image_holds_is_listed_and_answers(site, healthy, capsys):
    serve_pairs(healthy, ["btc-usd", "sol-usd"], ["btc-usd", "sol-usd"])
    assert main([*run_args(site), "--assets", "btc-usd,sol-usd"]) == 0
    out = capsys.readouterr().out
    assert "ok    /assets: 200, lists btc-usd, sol-usd" in out
    assert "ok    /forecast/sol-usd?date=2026-07-01: 200" in out
    assert "FAIL" not in out


def test_a_held_pair_that_is_not_served_fails(site, healthy, capsys):
    serve_pairs(healthy, ["btc-usd"], ["btc-usd"])
    assert main([*run_args(site), "--assets", "btc-usd,sol-usd"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  /assets: sol-usd held but not listed" in out
    assert "FAIL  /forecast/sol-usd?date=2026-07-01: HTTP 404" in out
